//! Named points where a test can make the process die as if killed
//! (`LFHOST_KILL_AT=<point>`): between the writes a flow makes, to prove
//! that a worker killed anywhere loses and duplicates nothing once re-run.
//! Unset, a point costs one environment lookup per flow.

/// The environment variable naming the point to die at.
pub const KILL_AT_ENV: &str = "LFHOST_KILL_AT";

/// Points a flow passes, in order.
pub const POINTS: &[&str] = &[
    // Ingest: the manifest is written, the data files too, nothing committed.
    "ingest-before-commit",
    // Transform: the quarantine table is committed, the table not yet.
    "transform-before-commit",
    // Merge: the state table is committed, the table not yet.
    "merge-before-table-commit",
    // Any flow: the table is committed, the event log not yet written.
    "after-commit",
];

/// Dies at once, like `kill -9`, when `LFHOST_KILL_AT` names `point`.
pub fn hit(point: &str) {
    if std::env::var(KILL_AT_ENV).is_ok_and(|p| p == point) {
        eprintln!("{KILL_AT_ENV}={point}: dying here on purpose");
        std::process::abort();
    }
}
