//! `polrec label --shard K/N` and `--resume`: shards partition the records, and a
//! resumed run ends with exactly the records of an uninterrupted one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/io")
}

fn label_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("polrec").unwrap();
    cmd.current_dir(dir)
        .args(["label", "--segment-only", "--quiet"]);
    cmd
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A corpus in a fresh directory: the fixtures plus a generated JSONL file with
/// many records, some carrying a field with a line break (quoted in CSV).
fn corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "speeches/ISL_79_2024.txt",
        "speeches/nested/statement.txt",
        "lines.txt",
        "table.csv",
        "records.jsonl",
    ] {
        let to = dir.path().join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fixtures().join(name), to).unwrap();
    }
    let mut many = String::new();
    for i in 0..120 {
        let note = if i % 7 == 0 {
            "two\\nlines, \\\"quoted\\\""
        } else {
            "plain"
        };
        many += &format!(
            "{{\"n\": {i}, \"note\": \"{note}\", \"text\": \"Statement {i} opens. We must act on point {i}. We will report on it.\"}}\n"
        );
    }
    std::fs::write(dir.path().join("many.jsonl"), many).unwrap();
    dir
}

const INPUTS: [&str; 5] = [
    "speeches",
    "lines.txt",
    "table.csv",
    "records.jsonl",
    "many.jsonl",
];

fn lines(bytes: &[u8]) -> Vec<String> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn key(line: &str) -> (String, u64, u64) {
    let v: Value = serde_json::from_str(line).unwrap();
    (
        v["doc"].as_str().unwrap().into(),
        v["record"].as_u64().unwrap(),
        v["sentence"].as_u64().unwrap(),
    )
}

#[test]
fn shards_partition_the_records_of_a_full_run() {
    let dir = corpus();
    let full = label_in(dir.path()).args(INPUTS).output().unwrap();
    assert!(full.status.success(), "{}", stderr(&full));
    let full = lines(&full.stdout);
    for n in [1, 2, 3, 5] {
        let mut union = Vec::new();
        for k in 1..=n {
            let out = label_in(dir.path())
                .args(INPUTS)
                .args(["--shard", &format!("{k}/{n}")])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
            let shard = lines(&out.stdout);
            // each shard is in the order of the full run
            let positions: Vec<usize> = shard
                .iter()
                .map(|l| full.iter().position(|f| f == l).unwrap())
                .collect();
            assert!(
                positions.windows(2).all(|w| w[0] < w[1]),
                "shard {k}/{n} out of order"
            );
            if n > 1 {
                assert!(shard.len() < full.len(), "shard {k}/{n} holds everything");
            }
            union.extend(shard);
        }
        assert_eq!(
            union.len(),
            full.len(),
            "{n} shards: records lost or repeated"
        );
        let union: BTreeSet<&String> = union.iter().collect();
        assert_eq!(union, full.iter().collect::<BTreeSet<_>>(), "{n} shards");
    }
}

#[test]
fn a_record_is_never_split_across_shards() {
    let dir = corpus();
    let full = lines(
        &label_in(dir.path())
            .arg("many.jsonl")
            .output()
            .unwrap()
            .stdout,
    );
    let of_record = |lines: &[String], r: u64| -> Vec<String> {
        lines.iter().filter(|l| key(l).1 == r).cloned().collect()
    };
    for k in 1..=3 {
        let out = label_in(dir.path())
            .args(["many.jsonl", "--shard", &format!("{k}/3")])
            .output()
            .unwrap();
        let shard = lines(&out.stdout);
        let records: BTreeSet<u64> = shard.iter().map(|l| key(l).1).collect();
        assert!(!records.is_empty());
        for r in records {
            assert_eq!(
                of_record(&shard, r),
                of_record(&full, r),
                "record {r} in shard {k}/3"
            );
        }
    }
}

#[test]
fn shards_do_not_depend_on_where_the_corpus_lies() {
    let dir = corpus();
    let relative = label_in(dir.path())
        .args(["speeches", "many.jsonl", "--shard", "2/3"])
        .output()
        .unwrap();
    let absolute = label_in(&fixtures())
        .arg(dir.path().join("speeches"))
        .arg(dir.path().join("many.jsonl"))
        .args(["--shard", "2/3"])
        .output()
        .unwrap();
    let strip = |bytes: &[u8]| -> Vec<(String, u64, u64)> {
        lines(bytes)
            .iter()
            .map(|l| {
                let (doc, r, s) = key(l);
                let doc = doc
                    .rsplit_once("/speeches/")
                    .map_or(doc.clone(), |(_, rest)| format!("speeches/{rest}"));
                let doc = doc
                    .rsplit_once('/')
                    .filter(|(_, f)| *f == "many.jsonl")
                    .map_or(doc.clone(), |(_, f)| f.to_string());
                (doc, r, s)
            })
            .collect()
    };
    assert!(!relative.stdout.is_empty());
    assert_eq!(strip(&relative.stdout), strip(&absolute.stdout));
}

