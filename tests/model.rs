//! The encoder and classifier: reference embeddings, the embedded model, batching,
//! loading from a directory, int8 storage.

mod common;

use polrec::model::embedder::Embedder;
use polrec::model::weights::{self, Storage};
use polrec::Classifier;

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

#[test]
fn base_encoder_matches_reference_embeddings() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/model/reference-embeddings.json")).unwrap();
    let sentences: Vec<&str> = fixture["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let expected: Vec<Vec<f32>> = serde_json::from_value(fixture["embeddings"].clone()).unwrap();
    let embedder = Embedder::from_dir(&common::base_model_dir()).unwrap();
    let got = embedder.embed(&sentences).unwrap();
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        let c = cosine(g, e);
        assert!(c >= 0.999, "sentence {i} ({}): cosine {c}", sentences[i]);
    }
}

#[test]
fn embedded_model_loads_and_gives_probabilities() {
    let c = Classifier::embedded().unwrap();
    let p = c
        .classify(&["We urge all parties to return to the table.", "Thank you."])
        .unwrap();
    assert_eq!(p.len(), 2);
    for x in p {
        let s = x.scores.call_to_action + x.scores.commitment + x.scores.context;
        assert!((s - 1.0).abs() < 1e-5, "{s}");
    }
    assert!(c.classify(&[]).unwrap().is_empty());
}

#[test]
fn a_batch_equals_one_sentence_at_a_time() {
    let c = Classifier::embedded().unwrap();
    let sentences = [
        "We call on the Security Council to act.",
        "My Government has pledged $20 million to the fund, and we will disburse it this year.",
        "The conflict began in the spring of 2011, when protests spread across the country and were met with force.",
        "Thank you, Mr. President.",
        "It is essential to protect humanitarian workers.",
        "Peace.",
    ];
    let batch = c.classify(&sentences).unwrap();
    for (s, b) in sentences.iter().zip(&batch) {
        let one = c.classify(&[s]).unwrap()[0];
        assert_eq!(one.label, b.label, "{s}");
        for (x, y) in [
            (one.scores.call_to_action, b.scores.call_to_action),
            (one.scores.commitment, b.scores.commitment),
            (one.scores.context, b.scores.context),
        ] {
            assert!((x - y).abs() < 1e-4, "{s}: {x} vs {y}");
        }
    }
}

#[test]
fn from_dir_loads_a_model_directory_and_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    common::write_tiny_model(dir.path(), 7, true);
    let c = Classifier::from_dir(dir.path()).unwrap();
    assert_eq!(c.classify(&["A sentence."]).unwrap().len(), 1);
    std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
    let err = Classifier::from_dir(dir.path()).err().unwrap().to_string();
    assert!(err.contains("tokenizer.json"), "{err}");
}

#[test]
fn int8_storage_keeps_embeddings_close() {
    let dir = tempfile::tempdir().unwrap();
    common::write_tiny_model(dir.path(), 3, true);
    let f32_model = Classifier::from_dir(dir.path()).unwrap();
    let tensors = common::tiny_weights(3, true);
    weights::write(
        &tensors,
        Storage::Int8,
        &dir.path().join("model.safetensors"),
    )
    .unwrap();
    let int8_model = Classifier::from_dir(dir.path()).unwrap();
    let s = ["Sanctions must be lifted.", "We will host the talks."];
    let (a, b) = (f32_model.embed(&s).unwrap(), int8_model.embed(&s).unwrap());
    for (x, y) in a.iter().zip(&b) {
        assert!(cosine(x, y) > 0.99, "{}", cosine(x, y));
    }
}

#[test]
fn truncated_weights_give_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    common::write_tiny_model(dir.path(), 5, true);
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = Classifier::from_dir(dir.path()).err().unwrap().to_string();
    assert!(err.contains("safetensors"), "{err}");
}

#[test]
fn a_model_trained_on_own_country_reads_the_speakers_country_as_my_country() {
    use polrec::text::country::Country;
    let dir = tempfile::tempdir().unwrap();
    common::write_tiny_model(dir.path(), 11, true);
    let kaz = Country::from_delegation("KAZ");
    let sentence = "Kazakhstan will host the talks.";

    // A manifest without `own_country` (older models): sentences are read as they are.
    let plain = Classifier::from_dir(dir.path()).unwrap();
    assert_eq!(plain.model_input(sentence, kaz), sentence);

    let manifest = dir.path().join("polrec.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["own_country"] = true.into();
    std::fs::write(&manifest, m.to_string()).unwrap();
    let own = Classifier::from_dir(dir.path()).unwrap();
    assert_eq!(
        own.model_input(sentence, kaz),
        "My country will host the talks."
    );
    assert_eq!(
        own.model_input(sentence, Country::from_delegation("FRA")),
        sentence
    );
    assert_eq!(own.model_input(sentence, None), sentence);

    // classify_said_by labels what the model reads.
    let said = own
        .classify_said_by(&[(sentence, Some("Kazakhstan")), (sentence, None)])
        .unwrap();
    let direct = own
        .classify(&["My country will host the talks.", sentence])
        .unwrap();
    for (a, b) in said.iter().zip(&direct) {
        assert_eq!(a.label, b.label);
        assert!((a.scores.commitment - b.scores.commitment).abs() < 1e-5);
    }
}

#[test]
fn the_shipped_tokenizer_is_the_base_one_without_fixed_length_as_training_writes_it() {
    let base = std::fs::read(common::base_model_dir().join("tokenizer.json")).unwrap();
    let shipped = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models/polrec-minilm/tokenizer.json"),
    )
    .unwrap();
    assert_ne!(base, shipped, "the base file pads to 128");
    let written = polrec::model::tokenizer::without_fixed_length(&base).unwrap();
    let json = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap();
    assert!(
        json(&written) == json(&shipped),
        "tokenizer.json as training writes it differs from the shipped one"
    );
}
