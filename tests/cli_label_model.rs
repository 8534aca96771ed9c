//! `polrec label --model` with missing or damaged model directories: a clear error
//! naming the problem, exit status 2, nothing written, never a panic; and the
//! checksum of the embedded model.

mod common;

use std::path::Path;

use assert_cmd::Command;

/// Runs `polrec label --model MODEL -o OUT` on one sentence in `dir`.
fn label_with(dir: &Path, model: &Path) -> std::process::Output {
    Command::cargo_bin("polrec")
        .unwrap()
        .current_dir(dir)
        .args(["label", "--quiet", "--model"])
        .arg(model)
        .args(["-o", "out.jsonl", "-"])
        .write_stdin("We must act now. We will help.")
        .output()
        .unwrap()
}

/// Expects a refusal to load the model: exit 2, an error holding every one of
/// `expected`, no output file, no panic.
fn assert_refused(dir: &Path, model: &Path, expected: &[&str]) {
    let out = label_with(dir, model);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: model: "), "{err}");
    for part in expected {
        assert!(err.contains(part), "`{part}` not in: {err}");
    }
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    assert!(!dir.join("out.jsonl").exists(), "nothing is written");
}

/// A fresh directory with a good tiny model in `model/`.
fn tiny() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    common::write_tiny_model(&model, 11, true);
    (dir, model)
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
}

#[test]
fn a_good_model_directory_labels() {
    let (dir, model) = tiny();
    let out = label_with(dir.path(), &model);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    assert_eq!(written.lines().count(), 2);
    assert!(written.contains("\"label\":\""));
}

#[test]
fn a_missing_model_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-model");
    assert_refused(
        dir.path(),
        &missing,
        &["no-such-model: no such model directory"],
    );
    assert_refused(
        dir.path(),
        Path::new("./no-such-model"),
        &["./no-such-model: no such model directory"],
    );
}

#[test]
fn a_file_given_as_model_is_not_a_directory() {
    let (dir, model) = tiny();
    let file = model.join("config.json");
    assert_refused(dir.path(), &file, &["config.json: not a directory"]);
}

#[test]
fn each_missing_file_is_named() {
    for name in [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "polrec.json",
    ] {
        let (dir, model) = tiny();
        std::fs::remove_file(model.join(name)).unwrap();
        assert_refused(dir.path(), &model, &[name, "No such file"]);
    }
}

#[test]
fn truncated_weights_are_named() {
    let (dir, model) = tiny();
    let path = model.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    for keep in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..keep]).unwrap();
        assert_refused(dir.path(), &model, &["model.safetensors: ", "safetensors"]);
    }
}

#[test]
fn weights_of_the_wrong_shape_are_named() {
    let (dir, model) = tiny();
    edit_json(&model.join("config.json"), |c| {
        c["intermediate_size"] = 128.into()
    });
    assert_refused(
        dir.path(),
        &model,
        &[
            "model.safetensors does not fit config.json",
            "has shape",
            "expected [128, 32]",
        ],
    );
    let (dir, model) = tiny();
    edit_json(&model.join("config.json"), |c| {
        c["num_hidden_layers"] = 3.into()
    });
    assert_refused(
        dir.path(),
        &model,
        &["model.safetensors", "encoder.layer.2"],
    );
    let (dir, model) = tiny();
    edit_json(&model.join("config.json"), |c| {
        c["num_attention_heads"] = 5.into()
    });
    assert_refused(
        dir.path(),
        &model,
        &["config.json: hidden_size 32 is not a multiple of num_attention_heads 5"],
    );
}

#[test]
fn weights_without_a_head_are_named() {
    let (dir, model) = tiny();
    polrec::model::weights::write(
        &common::tiny_weights(11, false),
        polrec::model::weights::Storage::F32,
        &model.join("model.safetensors"),
    )
    .unwrap();
    assert_refused(
        dir.path(),
        &model,
        &["model.safetensors lacks the classification head `head.weight`"],
    );
}

