//! The HTML report of `polrec compare` in a real browser: Debian's chromium,
//! headless. Checks that the script draws its charts (DOM dump), that nothing is
//! written to the console, and that the screenshot is not blank.
//!
//! Needs `chromium` on PATH (or its path in `POLREC_CHROMIUM`); fails when it is
//! missing unless `POLREC_SKIP_BROWSER=1`, which skips these tests.
//! `POLREC_KEEP_BROWSER_ARTIFACTS=DIR` keeps the pages and screenshots in DIR.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use polrec::analysis::{run_compare_with, CompareArgs};

const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: CompareArgs,
}

/// The chromium binary, or `None` when these tests are to be skipped.
fn chromium() -> Option<PathBuf> {
    if std::env::var("POLREC_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("POLREC_SKIP_BROWSER=1: browser test skipped");
        return None;
    }
    if let Some(p) = std::env::var_os("POLREC_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium"))
            .find(|p| p.is_file())
    });
    match found {
        Some(p) => Some(p),
        None => panic!(
            "chromium not found on PATH: install it (apt-get install -y chromium), \
             point POLREC_CHROMIUM at it, or set POLREC_SKIP_BROWSER=1 to skip browser tests"
        ),
    }
}

struct Browser {
    bin: PathBuf,
    profile: tempfile::TempDir,
}

struct Loaded {
    dom: String,
    log: String,
}

