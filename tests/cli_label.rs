//! `polrec label` on good inputs: formats, carried fields, directories, standard
//! input, `--no-split`, output formats and usage errors.
//!
//! Sentence splitting belongs to the text module and will change; these tests check
//! what `label` itself guarantees (order, indices, offsets, carried fields, formats),
//! and take exact snapshots only where splitting plays no part (`--no-split`).

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::json_lines;
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/io")
}

/// `polrec label --segment-only` run in the fixtures directory.
fn label() -> Command {
    let mut cmd = Command::cargo_bin("polrec").unwrap();
    cmd.current_dir(fixtures())
        .args(["label", "--segment-only"]);
    cmd
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const CORE: [&str; 11] = [
    "doc",
    "record",
    "sentence",
    "start",
    "end",
    "speaker",
    "delegation",
    "text",
    "label",
    "scores",
    "themes",
];

/// Text with all whitespace removed, to compare a sentence with its source span
/// whatever the splitter does to line wraps.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Checks what every output record must satisfy; `source` gives a record's
/// original text from its `doc` and `record`.
fn check_records(records: &[Value], source: impl Fn(&str, u64) -> String) {
    let mut previous: Option<(String, u64, u64)> = None;
    for r in records {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys[..11], CORE, "{r}");
        let (doc, record, sentence) = (
            r["doc"].as_str().unwrap().to_string(),
            r["record"].as_u64().unwrap(),
            r["sentence"].as_u64().unwrap(),
        );
        match &previous {
            Some((d, rec, s)) if *d == doc && *rec == record => assert_eq!(sentence, s + 1, "{r}"),
            _ => assert_eq!(sentence, 0, "first sentence of a record: {r}"),
        }
        let original = source(&doc, record);
        let (start, end) = (
            r["start"].as_u64().unwrap() as usize,
            r["end"].as_u64().unwrap() as usize,
        );
        assert!(start < end && end <= original.len(), "{r}");
        let text = r["text"].as_str().unwrap();
        assert!(
            squash(&original[start..end]).contains(&squash(text)),
            "{r} vs {:?}",
            &original[start..end]
        );
        assert_eq!(r["label"], Value::Null);
        assert_eq!(r["scores"], Value::Null);
        assert_eq!(r["themes"], json!([]));
        previous = Some((doc, record, sentence));
    }
}

fn read_fixture(path: &str) -> String {
    std::fs::read_to_string(fixtures().join(path)).unwrap()
}

#[test]
fn a_directory_is_walked_in_path_order_leaving_out_hidden_files() {
    let out = label().arg("speeches").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let records = json_lines(&out.stdout);
    let docs: Vec<&str> = records.iter().map(|r| r["doc"].as_str().unwrap()).collect();
    let first_nested = docs
        .iter()
        .position(|d| *d == "speeches/nested/statement.txt")
        .unwrap();
    assert!(first_nested > 0);
    assert!(docs[..first_nested]
        .iter()
        .all(|d| *d == "speeches/ISL_79_2024.txt"));
    assert!(docs[first_nested..]
        .iter()
        .all(|d| *d == "speeches/nested/statement.txt"));
    assert!(records.iter().all(|r| r["record"] == 0));
    check_records(&records, |doc, _| read_fixture(doc));
    let all_text: String = records
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert!(squash(&all_text).contains(&squash("Iceland will double its contribution")));
    assert!(!all_text.contains("hidden note"));
}

#[test]
fn trailing_slash_and_file_paths_are_kept_as_given() {
    let out = label().args(["speeches/", "./lines.txt"]).output().unwrap();
    let records = json_lines(&out.stdout);
    assert_eq!(records[0]["doc"], "speeches/ISL_79_2024.txt");
    assert_eq!(records.last().unwrap()["doc"], "./lines.txt");
}

#[test]
fn jsonl_records_carry_their_other_fields_unchanged() {
    let out = label().arg("records.jsonl").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let records = json_lines(&out.stdout);
    let source: Vec<Value> = read_fixture("records.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    check_records(&records, |_, i| {
        source[i as usize]["text"].as_str().unwrap().to_string()
    });
    let first = &records[0];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys[11..], ["id", "iso3", "year", "weight", "tags"]);
    assert_eq!(first["tags"], json!(["peace", {"region": "west africa"}]));
    assert!(
        stdout.contains(r#""weight":1.50"#),
        "numbers are carried as written: {stdout}"
    );
    // the blank line is not a record; the empty text gives no sentence
    let r2: Vec<&Value> = records.iter().filter(|r| r["id"] == "r2").collect();
    assert_eq!(r2.len(), 1);
    assert_eq!(r2[0]["record"], 1);
    assert_eq!(
        r2[0]["input_label"], "commitment",
        "a field named like an output field is renamed"
    );
    assert_eq!(r2[0]["weight"], Value::Null);
    assert!(records.iter().all(|r| r["id"] != "r3"));
    assert!(stderr(&out)
        .contains("warning: records.jsonl:3: input field `label` is carried as `input_label`"));
}

