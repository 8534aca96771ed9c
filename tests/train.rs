//! Training: gradients reach the embeddings (the differentiable layer norm), and a run
//! on a tiny set is reproducible.

mod common;

use std::collections::HashMap;

use candle_core::{Device, Tensor, Var};
use polrec::model::bert::{fuse_qkv, Encoder, EncoderConfig, Mode};
use polrec::model::train::{train, BaseModel, SeededMasks, TrainConfig};
use polrec::model::train_data::Example;
use polrec::model::weights::Storage;
use polrec::Label;
use rand::SeedableRng;

#[test]
fn gradients_reach_the_embeddings() {
    let config: EncoderConfig = serde_json::from_str(common::TINY_CONFIG).unwrap();
    let mut w: HashMap<String, Tensor> = common::tiny_weights(1, false).into_iter().collect();
    fuse_qkv(&mut w, config.num_hidden_layers).unwrap();
    let vars: HashMap<String, Var> = w
        .iter()
        .map(|(k, t)| (k.clone(), Var::from_tensor(t).unwrap()))
        .collect();
    let tensors: HashMap<String, Tensor> = vars
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    let encoder = Encoder::from_tensors(config, &tensors).unwrap();
    let ids = Tensor::new(
        &[[101u32, 2057, 3198, 102], [101, 2224, 102, 0]],
        &Device::Cpu,
    )
    .unwrap();
    let mask = Tensor::new(&[[1f32, 1., 1., 1.], [1., 1., 1., 0.]], &Device::Cpu).unwrap();
    let mut masks = SeededMasks(rand::rngs::StdRng::seed_from_u64(0));
    let hidden = encoder
        .forward(&ids, &mask, Mode::Train { dropout: 0.1 }, &mut masks)
        .unwrap();
    let pooled = Encoder::mean_pool(&hidden, &mask).unwrap();
    let loss = pooled.sqr().unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let word = &vars["embeddings.word_embeddings.weight"];
    let g = grads
        .get(word.as_tensor())
        .expect("the word embeddings receive a gradient");
    let row: Vec<f32> = g.get(2057).unwrap().to_vec1().unwrap();
    assert!(
        row.iter().any(|v| v.abs() > 0.0),
        "gradient of a used token is zero"
    );
    let unused: Vec<f32> = g.get(5000).unwrap().to_vec1().unwrap();
    assert!(
        unused.iter().all(|v| *v == 0.0),
        "an unused token got a gradient"
    );
    // And the first layer norm, which a fused kernel would have cut off.
    assert!(grads
        .get(vars["embeddings.LayerNorm.weight"].as_tensor())
        .is_some());
}

fn tiny_examples() -> Vec<Example> {
    let texts = [
        (
            "We urge all States to ratify the treaty.",
            Label::CallToAction,
        ),
        ("The Council must act now.", Label::CallToAction),
        ("Let us work together.", Label::CallToAction),
        ("It is essential to fund the appeal.", Label::CallToAction),
        ("We will contribute troops.", Label::Commitment),
        ("My country has trained police officers.", Label::Commitment),
        ("We remain committed to the Charter.", Label::Commitment),
        ("We stand ready to host the talks.", Label::Commitment),
        ("The war began in 1991.", Label::Context),
        ("Thank you, Mr. President.", Label::Context),
        ("We condemn the attack.", Label::Context),
        ("Poverty fell by a third.", Label::Context),
    ];
    (0..3)
        .flat_map(|_| texts.iter())
        .map(|(t, l)| Example {
            text: t.to_string(),
            label: *l,
            weight: 1.0,
        })
        .collect()
}

#[test]
fn training_on_a_tiny_set_is_reproducible() {
    let base_dir = tempfile::tempdir().unwrap();
    common::write_tiny_model(base_dir.path(), 2, false);
    let base = BaseModel::from_dir(base_dir.path()).unwrap();
    let cfg = TrainConfig {
        epochs: 2,
        batch_size: 8,
        validation: 0.25,
        patience: 2,
        learning_rate: 1e-3,
        ..TrainConfig::default()
    };
    let examples = tiny_examples();
    let out = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    for run in 0..2 {
        let (trained, report) = train(&base, &examples, &cfg, &mut |_| {}).unwrap();
        assert_eq!(report.epochs.len(), 2);
        assert!(report.epochs.iter().all(|e| e.train_loss.is_finite()));
        let dir = out.path().join(format!("run{run}"));
        trained.save(&base, Storage::F32, &dir).unwrap();
        bytes.push(std::fs::read(dir.join("model.safetensors")).unwrap());
        // polrec.json carries the checksum of the weights written.
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("polrec.json")).unwrap()).unwrap();
        let sha256 = polrec::model::classifier::sha256_hex(bytes.last().unwrap());
        assert_eq!(manifest["sha256"], sha256.as_str());
        // The written directory loads as a classifier.
        polrec::Classifier::from_dir(&dir).unwrap();
    }
    assert_eq!(
        bytes[0], bytes[1],
        "two runs with one seed gave different weights"
    );
    let base_bytes = std::fs::read(base_dir.path().join("model.safetensors")).unwrap();
    assert_ne!(bytes[0].len(), 0);
    assert_ne!(bytes[0], base_bytes);
}
