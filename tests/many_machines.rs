//! The recipes of the README's "Large corpora and many machines" section, run as
//! written: the streaming filter, GNU parallel over `--shard`, and the Slurm job
//! array (its script run once per task id, as Slurm would) with the merge step. Each
//! must give exactly the records of a single run.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `sh` code blocks of the README's section on many machines, in order.
fn recipes() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("\n## Large corpora and many machines")
        .expect("the README has the section");
    let section = &readme[start + 1..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut blocks = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + 6..];
        let close = body.find("```").expect("a closed code block");
        blocks.push(body[..close].to_string());
        rest = &body[close..];
    }
    assert_eq!(blocks.len(), 4, "filter, parallel, Slurm script, merge");
    blocks
}

/// The directory of the `polrec` binary under test, to put first on `PATH`.
fn bin_dir() -> PathBuf {
    assert_cmd::cargo::cargo_bin("polrec")
        .parent()
        .unwrap()
        .to_path_buf()
}

fn path_with_polrec() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{}:{path}", bin_dir().display())
}

/// Runs `script` with bash in `dir`, `polrec` on the path, and `env`; asserts success.
fn bash(dir: &Path, script: &str, env: &[(&str, &str)]) {
    let out = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("PATH", path_with_polrec())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}\nfailed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A small corpus in `corpus/` of a fresh directory: text, JSONL (in a
/// subdirectory) and CSV, written for this test.
fn corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(corpus.join("debates")).unwrap();
    std::fs::write(
        corpus.join("a.txt"),
        "The President: I give the floor to the representative of Chile.\n\n\
         Mr. Rojas (Chile) (spoke in Spanish): We must protect the high seas. \
         Chile will ratify the agreement this year. Thank you.\n",
    )
    .unwrap();
    std::fs::write(
        corpus.join("b.txt"),
        "Our region has known drought for a decade. We call on donors to keep their promises.",
    )
    .unwrap();
    let records: String = (0..12)
        .map(|i| {
            format!(
                "{{\"n\": {i}, \"text\": \"Item {i} was debated. The Assembly should adopt item {i} by consensus.\"}}\n"
            )
        })
        .collect();
    std::fs::write(corpus.join("debates/records.jsonl"), records).unwrap();
    std::fs::write(
        corpus.join("rows.csv"),
        "id,text\nr1,We will open two new embassies.\nr2,\"Peace, and then development.\"\n",
    )
    .unwrap();
    dir
}

/// The lines of `file` in `dir`, sorted.
fn sorted_lines(dir: &Path, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines.sort();
    lines
}

/// A single run over the corpus, written to `single.jsonl`: its lines, sorted.
fn single_run(dir: &Path) -> Vec<String> {
    bash(dir, "polrec label --quiet corpus/ -o single.jsonl", &[]);
    let lines = sorted_lines(dir, "single.jsonl");
    assert!(lines.len() > 20, "{} records", lines.len());
    lines
}

#[test]
fn gnu_parallel_over_shards_gives_a_single_run() {
    let version = Command::new("parallel").arg("--version").output();
    let gnu = version.is_ok_and(|v| String::from_utf8_lossy(&v.stdout).contains("GNU parallel"));
    if !gnu {
        eprintln!("skipped: GNU parallel is not installed (apt-get install parallel)");
        return;
    }
    let dir = corpus();
    let single = single_run(dir.path());
    bash(dir.path(), &recipes()[1], &[]);
    let shards = (1..=4)
        .filter(|k| {
            !std::fs::read(dir.path().join(format!("shard-{k}.jsonl")))
                .unwrap()
                .is_empty()
        })
        .count();
    assert!(shards >= 2, "the records fall in {shards} of 4 shards");
    assert_eq!(sorted_lines(dir.path(), "labelled.jsonl"), single);
}

#[test]
fn a_slurm_job_array_and_its_merge_give_a_single_run() {
    let dir = corpus();
    let single = single_run(dir.path());
    let recipes = recipes();
    std::fs::write(dir.path().join("label.sbatch"), &recipes[2]).unwrap();
    // Slurm runs the script once per task id; task 2 runs twice, as when requeued.
    for task in ["1", "2", "3", "4", "2"] {
        bash(
            dir.path(),
            "bash label.sbatch",
            &[("SLURM_ARRAY_TASK_ID", task), ("SLURM_CPUS_PER_TASK", "2")],
        );
    }
    bash(dir.path(), &recipes[3], &[]);
    assert_eq!(sorted_lines(dir.path(), "labelled.jsonl"), single);
}

#[test]
fn the_streaming_filter_keeps_input_order() {
    let dir = corpus();
    let jsonl = dir.path().join("corpus/debates/records.jsonl");
    std::fs::copy(&jsonl, dir.path().join("statements.jsonl")).unwrap();
    bash(dir.path(), "gzip statements.jsonl", &[]);
    bash(dir.path(), &recipes()[0], &[]);
    bash(
        dir.path(),
        "gzip -dc labelled.jsonl.gz > labelled.jsonl && polrec label --quiet --input-format jsonl - < corpus/debates/records.jsonl > direct.jsonl",
        &[],
    );
    let read = |name: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.path().join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let piped = read("labelled.jsonl");
    assert_eq!(piped, read("direct.jsonl"));
    let order: Vec<(u64, u64)> = piped
        .iter()
        .map(|r| (r["n"].as_u64().unwrap(), r["sentence"].as_u64().unwrap()))
        .collect();
    let expected: Vec<(u64, u64)> = (0..12).flat_map(|n| [(n, 0), (n, 1)]).collect();
    assert_eq!(order, expected, "records and sentences in input order");
}
