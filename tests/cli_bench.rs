//! `polrec bench`: the JSON report has its keys with sensible numbers, the table
//! prints, `--repeat` makes that many runs, and a missing corpus is a usage error.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn bench() -> Command {
    let mut cmd = Command::cargo_bin("polrec").unwrap();
    cmd.arg("bench");
    cmd
}

fn json(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = std::str::from_utf8(&output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one JSON object: {stdout}");
    serde_json::from_str(stdout).unwrap()
}

fn number(report: &Value, path: &str) -> f64 {
    report
        .pointer(path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{path} is not a number in {report}"))
}

#[test]
fn json_report_with_the_embedded_model() {
    let sentences = fixture("bench/sentences.txt");
    let lines = std::fs::read_to_string(&sentences).unwrap().lines().count() as f64;
    let output = bench()
        .arg(&sentences)
        .args([
            "--no-split",
            "--json",
            "--threads",
            "2",
            "--batch-size",
            "8",
        ])
        .output()
        .unwrap();
    let report = json(&output);
    for key in [
        "/sentences_per_sec",
        "/tokens_per_sec",
        "/seconds",
        "/model_load_ms",
        "/time_to_first_label_ms",
        "/stages_ms/encode_classify",
        "/stages_ms/total",
        "/output_bytes",
    ] {
        assert!(number(&report, key) > 0.0, "{key} in {report}");
    }
    for stage in ["read_segment", "tokenize", "write", "other"] {
        assert!(number(&report, &format!("/stages_ms/{stage}")) >= 0.0);
    }
    assert_eq!(number(&report, "/units"), lines);
    assert_eq!(number(&report, "/sentences"), lines);
    assert_eq!(number(&report, "/records_written"), lines);
    assert_eq!(number(&report, "/failures"), 0.0);
    let distinct = number(&report, "/distinct_sentences");
    assert!(distinct > 0.0 && distinct <= lines, "{distinct}");
    // Every sentence has at least [CLS], a word and [SEP].
    assert!(number(&report, "/tokens") >= 3.0 * lines);
    let rate = number(&report, "/sentences_per_sec");
    let seconds = number(&report, "/seconds");
    assert!(
        (rate * seconds - lines).abs() < 1e-6 * lines,
        "{rate} * {seconds}"
    );
    assert!(number(&report, "/stages_ms/total") >= number(&report, "/stages_ms/encode_classify"));
    if cfg!(target_os = "linux") {
        assert!(
            number(&report, "/peak_rss_bytes") > 50e6,
            "the model alone is larger"
        );
    }
    assert_eq!(number(&report, "/settings/threads"), 2.0);
    assert_eq!(number(&report, "/settings/batch_size"), 8.0);
    assert_eq!(report["settings"]["model"], "embedded");
    assert_eq!(report["settings"]["split"], false);
    assert!(report["settings"]["cpu_features"].is_array());
}

#[test]
fn table_report_and_repeats_with_a_model_directory() {
    let model = tempfile::tempdir().unwrap();
    common::write_tiny_model(model.path(), 11, true);
    let statement = fixture("text/ga_plenary_2011.txt");
    let output = bench()
        .arg(&statement)
        .arg("--model")
        .arg(model.path())
        .args(["--repeat", "3"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let table = String::from_utf8(output.stdout).unwrap();
    for line in [
        "throughput",
        "sentences/s",
        "tokens/s",
        "median of 3 runs",
        "read+segment",
        "peak memory",
    ] {
        assert!(table.contains(line), "{line} missing from:\n{table}");
    }

    let output = bench()
        .arg(&statement)
        .arg("--model")
        .arg(model.path())
        .args(["--repeat", "3", "--json", "--format", "csv"])
        .output()
        .unwrap();
    let report = json(&output);
    assert_eq!(report["run_seconds"].as_array().unwrap().len(), 3);
    assert_eq!(number(&report, "/units"), 1.0, "a text file is one record");
    assert!(
        number(&report, "/sentences") > 20.0,
        "the statement is split"
    );
    assert_eq!(report["settings"]["split"], true);
    assert_eq!(report["settings"]["format"], "csv");
}

#[test]
fn no_corpus_is_a_usage_error() {
    let empty = tempfile::tempdir().unwrap();
    let output = bench().current_dir(empty.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bench-5000.txt") && stderr.contains("name a file"),
        "{stderr}"
    );

    let output = bench().arg("-").output().unwrap();
    assert_eq!(output.status.code(), Some(2));

    let output = bench()
        .arg(empty.path().join("missing.txt"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.txt"));
}
