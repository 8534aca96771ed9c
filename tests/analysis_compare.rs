//! `polrec compare` through its library entry point, on hand-made fixtures whose
//! figures are worked out by hand (see tests/analysis_stats.rs for the formulas).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;
use polrec::analysis::{run_compare_with, CompareArgs, CompareOutcome};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: CompareArgs,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/analysis")
        .join(name)
}

struct Run {
    outcome: CompareOutcome,
    out: String,
    err: String,
}

fn run(argv: &[&str], stdin: &[u8]) -> Run {
    let cli = Cli::try_parse_from(std::iter::once("compare").chain(argv.iter().copied()))
        .expect("arguments parse");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome =
        run_compare_with(&cli.args, &mut &stdin[..], &mut out, &mut err).expect("compare runs");
    Run {
        outcome,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

type Row = HashMap<String, String>;

fn csv_rows(text: &str) -> Vec<Row> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn find<'a>(rows: &'a [Row], table: &str, group: &str, key: &str, measure: &str) -> &'a Row {
    rows.iter()
        .find(|r| {
            r["table"] == table && r["group"] == group && r["key"] == key && r["measure"] == measure
        })
        .unwrap_or_else(|| panic!("no row {table}/{group}/{key}/{measure}"))
}

fn num(row: &Row, column: &str) -> f64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column} = {:?}", row[column]))
}

fn assert_close(got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "got {got}, want {want}");
}

fn toy_csv() -> Vec<Row> {
    let toy = fixture("toy.jsonl");
    let r = run(&[toy.to_str().unwrap(), "--format", "csv"], b"");
    assert_eq!(
        r.outcome,
        CompareOutcome {
            records: 35,
            failures: 0
        }
    );
    assert_eq!(r.err, "");
    csv_rows(&r.out)
}

#[test]
fn label_shares_with_wilson_intervals() {
    let rows = toy_csv();
    // Iceland: 6 calls of 15 sentences. p = 0.4, z²/n = 0.256097, denominator 1.256097,
    // centre (0.4 + 0.128049)/1.256097 = 0.420389, half 1.959964·sqrt(0.016 + 0.004268)/1.256097
    // = 0.222144: [0.198245, 0.642532].
    let r = find(&rows, "label_share", "Iceland", "call_to_action", "share");
    assert_close(num(r, "value"), 0.4, 1e-12);
    assert_close(num(r, "lower"), 0.198245, 2e-6);
    assert_close(num(r, "upper"), 0.642532, 2e-6);
    assert_eq!((r["count"].as_str(), r["n"].as_str()), ("6", "15"));
    // Fiji: 10 context of 20, 5 commitments of 20.
    assert_close(
        num(
            find(&rows, "label_share", "Fiji", "context", "share"),
            "value",
        ),
        0.5,
        1e-12,
    );
    let r = find(&rows, "label_share", "Fiji", "commitment", "share");
    assert_close(num(r, "lower"), 0.111862, 2e-6);
    assert_close(num(r, "upper"), 0.468701, 2e-6);
    // The whole corpus.
    assert_eq!(
        find(&rows, "sentences", "(all)", "", "sentences")["value"],
        "35"
    );
    assert_eq!(
        find(&rows, "sentences", "Iceland", "", "actions")["value"],
        "10"
    );
    assert_close(
        num(
            find(&rows, "label_share", "(all)", "call_to_action", "share"),
            "value",
        ),
        11.0 / 35.0,
        1e-12,
    );
}

#[test]
fn theme_counts_and_shares() {
    let rows = toy_csv();
    assert_eq!(
        find(&rows, "theme_count", "Iceland", "oceans", "call_to_action")["value"],
        "5"
    );
    assert_eq!(
        find(&rows, "theme_count", "Iceland", "oceans", "commitment")["value"],
        "3"
    );
    assert_eq!(
        find(&rows, "theme_count", "Fiji", "climate-change", "commitment")["value"],
        "2"
    );
    assert_eq!(
        find(
            &rows,
            "theme_count",
            "Iceland",
            "climate-change",
            "call_to_action"
        )["value"],
        "0"
    );
    assert_eq!(
        find(&rows, "theme_count", "(all)", "health", "call_to_action")["value"],
        "3"
    );
    // 8 of Iceland's 10 calls and commitments are about oceans: Wilson [0.490162, 0.943318].
    let r = find(&rows, "theme_share", "Iceland", "oceans", "share");
    assert_close(num(r, "value"), 0.8, 1e-12);
    assert_close(num(r, "lower"), 0.490162, 2e-6);
    assert_close(num(r, "upper"), 0.943318, 2e-6);
    // Themes follow the taxonomy's order: climate-change, health, oceans.
    let order: Vec<&str> = rows
        .iter()
        .filter(|r| r["table"] == "theme_share" && r["group"] == "Fiji")
        .map(|r| r["key"].as_str())
        .collect();
    assert_eq!(order, vec!["climate-change", "health", "oceans"]);
}