/// Runs the full corpus to `out` as `format`, returning the bytes.
fn full_run(dir: &Path, format: &str, out: &Path, extra: &[&str]) -> Vec<u8> {
    let run = label_in(dir)
        .args(INPUTS)
        .args(extra)
        .args(["--format", format, "-o"])
        .arg(out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    std::fs::read(out).unwrap()
}

/// Cuts a full output at many places, resumes each, and expects the full output.
fn resume_after_cuts(format: &str, extra: &[&str]) {
    let dir = corpus();
    let out = dir.path().join(format!("out.{format}"));
    let full = full_run(dir.path(), format, &out, extra);
    let step = (full.len() / 40).max(1);
    let mut cuts: Vec<usize> = (0..full.len()).step_by(step).collect();
    // also right at and around record boundaries
    for (i, _) in full
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .step_by(17)
    {
        cuts.extend([i, i + 1]);
    }
    cuts.push(full.len());
    for cut in cuts {
        std::fs::write(&out, &full[..cut]).unwrap();
        let resumed = label_in(dir.path())
            .args(INPUTS)
            .args(extra)
            .args(["--format", format, "--resume", "-o"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            resumed.status.success(),
            "{format} cut at {cut}: {}",
            stderr(&resumed)
        );
        let after = std::fs::read(&out).unwrap();
        assert!(
            after == full,
            "{format} cut at {cut}: resumed output differs"
        );
    }
}

#[test]
fn resuming_jsonl_after_any_cut_gives_the_full_output() {
    resume_after_cuts("jsonl", &[]);
}

#[test]
fn resuming_csv_after_any_cut_gives_the_full_output() {
    resume_after_cuts("csv", &[]);
}

#[test]
fn resuming_a_shard_in_tsv_gives_the_full_shard() {
    resume_after_cuts("tsv", &["--shard", "2/3", "--no-split"]);
}

#[test]
fn resuming_with_an_input_given_twice() {
    let dir = corpus();
    let out = dir.path().join("twice.jsonl");
    let args = ["lines.txt", "many.jsonl", "lines.txt", "many.jsonl"];
    let run = label_in(dir.path())
        .args(args)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success());
    let full = std::fs::read(&out).unwrap();
    // cut inside the second copy of many.jsonl
    let cut = full.len() - full.len() / 5;
    std::fs::write(&out, &full[..cut]).unwrap();
    let resumed = label_in(dir.path())
        .args(args)
        .arg("--resume")
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(std::fs::read(&out).unwrap() == full);
}

#[test]
fn resuming_a_finished_or_missing_output() {
    let dir = corpus();
    let out = dir.path().join("done.jsonl");
    let full = full_run(dir.path(), "jsonl", &out, &[]);
    let again = label_in(dir.path())
        .args(INPUTS)
        .arg("--resume")
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(
        std::fs::read(&out).unwrap() == full,
        "a finished output is left as it is"
    );
    std::fs::remove_file(&out).unwrap();
    let fresh = label_in(dir.path())
        .args(INPUTS)
        .arg("--resume")
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(fresh.status.success());
    assert!(
        std::fs::read(&out).unwrap() == full,
        "no output yet: a full run"
    );
}

#[test]
fn resuming_with_other_inputs_or_format_is_refused() {
    let dir = corpus();
    let out = dir.path().join("other.jsonl");
    let full = full_run(dir.path(), "jsonl", &out, &[]);
    let other = label_in(dir.path())
        .args(["table.csv", "--resume", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(2));
    assert!(
        stderr(&other).contains("cannot resume"),
        "{}",
        stderr(&other)
    );
    assert!(std::fs::read(&out).unwrap() == full, "nothing appended");
    let csv = label_in(dir.path())
        .args(INPUTS)
        .args(["--format", "csv", "--resume", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(csv.status.code(), Some(2));
    assert!(
        stderr(&csv).contains("is not a record of `polrec label --format csv` output"),
        "{}",
        stderr(&csv)
    );
    assert!(std::fs::read(&out).unwrap() == full);
}

#[test]
fn resuming_after_kill_9_gives_the_full_output() {
    let dir = corpus();
    let mut big = String::new();
    for i in 0..20_000 {
        big += &format!("{{\"i\": {i}, \"text\": \"Paragraph {i} begins here. States must cooperate on item {i}. We will do our part.\"}}\n");
    }
    std::fs::write(dir.path().join("big.jsonl"), big).unwrap();
    let out = dir.path().join("killed.jsonl");
    let expected = {
        let full = dir.path().join("full.jsonl");
        let run = label_in(dir.path())
            .args(["big.jsonl", "-o"])
            .arg(&full)
            .output()
            .unwrap();
        assert!(run.status.success());
        std::fs::read(full).unwrap()
    };
    for delay_ms in [50, 150, 400] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("polrec"))
            .current_dir(dir.path())
            .args(["label", "--segment-only", "--quiet", "big.jsonl", "-o"])
            .arg(&out)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let resumed = label_in(dir.path())
            .args(["big.jsonl", "--resume", "-o"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(resumed.status.success(), "{}", stderr(&resumed));
        assert!(
            std::fs::read(&out).unwrap() == expected,
            "killed after {delay_ms} ms"
        );
    }
}