impl Browser {
    fn new(bin: PathBuf) -> Browser {
        Browser {
            bin,
            profile: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, extra: &[String], url: &str) -> (String, String) {
        let mut cmd = Command::new(&self.bin);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", self.profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null());
        let out_path = self.profile.path().join("stdout.txt");
        let err_path = self.profile.path().join("stderr.txt");
        cmd.stdout(std::fs::File::create(&out_path).unwrap());
        cmd.stderr(std::fs::File::create(&err_path).unwrap());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > BROWSER_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within {BROWSER_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        assert!(status.success(), "chromium failed ({status}):\n{stderr}");
        (stdout, stderr)
    }

    /// Loads the page and returns the DOM after its scripts ran, and the browser's log.
    fn load(&self, url: &str) -> Loaded {
        let (dom, log) = self.run(&["--dump-dom".to_string()], url);
        Loaded { dom, log }
    }

    /// Screenshot of the page at 1280×2000, decoded to RGBA.
    fn screenshot(&self, url: &str, png_path: &Path) -> Image {
        self.run(
            &[
                format!("--screenshot={}", png_path.display()),
                "--window-size=1280,2000".to_string(),
            ],
            url,
        );
        Image::read(png_path)
    }
}

struct Image {
    width: u32,
    height: u32,
    rgb: Vec<[u8; 3]>,
}

impl Image {
    fn read(path: &Path) -> Image {
        let file = std::fs::File::open(path)
            .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        let rgb = buf[..info.buffer_size()]
            .chunks(channels)
            .map(|p| match channels {
                1 | 2 => [p[0], p[0], p[0]],
                _ => [p[0], p[1], p[2]],
            })
            .collect();
        Image {
            width: info.width,
            height: info.height,
            rgb,
        }
    }

    fn share_not_white(&self) -> f64 {
        let n = self
            .rgb
            .iter()
            .filter(|p| p.iter().any(|&c| c < 245))
            .count();
        n as f64 / self.rgb.len() as f64
    }

    fn distinct_colours(&self) -> usize {
        let mut seen: Vec<[u8; 3]> = self.rgb.iter().map(|p| p.map(|c| c >> 3)).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    fn count_near(&self, colour: [u8; 3]) -> usize {
        self.rgb
            .iter()
            .filter(|p| p.iter().zip(colour).all(|(&a, b)| a.abs_diff(b) <= 6))
            .count()
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/analysis")
        .join(name)
}

fn render(input: &Path, page: &Path) {
    let argv = [
        "compare",
        input.to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
    ];
    let cli = Cli::try_parse_from(argv).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = run_compare_with(&cli.args, &mut std::io::empty(), &mut out, &mut err).unwrap();
    assert_eq!(outcome.failures, 0, "{}", String::from_utf8_lossy(&err));
}

fn url(page: &Path) -> String {
    format!("file://{}", page.display())
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Console messages and script errors in the browser's log.
fn console_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect()
}

fn keep(files: &[&Path]) {
    if let Some(dir) = std::env::var_os("POLREC_KEEP_BROWSER_ARTIFACTS") {
        std::fs::create_dir_all(&dir).unwrap();
        for f in files {
            std::fs::copy(f, Path::new(&dir).join(f.file_name().unwrap())).unwrap();
        }
    }
}

fn assert_drawn(loaded: &Loaded, groups: usize, themes: usize) {
    let dom = &loaded.dom;
    assert!(
        console_lines(&loaded.log).is_empty(),
        "console output:\n{}",
        console_lines(&loaded.log).join("\n")
    );
    assert!(
        !dom.contains("data-js-errors=\""),
        "the page caught script errors"
    );
    assert!(
        dom.contains("data-render-state=\"done\""),
        "the script did not finish"
    );
    // One stacked bar per group plus the whole corpus, three segments each.
    assert_eq!(count(dom, "class=\"bar bar-call\""), groups + 1);
    assert_eq!(count(dom, "class=\"bar bar-commit\""), groups + 1);
    assert_eq!(count(dom, "class=\"bar bar-context\""), groups + 1);
    assert!(
        count(dom, "class=\"whisker\"") >= 3 * (groups + 1),
        "Wilson whiskers"
    );
    assert_eq!(
        count(dom, "class=\"cell\""),
        (groups + 1) * themes,
        "heatmap cells"
    );
    assert_eq!(
        count(dom, "class=\"colhead"),
        themes,
        "heatmap column titles"
    );
    assert_eq!(
        count(dom, "<tr data-group="),
        groups,
        "distinctive-theme rows"
    );
    assert!(
        count(dom, "class=\"zbar\"") > 0,
        "z-score bars of the focused group"
    );
    assert!(
        count(dom, "<details data-theme=") > 0,
        "example sentences on demand"
    );
}

#[test]
fn report_of_five_delegations_draws_its_charts() {
    let Some(bin) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report-5.html");
    render(&fixture("labelled.jsonl"), &page);
    let browser = Browser::new(bin);

    let loaded = browser.load(&url(&page));
    let themes = count(&loaded.dom, "class=\"colhead");
    assert!(themes >= 30, "the fixture uses most themes, got {themes}");
    assert_drawn(&loaded, 5, themes);
    for name in ["Kazakhstan", "Brazil", "Norway", "Senegal", "Viet Nam"] {
        assert!(
            loaded.dom.contains(&format!("<tr data-group=\"{name}\"")),
            "{name}"
        );
    }
    // Examples come on demand: folded until opened, except for a theme asked for in the URL.
    assert_eq!(count(&loaded.dom, "<li><span class=\"lab"), 0);
    let opened = browser.load(&format!("{}#group=Norway&theme=peacekeeping", url(&page)));
    assert!(
        opened
            .dom
            .contains("aria-label=\"Distinctive themes of Norway\""),
        "Norway in focus"
    );
    let details = opened
        .dom
        .split("<details data-theme=\"peacekeeping\" open=\"\">")
        .nth(1)
        .expect("peacekeeping examples open");
    let details = &details[..details.find("</details>").unwrap()];
    assert!(count(details, "<li><span class=\"lab") >= 1, "{details}");
    assert_drawn(&opened, 5, themes);

    let png = dir.path().join("report-5.png");
    let image = browser.screenshot(&url(&page), &png);
    keep(&[&page, &png]);
    assert_eq!((image.width, image.height), (1280, 2000));
    let ink = image.share_not_white();
    assert!(
        ink > 0.05,
        "screenshot nearly blank: {:.1}% not white",
        ink * 100.0
    );
    assert!(
        image.distinct_colours() > 30,
        "too few colours: {}",
        image.distinct_colours()
    );
    // The stacked bars' colours are on screen.
    assert!(
        image.count_near([0xd9, 0x5f, 0x02]) > 500,
        "no call-to-action bars"
    );
    assert!(
        image.count_near([0x1b, 0x9e, 0x77]) > 500,
        "no commitment bars"
    );
}

#[test]
fn report_of_190_delegations_draws_filters_and_sorts() {
    let Some(bin) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    // 190 groups of 20 sentences each, drawn deterministically from the fixture.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(fixture("labelled.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut text = String::new();
    for g in 0..190usize {
        for k in 0..(10 + g % 15) {
            let mut r = lines[(g * 37 + k * 11) % lines.len()].clone();
            r["delegation"] = format!("Delegation {g:03}").into();
            text.push_str(&r.to_string());
            text.push('\n');
        }
    }
    let input = dir.path().join("many.jsonl");
    std::fs::write(&input, text).unwrap();
    let page = dir.path().join("report-190.html");
    render(&input, &page);
    let browser = Browser::new(bin);

    let loaded = browser.load(&url(&page));
    let themes = count(&loaded.dom, "class=\"colhead");
    assert_drawn(&loaded, 190, themes);
    assert!(loaded.dom.contains("showing 190 of 190 groups"));

    // The filter box, set through the page's URL: "delegation 01" matches 010 to 019.
    let filtered = browser.load(&format!("{}#filter=delegation%2001", url(&page)));
    assert_drawn(&filtered, 10, themes);
    assert!(filtered.dom.contains("showing 10 of 190 groups"));

    // Sorted by number of sentences: the largest groups (24 sentences: g % 15 == 14) first.
    let sorted = browser.load(&format!("{}#sort=n", url(&page)));
    let first = sorted.dom.split("<tr data-group=\"").nth(1).unwrap();
    assert!(first.starts_with("Delegation 014\""), "{}", &first[..40]);

    let png = dir.path().join("report-190.png");
    let image = browser.screenshot(&url(&page), &png);
    keep(&[&page, &png]);
    assert!(image.share_not_white() > 0.05);
    assert!(
        image.count_near([0xd9, 0x5f, 0x02]) > 500,
        "no call-to-action bars"
    );
}

#[test]
fn report_of_an_empty_input_still_renders() {
    let Some(bin) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("empty.jsonl");
    std::fs::write(&input, "").unwrap();
    let page = dir.path().join("report-empty.html");
    render(&input, &page);
    let loaded = Browser::new(bin).load(&url(&page));
    assert!(console_lines(&loaded.log).is_empty(), "{}", loaded.log);
    assert!(loaded.dom.contains("data-render-state=\"done\""));
    assert!(!loaded.dom.contains("data-js-errors=\""));
    assert!(loaded.dom.contains("showing 0 of 0 groups"));
    assert_eq!(
        count(&loaded.dom, "class=\"bar bar-call\""),
        1,
        "the corpus row only"
    );
}
