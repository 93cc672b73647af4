//! `lfhost report`: one self-contained HTML page (no script, no network)
//! with the pipeline's graph as SVG, coloured by each table's last status,
//! and per table its recent runs and expectation results.

mod graph;

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::config::Pipeline;
use crate::dag::Dag;
use crate::history::{EventRow, RunSummary};

/// Runs shown per table.
pub const DEFAULT_RUNS: usize = 10;

/// A table's state as of its last flow event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NeverRun,
    Completed,
    NothingNew,
    Failed,
    Skipped,
}

impl Status {
    fn of(event: &EventRow) -> Status {
        match event.details["status"].as_str() {
            Some("COMPLETED") if event.details["committed_version"].is_null() => Status::NothingNew,
            Some("COMPLETED") => Status::Completed,
            Some("FAILED") => Status::Failed,
            Some("SKIPPED") => Status::Skipped,
            _ => Status::NeverRun,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Status::NeverRun => "never run",
            Status::Completed => "completed",
            Status::NothingNew => "no change",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }

    /// The CSS class (and SVG fill) of the status.
    fn class(self) -> &'static str {
        match self {
            Status::NeverRun => "never",
            Status::Completed => "ok",
            Status::NothingNew => "same",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// The page for `pipeline` from its event log's `events` (in log order).
pub fn render(pipeline: &Pipeline, dag: &Dag, events: &[EventRow], runs_shown: usize) -> String {
    let runs = crate::history::runs(events);
    let flows: Vec<&EventRow> = events
        .iter()
        .filter(|e| e.event_type == "flow_progress")
        .collect();
    let mut per_table: BTreeMap<&str, Vec<&EventRow>> = BTreeMap::new();
    for event in &flows {
        if let Some(table) = &event.table_name {
            per_table.entry(table.as_str()).or_default().push(event);
        }
    }
    let status: BTreeMap<String, Status> = dag
        .order()
        .iter()
        .map(|t| {
            let last = per_table.get(t.as_str()).and_then(|e| e.last());
            (t.clone(), last.map_or(Status::NeverRun, |e| Status::of(e)))
        })
        .collect();

    let mut html = String::new();
    let title = format!("lfhost — pipeline {}", pipeline.name);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    last_run(&mut html, runs.last());
    let _ = write!(
        html,
        "<h2>Graph</h2>\n<figure id=\"graph\">{}</figure>\n{}",
        graph::svg(dag, &status),
        legend()
    );
    html.push_str("<h2>Tables</h2>\n");
    for table in dag.order() {
        let events = per_table.get(table.as_str()).map_or(&[][..], Vec::as_slice);
        let shown = &events[events.len().saturating_sub(runs_shown)..];
        table_section(&mut html, table, status[table], shown);
    }
    html.push_str("</body></html>\n");
    html
}

fn last_run(html: &mut String, run: Option<&RunSummary>) {
    let Some(run) = run else {
        html.push_str("<p class=\"note\">No run in the event log yet.</p>\n");
        return;
    };
    let _ = write!(
        html,
        "<p>Last run <code>{}</code> started {} UTC: <span class=\"badge {}\">{}</span>, {} rows written",
        escape(&run.run_id),
        time(run.started_at),
        if run.status == "COMPLETED" {
            "ok"
        } else {
            "failed"
        },
        escape(&run.status),
        run.rows_written
    );
    if let Some(ms) = run.duration_ms {
        let _ = write!(html, " in {:.2} s", ms as f64 / 1000.0);
    }
    html.push_str(".</p>\n");
    if !run.errors.is_empty() {
        html.push_str("<ul class=\"errors\">");
        for error in &run.errors {
            let _ = write!(html, "<li>{}</li>", escape(error));
        }
        html.push_str("</ul>\n");
    }
}

fn legend() -> String {
    let mut html = String::from("<p class=\"legend\">");
    for status in [
        Status::Completed,
        Status::NothingNew,
        Status::Failed,
        Status::Skipped,
        Status::NeverRun,
    ] {
        let _ = write!(
            html,
            "<span class=\"badge {}\">{}</span> ",
            status.class(),
            status.label()
        );
    }
    html.push_str("</p>\n");
    html
}

fn table_section(html: &mut String, table: &str, status: Status, events: &[&EventRow]) {
    let _ = writeln!(
        html,
        "<section class=\"table\" id=\"table-{0}\"><h3>{0} <span class=\"badge {1}\">{2}</span></h3>",
        escape(table),
        status.class(),
        status.label()
    );
    if events.is_empty() {
        html.push_str("<p class=\"note\">No run has reached this table yet.</p></section>\n");
        return;
    }
    html.push_str(
        "<table><thead><tr><th>run</th><th>finished (UTC)</th><th>status</th>\
         <th>rows in</th><th>rows out</th><th>dropped</th><th>time</th><th>message</th></tr></thead><tbody>\n",
    );
    for event in events.iter().rev() {
        let d = &event.details;
        let number = |key: &str| d[key].as_i64().map_or("-".to_string(), |n| n.to_string());
        let dropped = d["data_quality"]["dropped_records"]
            .as_i64()
            .map_or("-".to_string(), |n| n.to_string());
        let status = Status::of(event);
        let _ = writeln!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td><span class=\"badge {}\">{}</span></td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(event.run_id.get(..8).unwrap_or(&event.run_id)),
            time(event.timestamp),
            status.class(),
            status.label(),
            number("num_input_rows"),
            number("num_output_rows"),
            dropped,
            d["duration_ms"]
                .as_u64()
                .map_or("-".to_string(), |ms| format!("{:.2} s", ms as f64 / 1000.0)),
            escape(&event.message)
        );
    }
    html.push_str("</tbody></table>\n");
    if let Some(latest) = events
        .iter()
        .rev()
        .find(|e| e.details.get("data_quality").is_some())
    {
        expectations(html, latest);
    }
    html.push_str("</section>\n");
}

fn expectations(html: &mut String, event: &EventRow) {
    let _ = writeln!(
        html,
        "<h4>Expectations (run <code>{}</code>)</h4><table><thead><tr><th>expectation</th>\
         <th>passed</th><th>failed</th><th>failed share</th></tr></thead><tbody>",
        escape(event.run_id.get(..8).unwrap_or(&event.run_id))
    );
    let quality = &event.details["data_quality"];
    for e in quality["expectations"].as_array().into_iter().flatten() {
        let passed = e["passed_records"].as_i64().unwrap_or(0);
        let failed = e["failed_records"].as_i64().unwrap_or(0);
        let share = if passed + failed > 0 {
            format!("{:.1} %", 100.0 * failed as f64 / (passed + failed) as f64)
        } else {
            "-".to_string()
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{passed}</td><td class=\"{}\">{failed}</td><td>{share}</td></tr>",
            escape(e["name"].as_str().unwrap_or("?")),
            if failed > 0 { "bad" } else { "" }
        );
    }
    html.push_str("</tbody></table>\n");
}

fn time(micros: i64) -> String {
    crate::history::utc_text(micros, "%Y-%m-%d %H:%M:%S")
}

/// Text for HTML and SVG bodies and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328;max-width:72rem}\
h1{font-size:1.5rem}h2{margin-top:2rem;border-bottom:1px solid #d0d7de}h3{margin-bottom:.4rem}\
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}\
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left}th{background:#f6f8fa}\
td.bad{color:#b42318;font-weight:600}.note{color:#57606a}.errors{color:#b42318}\
.badge{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.8rem;border:1px solid #888}\
.ok{background:#d1f0d8}.same{background:#e8ecef}.failed{background:#ffd8d3}.skipped{background:#fff1c2}\
.never{background:#fff}figure{margin:0;overflow-x:auto}\
svg .node rect{stroke:#57606a;stroke-width:1}svg .node text{font-size:13px}\
svg .edge{fill:none;stroke:#8c959f;stroke-width:1.5}";

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
