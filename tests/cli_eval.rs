//! `polrec eval` run as a user runs it, on the embedded model: a bad line of the labelled
//! file is named (file and line) and skipped, the rest scored, exit status 1; label names
//! may be written `Call to action`; `--predictions FILE` writes each sentence with its gold
//! and model labels.

use assert_cmd::Command;

fn eval(lines: &[&str]) -> (std::process::Output, String) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("gold.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let out = Command::cargo_bin("polrec")
        .unwrap()
        .args(["eval", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    (out, path.display().to_string())
}

const GOOD: [&str; 3] = [
    r#"{"text": "We call on all parties to return to the negotiating table.", "label": "call_to_action"}"#,
    r#"{"text": "My Government will double its contribution to the Fund next year.", "label": "Commitment"}"#,
    r#"{"text": "The conflict began in the spring of that year.", "label": "context", "iso3": "KAZ"}"#,
];

#[test]
fn bad_lines_are_named_and_skipped_and_the_rest_is_scored() {
    let (out, path) = eval(&[
        GOOD[0],
        r#"{"text": "Unfinished"#,
        GOOD[1],
        r#"{"text": "We urge restraint.", "label": "call"}"#,
        "",
        GOOD[2],
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("{path}:2:")), "{stderr}");
    assert!(
        stderr.contains(&format!("{path}:4: unknown label \"call\"")),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["n"], 3);
    assert_eq!(report["skipped_lines"], 2);
    let confusion = report["confusion"].as_array().unwrap();
    let gold_counts: Vec<u64> = confusion
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap())
                .sum()
        })
        .collect();
    assert_eq!(
        gold_counts,
        [1, 1, 1],
        "one sentence of each label was read"
    );
}

#[test]
fn a_clean_file_exits_zero_and_a_file_without_a_good_line_cannot_be_scored() {
    let (out, _) = eval(&GOOD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["n"].as_u64(), report["skipped_lines"].as_u64()),
        (Some(3), Some(0))
    );

    let (out, path) = eval(&["not json", r#"{"label": "context"}"#]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{path}: no labelled sentence to score")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{path}:2: missing field `text`")),
        "{stderr}"
    );
}

#[test]
fn predictions_give_each_sentence_its_gold_and_model_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let (gold, written) = (tmp.path().join("gold.jsonl"), tmp.path().join("p.jsonl"));
    std::fs::write(&gold, GOOD.join("\n")).unwrap();
    let out = Command::cargo_bin("polrec")
        .unwrap()
        .args(["eval", "--json", "--predictions"])
        .arg(&written)
        .arg(&gold)
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&written)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let gold: Vec<&str> = rows.iter().map(|r| r["gold"].as_str().unwrap()).collect();
    assert_eq!(gold, ["call_to_action", "commitment", "context"]);
    let iso3: Vec<&serde_json::Value> = rows.iter().map(|r| &r["iso3"]).collect();
    assert_eq!(
        iso3,
        [
            &serde_json::Value::Null,
            &serde_json::Value::Null,
            &"KAZ".into()
        ]
    );
    assert!(rows[0]["text"]
        .as_str()
        .unwrap()
        .starts_with("We call on all parties"));
    let right = rows.iter().filter(|r| r["gold"] == r["label"]).count() as f64;
    assert_eq!(right / 3.0, report["accuracy"].as_f64().unwrap());
}
