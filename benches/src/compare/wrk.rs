//! Running Debian's `wrk` (the reference generator) and reading its output.

use std::process::Command;
use std::time::Duration;

use super::Error;

/// What one `wrk` run measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WrkRun {
    /// Its `Requests/sec:` line.
    pub requests_per_sec: f64,
    /// Non-2xx/3xx responses plus socket errors it reported.
    pub errors: u64,
}

/// Runs `wrk -t1 -cCONNECTIONS -dSECONDSs URL` (one thread, like our
/// generator's one runtime worker).
///
/// # Errors
/// [`Error::Missing`] when `wrk` is not installed, [`Error::Failed`] when
/// it fails or its output has no `Requests/sec:` line.
pub fn wrk(url: &str, run_time: Duration, connections: u32) -> Result<WrkRun, Error> {
    let output = Command::new("wrk")
        .args([
            "-t1".to_owned(),
            format!("-c{connections}"),
            format!("-d{}s", run_time.as_secs().max(1)),
            url.to_owned(),
        ])
        .output()
        .map_err(|e| {
            Error::Missing(format!(
                "wrk could not be run ({e}): install Debian's package (`apt-get install wrk`)"
            ))
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(Error::Failed(format!(
            "wrk exited with {}: {}{}",
            output.status,
            text,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    parse(&text)
        .ok_or_else(|| Error::Failed(format!("no `Requests/sec:` in wrk's output:\n{text}")))
}

/// Reads `Requests/sec:`, `Non-2xx or 3xx responses:` and
/// `Socket errors: connect A, read B, write C, timeout D` from wrk's output.
fn parse(text: &str) -> Option<WrkRun> {
    let requests_per_sec = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())?;
    let mut errors = 0u64;
    for line in text.lines().map(str::trim) {
        if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += n.trim().parse::<u64>().unwrap_or(0);
        }
        if let Some(rest) = line.strip_prefix("Socket errors:") {
            errors += rest
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    Some(WrkRun {
        requests_per_sec,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rate_and_errors() {
        let text = "Running 3s test @ http://127.0.0.1:1/hello\n  1 threads and 64 connections\n\
            \x20 Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   420.00us  100.00us   2.00ms   90.00%\n\
            \x20 450123 requests in 3.00s, 55.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 1\n\
            \x20 Non-2xx or 3xx responses: 4\nRequests/sec: 150041.00\nTransfer/sec:     18.33MB\n";
        assert_eq!(
            parse(text),
            Some(WrkRun {
                requests_per_sec: 150_041.0,
                errors: 7
            })
        );
        assert_eq!(parse("nothing here"), None);
    }
}
