//! Shared helpers: unique temp paths and memory figures.

use std::path::PathBuf;

/// A fresh path in a per-process directory under Cargo's target tmp dir
/// (so tests write nothing outside the build tree). Tests run in parallel,
/// so every caller passes a distinct name.
pub fn temp_path(name: &str) -> PathBuf {
    let dir = temp_dir();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

/// The per-process test directory, created on first use.
pub fn temp_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("crm-tabular-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Reads a field such as `VmHWM` (peak RSS) from /proc/self/status, in KiB.
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resets the peak-RSS counter (Linux ≥ 4.0) so the next VmHWM reading
/// covers only what follows. Returns false where unsupported.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Collects all rows, panicking on any error (tests only).
pub fn collect_ok<I: Iterator<Item = Result<crm_tabular::Row, crm_tabular::ReadError>>>(
    rows: I,
) -> Vec<crm_tabular::Row> {
    rows.map(|r| r.expect("row")).collect()
}

/// The cells of each row, for compact assertions.
pub fn cells(rows: &[crm_tabular::Row]) -> Vec<Vec<&str>> {
    rows.iter()
        .map(|r| r.cells.iter().map(String::as_str).collect())
        .collect()
}
