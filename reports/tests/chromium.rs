//! `report.html` is one self-contained page: it opens in a real browser with nothing
//! fetched, and the verdict table is what a reader sees first. Renders the
//! synthetic run's page, has headless Chromium (Debian package `chromium`)
//! dump its DOM and take a screenshot, and checks both. Skips, saying
//! why, where `/usr/bin/chromium` is absent.
//!
//! The same screenshot by hand:
//!
//! ```text
//! chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
//!   --disable-background-networking --disable-component-update --disable-sync \
//!   --user-data-dir="$(mktemp -d)" --hide-scrollbars --window-size=1100,900 \
//!   --screenshot=report.png "file://$PWD/reports/out/RUN/report.html"
//! ```

mod util;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use somon_reports::write_run_dir;

const CHROMIUM: &str = "/usr/bin/chromium";
/// The window, and so the screenshot.
const WINDOW: (u32, u32) = (1100, 900);
/// Chromium starts in 1–3 s here; a hung browser must not hang the suite.
const DEADLINE: Duration = Duration::from_secs(90);

/// Runs headless Chromium with a fresh profile under `temp` and the flags
/// that keep it off the (closed) network, plus `args`; kills it at the
/// deadline. Returns what it printed on stdout.
fn chromium(temp: &Path, args: &[String]) -> String {
    let profile = tempfile::tempdir_in(temp).unwrap();
    // To files, not pipes: a DOM dump outgrows a pipe's buffer, and
    // nothing reads the pipe until Chromium exits.
    let stdout = temp.join("chromium.out");
    let stderr = temp.join("chromium.err");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .expect("starting chromium");
    let started = Instant::now();
    // A bounded poll of an external process, not a wait on our own timer.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("chromium did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "chromium failed ({status}): {}",
        fs::read_to_string(&stderr).unwrap_or_default()
    );
    fs::read_to_string(&stdout).unwrap()
}

/// The synthetic run's directory and the `file://` address of its page.
fn page(temp: &Path) -> (PathBuf, String) {
    let dir = temp.join("run");
    write_run_dir(&dir, &util::report()).unwrap();
    let html = dir.join("report.html").canonicalize().unwrap();
    let url = format!("file://{}", html.display());
    (dir, url)
}

fn absent() -> bool {
    if Path::new(CHROMIUM).exists() {
        return false;
    }
    util::skip(&format!(
        "{CHROMIUM} is absent (apt-get install chromium; .ci/run installs it)"
    ));
    true
}

#[test]
fn the_browser_loads_the_page_with_its_verdict_table_and_charts() {
    if absent() {
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let (_, url) = page(temp.path());
    let dom = chromium(temp.path(), &["--dump-dom".into(), url]);
    // What the browser parsed, not what we wrote: its serialisation
    // normalises (adds <tbody>, unescapes `&#x2f;`), so the table is found
    // through its structure.
    let table_at = dom
        .find(r#"<table class="verdicts">"#)
        .expect("verdict table in the DOM");
    let table = &dom[table_at..table_at + dom[table_at..].find("</table>").unwrap()];
    assert_eq!(
        table.matches("<tr>").count(),
        2,
        "header + one verdict: {table}"
    );
    assert!(
        table.contains(r#"<td class="PASS">PASS</td><td>p99-cached"#),
        "{table}"
    );
    assert!(table.contains("p99(load_cached) &lt; 100ms"), "{table}");
    assert!(table.contains("91.200 ms"), "{table}");
    // Every chart survived parsing as inline SVG.
    assert_eq!(dom.matches("<svg").count(), 5);
}

/// Pixels of exactly `colour`, in rows `rows`.
fn count(image: &image::RgbImage, colour: [u8; 3], rows: std::ops::Range<u32>) -> usize {
    image
        .enumerate_pixels()
        .filter(|(_, y, p)| rows.contains(y) && p.0 == colour)
        .count()
}

#[test]
fn a_screenshot_shows_the_verdict_table_at_the_top() {
    if absent() {
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let (dir, url) = page(temp.path());
    let shot = dir.join("report.png");
    chromium(
        temp.path(),
        &[format!("--screenshot={}", shot.display()), url],
    );
    let image = image::load_from_memory(&fs::read(&shot).unwrap())
        .unwrap()
        .to_rgb8();
    assert_eq!(image.dimensions(), WINDOW);
    // The page's own colours, from report.html.j2: the table header
    // (#f2f2f2) and the PASS cell (#d8f0d8) lie in the top third, above
    // the charts; the PASS green is also the result badge in the title.
    let top = 0..WINDOW.1 / 3;
    let header = count(&image, [0xF2, 0xF2, 0xF2], top.clone());
    let pass = count(&image, [0xD8, 0xF0, 0xD8], top);
    assert!(
        header > 2_000,
        "no verdict table header in view ({header} px)"
    );
    assert!(pass > 1_000, "no PASS cell in view ({pass} px)");
    // Not blank below either: the first chart is drawn.
    let first = *image.get_pixel(0, 0);
    let drawn = image
        .enumerate_pixels()
        .filter(|(_, y, p)| *y >= WINDOW.1 / 3 && **p != first)
        .count();
    assert!(drawn > 10_000, "nothing drawn below the table ({drawn} px)");
    if let Ok(keep) = std::env::var("SCREENSHOT_DUMP") {
        fs::copy(&shot, keep).unwrap();
    }
}