#[test]
fn distinctive_themes_match_the_hand_computed_log_odds() {
    // Theme tags: Iceland (0, 2, 8), Fiji (4, 4, 2); the default prior α₀ is the mean
    // number of tags per group, 10: the toy of tests/analysis_stats.rs.
    let rows = toy_csv();
    let z = |g: &str, t: &str| num(find(&rows, "distinctive_theme", g, t, "z"), "value");
    assert_close(z("Iceland", "oceans"), 2.640912, 2e-6);
    assert_close(z("Iceland", "health"), -0.819027, 2e-6);
    assert_close(z("Iceland", "climate-change"), -1.653316, 2e-6);
    assert_close(z("Fiji", "oceans"), -2.640912, 2e-6);
    let r = find(
        &rows,
        "distinctive_theme",
        "Iceland",
        "oceans",
        "log_odds_ratio",
    );
    assert_close(num(r, "value"), 1.238078, 2e-6);
    assert_close(num(r, "lower"), 1.238078 - 1.959964 * 0.468807, 1e-5);
    assert_eq!((r["count"].as_str(), r["n"].as_str()), ("8", "10"));
}

#[test]
fn prior_strength_can_be_set() {
    let toy = fixture("toy.jsonl");
    let r = run(
        &[
            toy.to_str().unwrap(),
            "--format",
            "csv",
            "--prior-strength",
            "20",
        ],
        b"",
    );
    let rows = csv_rows(&r.out);
    // α = (4, 6, 10): oceans δ = ln(18/12) − ln(12/18) = 0.810930, σ² = 1/18 + 1/12 = 0.138889, z = 2.175954.
    assert_close(
        num(
            find(&rows, "distinctive_theme", "Iceland", "oceans", "z"),
            "value",
        ),
        2.175954,
        2e-6,
    );
}

#[test]
fn similarity_of_theme_profiles() {
    let rows = toy_csv();
    // (0, 2, 8)·(4, 4, 2) / (sqrt(68)·6) = 0.485071; with two groups the rest is the other one.
    assert_close(
        num(
            find(&rows, "similarity", "Iceland", "Fiji", "cosine"),
            "value",
        ),
        0.485071,
        1e-6,
    );
    assert_close(
        num(
            find(&rows, "similarity", "Fiji", "Iceland", "cosine"),
            "value",
        ),
        0.485071,
        1e-6,
    );
    assert_close(
        num(
            find(&rows, "similarity", "Iceland", "(rest)", "cosine"),
            "value",
        ),
        0.485071,
        1e-6,
    );
}

#[test]
fn examples_and_words() {
    let rows = toy_csv();
    let examples: Vec<&Row> = rows
        .iter()
        .filter(|r| r["table"] == "example" && r["group"] == "Iceland" && r["key"] == "oceans")
        .collect();
    let scores: Vec<f64> = examples.iter().map(|r| num(r, "value")).collect();
    assert_eq!(scores, vec![0.97, 0.95, 0.93]);
    assert_eq!(
        examples[0]["text"],
        "We urge all fishing nations to report their catches honestly."
    );
    assert_eq!(examples[0]["source"], "statements/isl-2021.txt:0:4");
    assert_eq!(examples[2]["measure"], "commitment");
    // "fisheries" appears 5 times, all in Iceland's calls and commitments.
    let words: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            r["table"] == "distinctive_word" && r["group"] == "Iceland" && r["measure"] == "z"
        })
        .collect();
    assert_eq!(
        words.len(),
        1,
        "only words seen at least 5 times are scored"
    );
    assert_eq!(words[0]["key"], "fisheries");
    assert!(num(words[0], "value") > 1.0);
}

#[test]
fn any_field_groups_and_unknown_values_are_grouped_or_skipped() {
    let toy = fixture("toy.jsonl");
    let t = toy.to_str().unwrap();
    let groups = |argv: &[&str]| -> Vec<String> {
        let r = run(argv, b"");
        csv_rows(&r.out)
            .into_iter()
            .filter(|r| r["table"] == "sentences" && r["measure"] == "sentences")
            .map(|r| format!("{}={}", r["group"], r["value"]))
            .collect()
    };
    assert_eq!(
        groups(&[t, "--format", "csv", "--by", "iso3"]),
        vec!["FJI=20", "ISL=15", "(all)=35"]
    );
    assert_eq!(
        groups(&[t, "--format", "csv", "--by", "year"]),
        vec!["2021=35", "(all)=35"]
    );
    assert_eq!(
        groups(&[t, "--format", "csv", "--by", "region"]),
        vec!["(unknown)=35", "(all)=35"]
    );
    let r = run(
        &[t, "--format", "csv", "--by", "region", "--skip-unknown"],
        b"",
    );
    assert_eq!(
        r.outcome,
        CompareOutcome {
            records: 0,
            failures: 0
        }
    );
    assert_eq!(
        groups(&[t, "--format", "csv", "--by", "region", "--skip-unknown"]),
        vec!["(all)=0"]
    );
}

