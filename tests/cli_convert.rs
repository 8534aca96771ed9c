//! `polrec convert`: a model rewritten in another storage form loads (its new checksum
//! in `polrec.json`), and the shipped form (int8 with 4-bit word embeddings) → f32 → that
//! form gives back the very same weights.

use std::path::Path;

use assert_cmd::Command;

fn convert(from: &Path, to: &Path, storage: &str) {
    let out = Command::cargo_bin("polrec")
        .unwrap()
        .arg("convert")
        .args([from, to])
        .args(["--storage", storage])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("polrec.json")).unwrap()).unwrap()
}

#[test]
fn a_converted_model_loads_and_the_shipped_form_round_trips_exactly() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/polrec-minilm");
    let tmp = tempfile::tempdir().unwrap();
    let (f32_dir, int8_dir) = (tmp.path().join("f32"), tmp.path().join("int8-emb4"));
    convert(&shipped, &f32_dir, "f32");
    let f32_bytes = std::fs::read(f32_dir.join("model.safetensors")).unwrap();
    assert_eq!(
        manifest(&f32_dir)["sha256"],
        polrec::model::classifier::sha256_hex(&f32_bytes).as_str(),
        "the checksum of the rewritten weights"
    );
    assert_ne!(manifest(&f32_dir)["sha256"], manifest(&shipped)["sha256"]);
    polrec::Classifier::from_dir(&f32_dir).unwrap();

    // The f32 values are the codes times their scales (plus the group minimum for the
    // 4-bit embeddings), so quantising them again finds the same scales and codes.
    convert(&f32_dir, &int8_dir, "int8-emb4");
    assert!(
        std::fs::read(int8_dir.join("model.safetensors")).unwrap()
            == std::fs::read(shipped.join("model.safetensors")).unwrap(),
        "int8-emb4 -> f32 -> int8-emb4 changed the weights"
    );
    assert_eq!(manifest(&int8_dir), manifest(&shipped));
}

#[test]
fn the_shipped_weights_stay_under_20_mib() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/polrec-minilm/model.safetensors");
    let bytes = std::fs::metadata(path).unwrap().len();
    assert!(bytes < 20 << 20, "model.safetensors is {bytes} bytes");
}