#[test]
fn a_bad_polrec_json_is_named() {
    let (dir, model) = tiny();
    std::fs::write(
        model.join("polrec.json"),
        "{\"labels\": [\"call_to_action\",",
    )
    .unwrap();
    assert_refused(dir.path(), &model, &["polrec.json: EOF while parsing"]);
    std::fs::write(model.join("polrec.json"), "[]").unwrap();
    assert_refused(dir.path(), &model, &["polrec.json: "]);
    let (dir, model) = tiny();
    edit_json(&model.join("polrec.json"), |m| {
        m["labels"] = serde_json::json!(["yes", "no", "maybe"])
    });
    assert_refused(dir.path(), &model, &["polrec.json: labels must be"]);
    let (dir, model) = tiny();
    edit_json(&model.join("polrec.json"), |m| {
        m["temperature"] = (-1.0).into()
    });
    assert_refused(
        dir.path(),
        &model,
        &["polrec.json: temperature -1 is not positive"],
    );
    let (dir, model) = tiny();
    edit_json(&model.join("polrec.json"), |m| m["max_len"] = 1.into());
    assert_refused(dir.path(), &model, &["max_len 1 (polrec.json)"]);
}

#[test]
fn a_corrupt_tokenizer_is_named() {
    let (dir, model) = tiny();
    std::fs::write(
        model.join("tokenizer.json"),
        "{\"version\": \"1.0\", \"model\": 42}",
    )
    .unwrap();
    assert_refused(dir.path(), &model, &["tokenizer.json: "]);
}

#[test]
fn weights_that_do_not_match_their_checksum_are_refused() {
    let (dir, model) = tiny();
    let path = model.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let sha256 = polrec::model::classifier::sha256_hex(&bytes);
    edit_json(&model.join("polrec.json"), |m| {
        m["sha256"] = sha256.clone().into()
    });
    let ok = label_with(dir.path(), &model);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    std::fs::remove_file(dir.path().join("out.jsonl")).unwrap();

    // One flipped bit in a weight: the file still parses, but is refused.
    let mut damaged = bytes.clone();
    let at = damaged.len() - 10;
    damaged[at] ^= 0x01;
    std::fs::write(&path, &damaged).unwrap();
    assert_refused(
        dir.path(),
        &model,
        &[
            "model.safetensors does not match the sha256 of polrec.json",
            &format!("expected {sha256}"),
        ],
    );
}

#[test]
fn the_embedded_model_carries_a_checksum_that_matches() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/polrec-minilm");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("polrec.json")).unwrap()).unwrap();
    let weights = std::fs::read(dir.join("model.safetensors")).unwrap();
    assert_eq!(
        manifest["sha256"].as_str(),
        Some(polrec::model::classifier::sha256_hex(&weights).as_str()),
        "models/polrec-minilm/polrec.json must hold the sha256 of model.safetensors (`polrec train` writes it)"
    );
    // and the embedded copy passes the check at load
    polrec::Classifier::embedded().unwrap();
}

#[test]
fn a_model_trained_on_own_country_reads_the_speaker_of_each_record() {
    let (dir, model) = tiny();
    edit_json(&model.join("polrec.json"), |m| {
        m["own_country"] = true.into()
    });
    let input = [
        r#"{"iso3": "KAZ", "text": "Kazakhstan will host the talks."}"#,
        r#"{"text": "My country will host the talks."}"#,
        r#"{"iso3": "FRA", "text": "Kazakhstan will host the talks."}"#,
        r#"{"text": "Kazakhstan will host the talks."}"#,
        r#"{"delegation": "Kazakhstan", "text": "Kazakhstan will host the talks."}"#,
    ]
    .join("\n");
    std::fs::write(dir.path().join("in.jsonl"), input).unwrap();
    std::fs::write(
        dir.path().join("KAZ_78_2023.txt"),
        "Kazakhstan will host the talks.\n",
    )
    .unwrap();
    let out = Command::cargo_bin("polrec")
        .unwrap()
        .current_dir(dir.path())
        .args(["label", "--quiet", "--model"])
        .arg(&model)
        .args(["-o", "out.jsonl", "in.jsonl", "KAZ_78_2023.txt"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = common::json_lines(&std::fs::read(dir.path().join("out.jsonl")).unwrap());
    assert_eq!(records.len(), 6);
    let scores = |i: usize| records[i]["scores"].to_string();
    // Said by Kazakhstan (an iso3 field, a delegation field, a UNGDC file name), the
    // sentence is read as "My country will …"; said by France or by no one known, as it is.
    assert_eq!(scores(0), scores(1));
    assert_eq!(scores(4), scores(1));
    assert_eq!(scores(5), scores(1));
    assert_eq!(scores(2), scores(3));
    assert_ne!(
        scores(0),
        scores(2),
        "the tiny model tells the two inputs apart"
    );
    // The output keeps the sentence's own words.
    assert_eq!(records[0]["text"], "Kazakhstan will host the talks.");
    assert_eq!(records[5]["text"], "Kazakhstan will host the talks.");
}
