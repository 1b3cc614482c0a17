//! Resident set size from `/proc/self/status` (proc(5)): `VmHWM` (peak) and `VmRSS` (current).

/// Peak resident set size of this process in bytes (`VmHWM` in `/proc/self/status`, see
/// proc(5)). `None` on systems without procfs or when the field is missing.
///
/// Cost: reads and scans a ~1.5 KiB procfs file (one open, one read, a few allocations).
pub fn peak_rss_bytes() -> Option<u64> {
    status_field_kib("VmHWM:").map(|kib| kib * 1024)
}

/// Current resident set size of this process in bytes (`VmRSS`), as [`peak_rss_bytes`].
pub fn current_rss_bytes() -> Option<u64> {
    status_field_kib("VmRSS:").map(|kib| kib * 1024)
}

/// Resets the peak resident set size (`VmHWM`) to the current RSS by writing `5` to
/// `/proc/self/clear_refs` (proc(5), Linux 4.0+), so [`peak_rss_bytes`] then measures only what
/// follows. Process-wide.
///
/// # Errors
/// The OS error when the file cannot be written (no procfs, or a kernel without support).
pub fn reset_peak_rss() -> std::io::Result<()> {
    std::fs::write("/proc/self/clear_refs", b"5")
}

fn status_field_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_kib(&status, field)
}

/// Parses a `Name:   1234 kB` line of proc(5) status output.
fn parse_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let mut parts = line[field.len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let status = "Name:\tx\nVmHWM:\t   12345 kB\nVmRSS:\t  100 kB\nBad:\t1 MB\n";
        let cases: &[(&str, Option<u64>)] = &[
            ("VmHWM:", Some(12345)),
            ("VmRSS:", Some(100)),
            ("Bad:", None),
            ("Missing:", None),
        ];
        for (field, expected) in cases {
            assert_eq!(parse_kib(status, field), *expected, "{field}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_has_rss() {
        // Current first: the high-water mark read afterwards can only be larger.
        let now = current_rss_bytes().expect("procfs is mounted on Linux test machines");
        let peak = peak_rss_bytes().expect("procfs is mounted on Linux test machines");
        assert!(peak >= now && now > 0, "peak {peak} now {now}");
        // Grow RSS by 64 MiB, then reset: the peak drops back below it.
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        let grown = peak_rss_bytes().expect("procfs is mounted on Linux test machines");
        drop(big);
        if reset_peak_rss().is_ok() {
            let after = peak_rss_bytes().expect("procfs is mounted on Linux test machines");
            assert!(after < grown, "after reset {after}, before {grown}");
        }
    }
}
