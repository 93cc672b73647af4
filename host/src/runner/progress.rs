//! What a run tells the person watching it while it works.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Receives progress of flows; implementations must be cheap per call.
pub trait Progress: Send + Sync {
    fn flow_started(&self, table: &str);
    /// `rows` more rows were written to `table`.
    fn rows_written(&self, table: &str, rows: u64);
    fn flow_finished(&self, table: &str, outcome: &str);
}

/// For when nobody watches a terminal: the log lines say it all.
pub struct Silent;

impl Progress for Silent {
    fn flow_started(&self, _table: &str) {}
    fn rows_written(&self, _table: &str, _rows: u64) {}
    fn flow_finished(&self, _table: &str, _outcome: &str) {}
}

/// One spinner per running flow, with its row count.
pub struct Spinners {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Default for Spinners {
    fn default() -> Self {
        Spinners {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        }
    }
}

impl Spinners {
    fn bar(&self, table: &str) -> Option<ProgressBar> {
        self.bars
            .lock()
            .ok()
            .and_then(|bars| bars.get(table).cloned())
    }
}

impl Progress for Spinners {
    fn flow_started(&self, table: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {prefix:<30} {human_pos:>12} rows  {elapsed}")
        {
            bar.set_style(style);
        }
        bar.set_prefix(table.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(table.to_string(), bar);
        }
    }

    fn rows_written(&self, table: &str, rows: u64) {
        if let Some(bar) = self.bar(table) {
            bar.inc(rows);
        }
    }

    fn flow_finished(&self, table: &str, outcome: &str) {
        if let Some(bar) = self.bar(table) {
            bar.finish_and_clear();
            let _ = self.multi.println(format!("{table}: {outcome}"));
        }
    }
}
