//! The pipeline graph as SVG: tables in columns by depth (a table sits one
//! column right of its deepest input), edges from inputs to readers.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Status, escape};
use crate::dag::Dag;

const NODE_WIDTH: usize = 210;
const NODE_HEIGHT: usize = 34;
const COLUMN_GAP: usize = 70;
const ROW_GAP: usize = 18;
const MARGIN: usize = 12;

fn fill(status: Status) -> &'static str {
    match status {
        Status::Completed => "#d1f0d8",
        Status::NothingNew => "#e8ecef",
        Status::Failed => "#ffd8d3",
        Status::Skipped => "#fff1c2",
        Status::NeverRun => "#ffffff",
    }
}

pub fn svg(dag: &Dag, status: &BTreeMap<String, Status>) -> String {
    let mut column: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rows_in_column: Vec<usize> = Vec::new();
    let mut position: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for table in dag.order() {
        let depth = dag
            .upstream(table)
            .iter()
            .filter_map(|u| column.get(u.as_str()))
            .map(|c| c + 1)
            .max()
            .unwrap_or(0);
        column.insert(table, depth);
        if rows_in_column.len() <= depth {
            rows_in_column.resize(depth + 1, 0);
        }
        let row = rows_in_column[depth];
        rows_in_column[depth] += 1;
        let x = MARGIN + depth * (NODE_WIDTH + COLUMN_GAP);
        let y = MARGIN + row * (NODE_HEIGHT + ROW_GAP);
        position.insert(table, (x, y));
    }
    let width = 2 * MARGIN + rows_in_column.len().max(1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP;
    let height = 2 * MARGIN
        + rows_in_column.iter().copied().max().unwrap_or(1) * (NODE_HEIGHT + ROW_GAP)
        - ROW_GAP;

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"pipeline graph\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#8c959f\"/></marker></defs>"
    );
    for table in dag.order() {
        let Some(&(x2, y2)) = position.get(table.as_str()) else {
            continue;
        };
        for upstream in dag.upstream(table) {
            let Some(&(x1, y1)) = position.get(upstream.as_str()) else {
                continue;
            };
            let (sx, sy) = (x1 + NODE_WIDTH, y1 + NODE_HEIGHT / 2);
            let (ex, ey) = (x2, y2 + NODE_HEIGHT / 2);
            let bend = COLUMN_GAP / 2;
            let _ = write!(
                svg,
                "<path class=\"edge\" d=\"M {sx} {sy} C {} {sy}, {} {ey}, {ex} {ey}\" \
                 marker-end=\"url(#arrow)\"><title>{} → {}</title></path>",
                sx + bend,
                ex.saturating_sub(bend),
                escape(upstream),
                escape(table)
            );
        }
    }
    for table in dag.order() {
        let Some(&(x, y)) = position.get(table.as_str()) else {
            continue;
        };
        let status = status.get(table).copied().unwrap_or(Status::NeverRun);
        let _ = write!(
            svg,
            "<g class=\"node {}\" id=\"node-{}\"><title>{}: {}</title>\
             <rect x=\"{x}\" y=\"{y}\" width=\"{NODE_WIDTH}\" height=\"{NODE_HEIGHT}\" rx=\"6\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\">{}</text></g>",
            status.class(),
            escape(table),
            escape(table),
            status.label(),
            fill(status),
            x + 10,
            y + NODE_HEIGHT / 2 + 5,
            escape(table)
        );
    }
    svg.push_str("</svg>");
    svg
}