#[test]
fn csv_and_tsv_rows_carry_cells_as_strings() {
    let out = label().arg("table.csv").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let records = json_lines(&out.stdout);
    let texts = [
        "The Council must act, and it must act now.",
        "We will contribute\nten million dollars.",
        "Nothing further.",
    ];
    check_records(&records, |_, i| texts[i as usize].to_string());
    let by_row: Vec<(u64, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["record"].as_u64().unwrap(),
                r["id"].as_str().unwrap(),
                r["country"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(by_row.contains(&(0, "c1", "Norway")));
    assert!(by_row.contains(&(1, "c2", "Nepal")));
    assert!(by_row.contains(&(2, "c3", "")));

    let out = label().arg("table.tsv").output().unwrap();
    let records = json_lines(&out.stdout);
    assert_eq!(records.len(), 2);
    assert_eq!(
        (
            &records[1]["id"],
            &records[1]["country"],
            &records[1]["record"]
        ),
        (&json!("t2"), &json!("Fiji"), &json!(1))
    );
}

#[test]
fn input_format_overrides_extensions() {
    let out = label()
        .args(["--input-format", "text", "records.jsonl"])
        .output()
        .unwrap();
    let records = json_lines(&out.stdout);
    assert!(records
        .iter()
        .all(|r| r["record"] == 0 && r.get("id").is_none()));
    assert!(records[0]["text"].as_str().unwrap().starts_with("{\"id\""));
}

#[test]
fn the_text_field_can_be_named() {
    let input = "{\"body\": \"The body holds the text.\", \"text\": \"Not this.\"}\n";
    let out = label()
        .args(["--input-format", "jsonl", "--text-field", "body"])
        .write_stdin(input)
        .output()
        .unwrap();
    let records = json_lines(&out.stdout);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["text"], "The body holds the text.");
    assert_eq!(records[0]["input_text"], "Not this.");
}

#[test]
fn standard_input_is_text_named_dash() {
    let text = "We must protect the high seas. We will lead by example.";
    for args in [&[][..], &["-"][..]] {
        let out = label().args(args).write_stdin(text).output().unwrap();
        assert!(out.status.success());
        let records = json_lines(&out.stdout);
        assert!(!records.is_empty());
        assert!(records.iter().all(|r| r["doc"] == "-" && r["record"] == 0));
        check_records(&records, |_, _| text.to_string());
    }
}

#[test]
fn jsonl_streams_from_stdin_to_stdout_in_order() {
    let input: String = (0..300)
        .map(|i| format!("{{\"n\": {i}, \"text\": \"Record number {i} is here.\"}}\n"))
        .collect();
    let out = label()
        .args([
            "--input-format",
            "jsonl",
            "--threads",
            "2",
            "--batch-size",
            "3",
        ])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let records = json_lines(&out.stdout);
    let ns: Vec<u64> = records.iter().map(|r| r["n"].as_u64().unwrap()).collect();
    assert_eq!(ns, (0..300).collect::<Vec<_>>());
    assert!(records
        .iter()
        .enumerate()
        .all(|(i, r)| r["record"] == i && r["doc"] == "-"));
}

#[test]
fn threads_and_batch_size_do_not_change_the_output() {
    let run = |threads: &str, batch: &str| {
        label()
            .args([
                "--threads",
                threads,
                "--batch-size",
                batch,
                "speeches",
                "records.jsonl",
                "table.csv",
            ])
            .output()
            .unwrap()
            .stdout
    };
    let one = run("1", "32");
    assert!(!one.is_empty());
    assert_eq!(one, run("2", "1"));
    assert_eq!(one, run("2", "7"));
}

#[test]
fn no_split_text_gives_one_record_per_non_empty_line() {
    let out = label().args(["--no-split", "lines.txt"]).output().unwrap();
    assert!(out.status.success());
    insta::with_settings!({snapshot_path => "fixtures/io/snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("no_split_lines", String::from_utf8(out.stdout).unwrap());
    });
}

#[test]
fn no_split_records_are_whole_units() {
    let out = label()
        .args(["--no-split", "records.jsonl", "table.tsv"])
        .output()
        .unwrap();
    let records = json_lines(&out.stdout);
    let texts: Vec<&str> = records
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "We urge all parties to return to the negotiating table. Dialogue has stalled for two years.",
            "Ghana will host the regional summit in March.",
            "The Council must act now.",
            "We will report back.",
        ]
    );
    assert!(records.iter().all(|r| r["sentence"] == 0));
}