#[test]
fn stdin_and_gzip_give_the_same_tables() {
    let toy = fixture("toy.jsonl");
    let plain = std::fs::read(&toy).unwrap();
    let from_file = run(&[toy.to_str().unwrap(), "--format", "csv"], b"").out;
    assert_eq!(run(&["--format", "csv"], &plain).out, from_file);
    assert_eq!(run(&["-", "--format", "csv"], &plain).out, from_file);
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("toy.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&plain).unwrap();
    enc.finish().unwrap();
    assert_eq!(
        run(&[gz.to_str().unwrap(), "--format", "csv"], b"").out,
        from_file
    );
}

#[test]
fn bad_lines_are_named_and_the_rest_is_read() {
    let messy = fixture("messy.jsonl");
    let missing = fixture("no-such-file.jsonl");
    let r = run(
        &[
            messy.to_str().unwrap(),
            missing.to_str().unwrap(),
            "--format",
            "csv",
        ],
        b"",
    );
    assert_eq!(
        r.outcome,
        CompareOutcome {
            records: 4,
            failures: 4
        }
    );
    assert_eq!(r.outcome.exit_code(), 1);
    let m = messy.display().to_string();
    let lines: Vec<&str> = r.err.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.err);
    assert!(
        lines[0].starts_with(&format!("polrec compare: {m}:3: not a JSON object")),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(&format!(
            "polrec compare: {m}:4: unknown label \"question\""
        )),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&format!(
            "polrec compare: {m}:7: field \"text\" is not a string"
        )),
        "{}",
        lines[2]
    );
    assert!(lines[3].contains("no-such-file.jsonl"), "{}", lines[3]);
    let rows = csv_rows(&r.out);
    assert_eq!(
        find(&rows, "sentences", "Chile", "", "sentences")["value"],
        "2"
    );
    assert_eq!(
        find(&rows, "sentences", "(unknown)", "", "sentences")["value"],
        "2"
    );
}

#[test]
fn json_and_table_formats_hold_the_same_rows() {
    let toy = fixture("toy.jsonl");
    let t = toy.to_str().unwrap();
    let csv = toy_csv();
    let json: serde_json::Value =
        serde_json::from_str(&run(&[t, "--format", "json"], b"").out).unwrap();
    let json = json.as_array().unwrap();
    assert_eq!(json.len(), csv.len());
    let first = &json[0];
    assert_eq!(first["table"], "sentences");
    assert!(first["lower"].is_null());
    let share = json
        .iter()
        .find(|r| {
            r["table"] == "label_share" && r["group"] == "Iceland" && r["key"] == "call_to_action"
        })
        .unwrap();
    assert_eq!(share["value"], 0.4);
    assert_eq!(share["n"], 15);

    let table = run(&[t], b"").out;
    assert!(
        table.starts_with("table      group    measure    value\n"),
        "{}",
        &table[..200]
    );
    assert!(table.contains(
        "\n\ntable        group    key             measure   value   lower   upper  count   n\n\
label_share  Fiji     call_to_action  share    0.2500  0.1119  0.4687      5  20\n"
    ));
    assert_eq!(table.matches("\n\n").count(), 7, "one section per table");
}

#[test]
fn tables_can_be_chosen() {
    let toy = fixture("toy.jsonl");
    let r = run(
        &[
            toy.to_str().unwrap(),
            "--format",
            "csv",
            "--table",
            "label_share",
            "--table",
            "similarity",
        ],
        b"",
    );
    let rows = csv_rows(&r.out);
    assert_eq!(rows.len(), 3 * 3 + 2 * 2);
    assert!(rows
        .iter()
        .all(|r| r["table"] == "label_share" || r["table"] == "similarity"));
    assert!(Cli::try_parse_from(["compare", "--table", "nonsense"]).is_err());
}

#[test]
fn html_report_is_written_and_self_contained() {
    let toy = fixture("toy.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let r = run(
        &[toy.to_str().unwrap(), "--html", page.to_str().unwrap()],
        b"",
    );
    assert_eq!(r.out, "", "no tables unless --format or --output");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("id=\"polrec-data\""));
    assert!(
        html.contains("Oceans and seas"),
        "theme names from the taxonomy"
    );
    for external in [
        "src=",
        "href=",
        "url(",
        "@import",
        "<link",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(
            !html.contains(external),
            "report refers outside itself: {external}"
        );
    }
    let outside: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..(i + 30).min(html.len())])
        .collect();
    assert!(
        outside
            .iter()
            .all(|s| s.starts_with("http://www.w3.org/2000/svg")),
        "{outside:?}"
    );

    let tables = dir.path().join("tables.csv");
    let r = run(
        &[
            toy.to_str().unwrap(),
            "--html",
            page.to_str().unwrap(),
            "-o",
            tables.to_str().unwrap(),
            "--format",
            "csv",
        ],
        b"",
    );
    assert_eq!(r.out, "");
    assert_eq!(
        csv_rows(&std::fs::read_to_string(&tables).unwrap()),
        toy_csv()
    );
}
