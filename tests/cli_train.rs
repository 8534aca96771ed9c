//! `polrec train` run as a user runs it, on a tiny base model: real sentences given by
//! `--train-only-index` are rebuilt from the corpus and trained on, never held out (with
//! `--confident-only`, only those both annotators were sure of; `--relabel` gives some of
//! them a second labelling); a damaged index entry is
//! an error naming the index file and line; `--fold I/K` holds out one fold, written
//! to `validation.jsonl` with the model's labels.

mod common;

use std::path::Path;

use assert_cmd::Command;
use polrec::model::train_data::{
    build_real_train_index, write_index, write_real_sentences, RealSentence,
};
use polrec::Label;

/// Two statements of a made-up delegation, as lines of the corpus.
const CORPUS: &str = concat!(
    r#"{"iso3": "ZZA", "session": 90, "year": 2035, "text": "Mr. President, we meet in hard times. Our island will plant a million mangroves by 2040. We call on all donors to honour their pledges."}"#,
    "\n",
    r#"{"iso3": "ZZA", "session": 91, "year": 2036, "text": "The compact has failed. We urge all parties to return to the table."}"#,
    "\n",
);

fn real(id: &str, session: u32, text: &str, label: Label) -> RealSentence {
    RealSentence {
        id: id.into(),
        iso3: "ZZA".into(),
        session,
        year: 1945 + session,
        text: text.into(),
        label,
        both_confident: true,
    }
}

/// Written labelled data: 24 sentences, so that the validation slice is not empty.
fn written() -> String {
    let texts = [
        ("We urge all States to ratify the treaty.", "call_to_action"),
        ("The Council must act now.", "call_to_action"),
        ("We will contribute troops.", "commitment"),
        ("We remain committed to the Charter.", "commitment"),
        ("The war began in 1991.", "context"),
        ("Thank you, Mr. President.", "context"),
    ];
    (0..4)
        .flat_map(|i| texts.iter().map(move |(t, l)| (i, t, l)))
        .map(|(i, t, l)| {
            serde_json::json!({"text": format!("{t} ({i})"), "label": l}).to_string() + "\n"
        })
        .collect()
}