#[test]
fn csv_output_has_one_header_and_flattened_scores() {
    let out = label()
        .args([
            "--no-split",
            "--format",
            "csv",
            "records.jsonl",
            "table.tsv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    insta::with_settings!({snapshot_path => "fixtures/io/snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("no_split_csv", String::from_utf8(out.stdout.clone()).unwrap());
    });
    // the table's `country` has no column: the first record fixed the columns
    assert!(
        stderr(&out).contains("warning: table.tsv:2: field `country` has no column"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("warning: records.jsonl:3: field `input_label` has no column"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tsv_output_reads_back_with_the_csv_crate() {
    let out = label()
        .args(["--format", "tsv", "table.csv", "speeches"])
        .output()
        .unwrap();
    let json = label().args(["table.csv", "speeches"]).output().unwrap();
    let json = json_lines(&json.stdout);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .from_reader(&out.stdout[..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "doc",
            "record",
            "sentence",
            "start",
            "end",
            "speaker",
            "delegation",
            "text",
            "label",
            "score_call_to_action",
            "score_commitment",
            "score_context",
            "themes",
            "iso3",
            "session",
            "year",
            "truncated",
            "id",
            "country"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), json.len());
    for (row, record) in rows.iter().zip(&json) {
        assert_eq!(row[0], *record["doc"].as_str().unwrap());
        assert_eq!(row[3], record["start"].to_string());
        assert_eq!(row[7], *record["text"].as_str().unwrap());
        assert_eq!(&row[8], "");
        assert_eq!(
            &row[17],
            record.get("id").and_then(Value::as_str).unwrap_or("")
        );
    }
}

#[test]
fn output_goes_to_a_file_with_o() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.jsonl");
    let out = label()
        .args(["lines.txt", "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let expected = label().arg("lines.txt").output().unwrap().stdout;
    assert_eq!(std::fs::read(&path).unwrap(), expected);
}

#[test]
fn inputs_are_read_in_the_order_given() {
    let out = label()
        .args(["table.tsv", "records.jsonl", "lines.txt"])
        .output()
        .unwrap();
    let records = json_lines(&out.stdout);
    let mut docs: Vec<&str> = records.iter().map(|r| r["doc"].as_str().unwrap()).collect();
    docs.dedup();
    assert_eq!(docs, ["table.tsv", "records.jsonl", "lines.txt"]);
}

#[test]
fn the_embedded_model_labels_every_sentence_and_segment_only_does_not() {
    let out = Command::cargo_bin("polrec")
        .unwrap()
        .current_dir(fixtures())
        .args(["label", "lines.txt"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let records = json_lines(&out.stdout);
    assert!(!records.is_empty());
    for r in &records {
        let label = r["label"].as_str().expect("a label");
        assert!(["call_to_action", "commitment", "context"].contains(&label));
        let s = &r["scores"];
        let sum: f64 = ["call_to_action", "commitment", "context"]
            .iter()
            .map(|k| s[k].as_f64().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-4, "{sum}");
        let best = ["call_to_action", "commitment", "context"]
            .into_iter()
            .max_by(|a, b| s[a].as_f64().unwrap().total_cmp(&s[b].as_f64().unwrap()))
            .unwrap();
        assert_eq!(best, label, "the label is the most probable one");
    }
    let seg = label().args(["lines.txt"]).output().unwrap();
    assert!(seg.status.success());
    let seg = json_lines(&seg.stdout);
    assert_eq!(seg.len(), records.len());
    assert!(seg
        .iter()
        .all(|r| r["label"].is_null() && r["scores"].is_null()));
}
#[test]
fn bad_usage_exits_2() {
    let cases: &[&[&str]] = &[
        &["--no-such-flag"],
        &["--shard", "4/3"],
        &["--shard", "0/2"],
        &["--shard", "two"],
        &["--resume"],
        &["--resume", "-o", "-"],
        &["--batch-size", "0"],
        &["--threads", "0"],
        &["--input-format", "xml"],
        &["--format", "parquet"],
    ];
    for args in cases {
        let out = label().args(*args).arg("lines.txt").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(stderr(&out).contains("error"), "{args:?}");
    }
}

#[test]
fn a_missing_themes_file_is_a_usage_error_naming_it() {
    let out = Command::cargo_bin("polrec")
        .unwrap()
        .current_dir(fixtures())
        .args(["label", "--themes", "no-such-themes.toml", "lines.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("no-such-themes.toml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_slow_stream_is_labelled_as_it_comes() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::time::Duration;

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("polrec"))
        .args(["label", "--segment-only", "--input-format", "jsonl"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    for i in 0..3 {
        writeln!(
            stdin,
            "{{\"n\": {i}, \"text\": \"Item {i} must be answered now.\"}}"
        )
        .unwrap();
        stdin.flush().unwrap();
        // the record comes out while the input is still open
        let line = received
            .recv_timeout(Duration::from_secs(20))
            .expect("no output while the input stays open");
        let record: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(record["n"], i);
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn the_output_is_never_read_as_an_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "We must act. We will act.").unwrap();
    let output = dir.path().join("out.jsonl");
    let first = label()
        .arg(dir.path())
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let written = std::fs::read(&output).unwrap();
    assert!(!json_lines(&written).is_empty());
    // resuming keeps out.jsonl, which now lies among the inputs, full of `text` fields
    let again = label()
        .arg(dir.path())
        .arg("--resume")
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("out.jsonl: left out, it is the output"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read(&output).unwrap(), written);
}
