//! Replays each key's changes in the contract's order.

use crate::buffer::History;
use crate::order::Ordered;
use crate::picks::{Picks, Values};

/// SCD type 1: per key, the values after its last applied change, unless
/// that change is a delete.
pub fn scd1(ordered: &Ordered, history: &History, values: &Values<'_>) -> Picks {
    let mut picks = Picks::new(values);
    for group in ordered.groups() {
        let mut current: Option<Vec<u32>> = None;
        for row in ordered.applied(group) {
            current = if history.is_delete(row) {
                None
            } else {
                Some(values.apply(current.as_deref(), row))
            };
        }
        if let Some(current) = current {
            picks.push(&current);
        }
    }
    picks
}

struct Version {
    values: Vec<u32>,
    start: u32,
}

/// SCD type 2: per key, every version its applied changes open, each
/// closed by the next change that changes a tracked value or deletes.
pub fn scd2(ordered: &Ordered, history: &History, values: &Values<'_>) -> Picks {
    let mut picks = Picks::new(values);
    for group in ordered.groups() {
        let mut open: Option<Version> = None;
        for row in ordered.applied(group) {
            let at = row as u32;
            if history.is_delete(row) {
                if let Some(v) = open.take() {
                    picks.push_version(&v.values, v.start, Some(at));
                }
                continue;
            }
            let next = values.apply(open.as_ref().map(|v| v.values.as_slice()), row);
            open = Some(match open.take() {
                // Same tracked values: untracked ones change in place.
                Some(v) if values.same_tracked(&v.values, &next) => Version {
                    values: next,
                    start: v.start,
                },
                Some(v) => {
                    picks.push_version(&v.values, v.start, Some(at));
                    Version {
                        values: next,
                        start: at,
                    }
                }
                None => Version {
                    values: next,
                    start: at,
                },
            });
        }
        if let Some(v) = open {
            picks.push_version(&v.values, v.start, None);
        }
    }
    picks
}