/// Runs `polrec train` for one epoch, with `--train-only-index INDEX --corpus CORPUS` if
/// given and then `flags`; returns (success, stderr, report).
fn train(
    dir: &Path,
    base: &Path,
    out: &str,
    index: Option<(&Path, &Path)>,
    flags: &[&str],
) -> (bool, String, serde_json::Value) {
    let output = dir.join(out);
    let mut command = Command::cargo_bin("polrec").unwrap();
    command
        .arg("train")
        .arg("--data")
        .arg(dir.join("written.jsonl"));
    if let Some((index, corpus)) = index {
        command
            .arg("--train-only-index")
            .arg(index)
            .arg("--corpus")
            .arg(corpus);
    }
    let result = command
        .args(flags)
        .arg("--base")
        .arg(base)
        .args([
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--storage",
            "f32",
            "-o",
        ])
        .arg(&output)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    let report = std::fs::read(output.join("train-report.json"))
        .map(|bytes| serde_json::from_slice(&bytes).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (result.status.success(), stderr, report)
}

#[test]
fn train_only_index_sentences_are_trained_on_and_never_held_out() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    common::write_tiny_model(&base, 2, false);
    std::fs::write(dir.path().join("written.jsonl"), written()).unwrap();
    let corpus = dir.path().join("corpus.jsonl");
    std::fs::write(&corpus, CORPUS).unwrap();
    let labelled = dir.path().join("labelled.jsonl");
    write_real_sentences(
        &labelled,
        &[
            real(
                "x1",
                90,
                "Our island will plant a million mangroves by 2040.",
                Label::Commitment,
            ),
            real(
                "x2",
                90,
                "We call on all donors to honour their pledges.",
                Label::CallToAction,
            ),
            RealSentence {
                both_confident: false,
                ..real("x3", 91, "The compact has failed.", Label::Context)
            },
        ],
    )
    .unwrap();
    let index = dir.path().join("extra.index.jsonl");
    write_index(
        &index,
        &build_real_train_index(&labelled, &corpus).unwrap().entries,
    )
    .unwrap();

    let (ok, stderr, plain) = train(dir.path(), &base, "plain", None, &[]);
    assert!(ok, "{stderr}");
    let extra_index = Some((index.as_path(), corpus.as_path()));
    let (ok, stderr, extra) = train(dir.path(), &base, "extra", extra_index, &[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("3 examples rebuilt"), "{stderr}");
    assert_eq!(extra["validation_size"], plain["validation_size"]);
    assert_eq!(
        extra["train_size"].as_u64().unwrap(),
        plain["train_size"].as_u64().unwrap() + 3
    );
    let (ok, stderr, sure) = train(
        dir.path(),
        &base,
        "sure",
        extra_index,
        &["--confident-only"],
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("2 of 3 sentences both annotators"),
        "{stderr}"
    );
    assert_eq!(sure["validation_size"], plain["validation_size"]);
    assert_eq!(
        sure["train_size"].as_u64().unwrap(),
        plain["train_size"].as_u64().unwrap() + 2
    );

    // A second labelling, sure of the sentence the first annotators hesitated over, brings
    // it back under --confident-only; a relabelled sentence in no --train-only-index is an error.
    let relabel = |name: &str, sentences: &[RealSentence]| {
        let labelled = dir.path().join(format!("{name}.jsonl"));
        write_real_sentences(&labelled, sentences).unwrap();
        let index = dir.path().join(format!("{name}.index.jsonl"));
        let built = build_real_train_index(&labelled, &corpus).unwrap();
        assert_eq!(built.entries.len(), sentences.len());
        write_index(&index, &built.entries).unwrap();
        index.display().to_string()
    };
    let second = relabel(
        "second",
        &[real(
            "y3",
            91,
            "The compact has failed.",
            Label::CallToAction,
        )],
    );
    let flags = ["--confident-only", "--relabel", second.as_str()];
    let (ok, stderr, relabelled) = train(dir.path(), &base, "relabelled", extra_index, &flags);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("1 sentences relabelled, 1 of them changed label or confidence"),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 of 3 sentences both annotators"),
        "{stderr}"
    );
    assert_eq!(
        relabelled["train_size"].as_u64().unwrap(),
        plain["train_size"].as_u64().unwrap() + 3
    );
    let stray = relabel(
        "stray",
        &[real(
            "y4",
            91,
            "We urge all parties to return to the table.",
            Label::CallToAction,
        )],
    );
    let (ok, stderr, _) = train(
        dir.path(),
        &base,
        "stray",
        extra_index,
        &["--relabel", stray.as_str()],
    );
    assert!(!ok, "a stray relabelled sentence was accepted");
    assert!(
        stderr.contains("1 of 1 sentences are in no --train-only-index"),
        "{stderr}"
    );

    // A fold of four holds out a quarter of each label of the 24 written sentences.
    let (ok, stderr, fold) = train(dir.path(), &base, "fold", None, &["--fold", "2/4"]);
    assert!(ok, "{stderr}");
    assert_eq!(fold["validation_size"], 6);
    assert_eq!(
        fold["config"]["fold"],
        serde_json::json!({"index": 1, "of": 4})
    );
    // validation.jsonl gives each held-out sentence with its own gold label.
    let gold: std::collections::HashMap<String, String> = written()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| {
            (
                v["text"].as_str().unwrap().into(),
                v["label"].as_str().unwrap().into(),
            )
        })
        .collect();
    let held_out = std::fs::read_to_string(dir.path().join("fold/validation.jsonl")).unwrap();
    assert_eq!(held_out.lines().count(), 6);
    for line in held_out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(gold[v["text"].as_str().unwrap()], v["gold"], "{line}");
        assert!(
            Label::ALL.iter().any(|l| v["label"] == l.as_str()),
            "{line}"
        );
        let sum: f64 = ["call_to_action", "commitment", "context"]
            .iter()
            .map(|k| v["scores"][k].as_f64().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-4, "{line}");
    }
    let (ok, stderr, _) = train(dir.path(), &base, "nofold", None, &["--fold", "5/4"]);
    assert!(!ok && stderr.contains("1 <= I <= K"), "{stderr}");

    // The second entry's hash no longer matches what the corpus gives back.
    let damaged = dir.path().join("damaged.index.jsonl");
    let text = std::fs::read_to_string(&index).unwrap();
    let second = text.lines().nth(1).unwrap();
    let hash = serde_json::from_str::<serde_json::Value>(second).unwrap()["sha256_8"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(&damaged, text.replace(&hash, "00000000")).unwrap();
    let (ok, stderr, _) = train(dir.path(), &base, "damaged", Some((&damaged, &corpus)), &[]);
    assert!(!ok, "a damaged index was accepted");
    assert!(
        stderr.contains(&format!("{}:2:", damaged.display())),
        "the error names the file and line: {stderr}"
    );
}

/// `--checkpoint DIR --pause-after 1` stops after one epoch without writing the model;
/// the same command without `--pause-after` resumes and writes the weights a run without
/// checkpoints writes; a checkpoint of other settings is refused with a clear error.
#[test]
fn a_paused_run_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    common::write_tiny_model(&base, 2, false);
    std::fs::write(dir.path().join("written.jsonl"), written()).unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let run = |out: &str, flags: &[&str]| {
        let result = Command::cargo_bin("polrec")
            .unwrap()
            .env("RAYON_NUM_THREADS", "1")
            .env("CANDLE_NUM_THREADS", "1")
            .arg("train")
            .arg("--data")
            .arg(dir.path().join("written.jsonl"))
            .arg("--base")
            .arg(&base)
            .args(["--epochs", "2", "--patience", "2", "--batch-size", "8"])
            .args(["--storage", "f32", "-o"])
            .arg(dir.path().join(out))
            .args(flags)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
        (result.status.code(), stderr)
    };
    let weights = |out: &str| std::fs::read(dir.path().join(out).join("model.safetensors"));
    let (code, stderr) = run("straight", &[]);
    assert_eq!(code, Some(0), "{stderr}");

    let checkpoint = ["--checkpoint", checkpoints.to_str().unwrap()];
    let (code, stderr) = run(
        "resumed",
        &[&checkpoint[..], &["--pause-after", "1"]].concat(),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("paused after epoch 1 of 2"), "{stderr}");
    assert!(weights("resumed").is_err(), "a paused run wrote a model");
    assert!(checkpoints.join("epoch-1.json").is_file());

    let (code, stderr) = run("other", &[&checkpoint[..], &["--seed", "5"]].concat());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("epoch-1.json") && stderr.contains("another run"),
        "{stderr}"
    );

    let (code, stderr) = run("resumed", &checkpoint);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("resuming after epoch 1"), "{stderr}");
    assert_eq!(weights("resumed").unwrap(), weights("straight").unwrap());
}
