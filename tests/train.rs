//! Training: gradients reach the embeddings (the differentiable layer norm), a run on a
//! tiny set is reproducible, a run paused and resumed from its checkpoints ends with the
//! weights of one that ran through, and train-only examples are never held out; averaging
//! models is a weight-wise mean.

mod common;

use std::collections::HashMap;

use candle_core::{Device, Tensor, Var};
use polrec::model::bert::{fuse_qkv, Encoder, EncoderConfig, Mode};
use polrec::model::checkpoint::Checkpoints;
use polrec::model::optim::AdamW;
use polrec::model::train::{
    average, train, train_resumable, BaseModel, Outcome, Resumable, SeededMasks, TrainConfig,
};
use polrec::model::train_data::Example;
use polrec::model::weights::Storage;
use polrec::Label;
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;

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
    let mut masks = SeededMasks(ChaCha12Rng::seed_from_u64(0));
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

/// A tiny two-layer base model, and the directory it lives in.
fn tiny_base() -> (tempfile::TempDir, BaseModel) {
    let dir = tempfile::tempdir().unwrap();
    common::write_tiny_model(dir.path(), 2, false);
    let base = BaseModel::from_dir(dir.path()).unwrap();
    (dir, base)
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
        .map(|(t, l)| Example::new(*t, *l))
        .collect()
}

#[test]
fn training_on_a_tiny_set_is_reproducible() {
    let (base_dir, base) = tiny_base();
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

/// The generator behind shuffling and dropout is `rand`'s `StdRng` stream, so that
/// recipes trained before checkpoints existed give the same weights now.
#[test]
fn the_training_generator_is_the_std_rng_stream() {
    let mut std = rand::rngs::StdRng::seed_from_u64(14);
    let mut chacha = ChaCha12Rng::seed_from_u64(14);
    for _ in 0..1000 {
        assert_eq!(std.next_u32(), chacha.next_u32());
    }
    let (mut a, mut b): (Vec<u32>, Vec<u32>) = ((0..500).collect(), (0..500).collect());
    a.shuffle(&mut std);
    b.shuffle(&mut chacha);
    assert_eq!(a, b);
}

/// polrec's AdamW (whose state a checkpoint saves) steps exactly as candle-nn's.
#[test]
fn adamw_steps_as_candle_nn_does() {
    use candle_nn::Optimizer;
    let start = Tensor::new(&[[0.5f32, -1.25, 2.0], [0.0, 3.5, -0.75]], &Device::Cpu).unwrap();
    let params = candle_nn::ParamsAdamW {
        lr: 0.05,
        weight_decay: 0.01,
        ..Default::default()
    };
    let (ours, theirs) = (
        Var::from_tensor(&start).unwrap(),
        Var::from_tensor(&start).unwrap(),
    );
    let mut a = AdamW::new(vec![ours.clone()], params.clone()).unwrap();
    let mut b = candle_nn::AdamW::new(vec![theirs.clone()], params).unwrap();
    for step in 0..5 {
        let lr = 0.05 / (step + 1) as f64;
        a.set_learning_rate(lr);
        b.set_learning_rate(lr);
        let loss = |v: &Var| {
            (v.as_tensor().sqr().unwrap() * 3.0)
                .unwrap()
                .sin()
                .unwrap()
                .sum_all()
                .unwrap()
        };
        a.backward_step(&loss(&ours)).unwrap();
        b.backward_step(&loss(&theirs)).unwrap();
        let x: Vec<Vec<f32>> = ours.as_tensor().to_vec2().unwrap();
        let y: Vec<Vec<f32>> = theirs.as_tensor().to_vec2().unwrap();
        assert_eq!(x, y, "step {step}");
    }
    assert_ne!(
        ours.as_tensor().to_vec2::<f32>().unwrap(),
        start.to_vec2::<f32>().unwrap()
    );
    assert_eq!(a.steps(), 5);
}

#[test]
fn a_paused_and_resumed_run_ends_as_one_that_ran_through() {
    let (_base_dir, base) = tiny_base();
    let cfg = TrainConfig {
        epochs: 3,
        batch_size: 8,
        validation: 0.25,
        patience: 3,
        learning_rate: 1e-3,
        ..TrainConfig::default()
    };
    let examples = tiny_examples();
    let out = tempfile::tempdir().unwrap();
    let weights = |trained: polrec::model::train::Trained, name: &str| {
        let dir = out.path().join(name);
        trained.save(&base, Storage::F32, &dir).unwrap();
        std::fs::read(dir.join("model.safetensors")).unwrap()
    };
    let (straight, straight_report) = train(&base, &examples, &cfg, &mut |_| {}).unwrap();
    let straight = weights(straight, "straight");

    let dir = out.path().join("checkpoints");
    let resumable = |pause_after| Resumable {
        checkpoints: Checkpoints::new(&dir),
        pause_after,
    };
    let mut said = Vec::new();
    for expected in [1, 2] {
        let mut progress = |m: &str| said.push(m.to_owned());
        match train_resumable(&base, &examples, &cfg, &resumable(Some(1)), &mut progress) {
            Ok(Outcome::Paused { epoch }) => assert_eq!(epoch, expected),
            Ok(Outcome::Done(_)) => panic!("the run did not pause after epoch {expected}"),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(said.iter().any(|m| m.starts_with("resuming after epoch 1")));
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        files.len(),
        2,
        "only the latest checkpoint is kept: {files:?}"
    );

    // Another run (another seed) is not resumed from this one's state.
    let other = TrainConfig {
        seed: 99,
        ..cfg.clone()
    };
    match train_resumable(&base, &examples, &other, &resumable(None), &mut |_| {}) {
        Err(polrec::Error::Checkpoint { message, .. }) => {
            assert!(message.contains("another run"), "{message}")
        }
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("a checkpoint of another run was resumed"),
    }

    let Outcome::Done(done) =
        train_resumable(&base, &examples, &cfg, &resumable(None), &mut |_| {}).unwrap()
    else {
        panic!("the resumed run paused again");
    };
    let (resumed, resumed_report) = *done;
    assert_eq!(resumed_report.epochs.len(), 3);
    assert_eq!(resumed_report.best_epoch, straight_report.best_epoch);
    for (a, b) in resumed_report.epochs.iter().zip(&straight_report.epochs) {
        assert_eq!(a.train_loss, b.train_loss);
        assert_eq!(a.validation_macro_f1, b.validation_macro_f1);
    }
    assert_eq!(
        weights(resumed, "resumed"),
        straight,
        "the resumed run ended with other weights"
    );
}

#[test]
fn train_only_examples_are_trained_on_and_never_held_out() {
    let (_base_dir, base) = tiny_base();
    let cfg = TrainConfig {
        epochs: 1,
        batch_size: 8,
        validation: 0.25,
        ..TrainConfig::default()
    };
    let examples = tiny_examples();
    let (_, plain) = train(&base, &examples, &cfg, &mut |_| {}).unwrap();
    let mut more = examples.clone();
    more.extend(
        tiny_examples()
            .into_iter()
            .take(10)
            .map(Example::for_training_only),
    );
    let (_, with_extra) = train(&base, &more, &cfg, &mut |_| {}).unwrap();
    assert_eq!(plain.validation_size, 9);
    assert_eq!(with_extra.validation_size, plain.validation_size);
    assert_eq!(with_extra.train_size, plain.train_size + 10);
}

#[test]
fn averaging_models_takes_the_mean_of_every_weight() {
    let (_base_dir, base) = tiny_base();
    let examples = tiny_examples();
    let cfg = |seed| TrainConfig {
        epochs: 1,
        batch_size: 8,
        validation: 0.25,
        learning_rate: 1e-3,
        seed,
        ..TrainConfig::default()
    };
    let out = tempfile::tempdir().unwrap();
    let read = |dir: &std::path::Path| {
        let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
        polrec::model::weights::read(&bytes, &Device::Cpu).unwrap()
    };
    // Two members from one base, trained with different shuffles and dropout masks.
    let mut members = Vec::new();
    for (i, seed) in [3u64, 4].into_iter().enumerate() {
        let (trained, _) = train(&base, &examples, &cfg(seed), &mut |_| {}).unwrap();
        let dir = out.path().join(format!("m{i}"));
        trained.save(&base, Storage::F32, &dir).unwrap();
        members.push(read(&dir));
    }
    let (soup, report) = average(&base, &examples, &cfg(3), &members).unwrap();
    assert_eq!(report.members_validation_macro_f1.len(), 2);
    assert_eq!(report.best_epoch, 0);
    let dir = out.path().join("soup");
    soup.save(&base, Storage::F32, &dir).unwrap();
    polrec::Classifier::from_dir(&dir).unwrap();
    let mean = read(&dir);
    assert_eq!(mean.len(), members[0].len());
    for (name, got) in &mean {
        let a: Vec<f32> = members[0][name].flatten_all().unwrap().to_vec1().unwrap();
        let b: Vec<f32> = members[1][name].flatten_all().unwrap().to_vec1().unwrap();
        let got: Vec<f32> = got.flatten_all().unwrap().to_vec1().unwrap();
        assert!(
            a != b || name.starts_with("embeddings.position"),
            "{name}: members alike"
        );
        for ((x, y), m) in a.iter().zip(&b).zip(&got) {
            assert!(
                (m - (x + y) / 2.0).abs() <= 1e-6,
                "{name}: {m} is not the mean of {x} and {y}"
            );
        }
    }
    // One member alone is that member again.
    let (same, report) = average(&base, &examples, &cfg(3), &members[..1]).unwrap();
    let dir = out.path().join("one");
    same.save(&base, Storage::F32, &dir).unwrap();
    assert_eq!(
        read(&dir)["head.weight"].to_vec2::<f32>().unwrap(),
        members[0]["head.weight"].to_vec2::<f32>().unwrap()
    );
    assert_eq!(
        report.members_validation_macro_f1[0],
        report.validation.macro_f1
    );
    assert!(average(&base, &examples, &cfg(3), &[]).is_err());
}

#[test]
fn a_trained_model_directory_is_trained_further_from_its_own_head() {
    let (_base_dir, base) = tiny_base();
    assert!(base.head.is_none(), "a plain encoder has no head");
    let examples = tiny_examples();
    let cfg = TrainConfig {
        epochs: 1,
        batch_size: 8,
        validation: 0.25,
        learning_rate: 1e-3,
        ..TrainConfig::default()
    };
    let out = tempfile::tempdir().unwrap();
    let read = |dir: &std::path::Path| {
        let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
        polrec::model::weights::read(&bytes, &Device::Cpu).unwrap()
    };
    let (trained, _) = train(&base, &examples, &cfg, &mut |_| {}).unwrap();
    let first = out.path().join("first");
    trained.save(&base, Storage::F32, &first).unwrap();
    let model = BaseModel::from_dir(&first).unwrap();
    let (w, b) = model.head.as_ref().expect("the model's head is read");
    assert_eq!(w.dims(), [3, base.config.hidden_size]);
    assert_eq!(b.dims(), [3]);
    // With a learning rate of 0 nothing moves: the run ends with the model it started
    // from, head included (a fresh head would differ).
    let still = TrainConfig {
        learning_rate: 0.0,
        ..cfg.clone()
    };
    let (again, _) = train(&model, &examples, &still, &mut |_| {}).unwrap();
    let second = out.path().join("second");
    again.save(&model, Storage::F32, &second).unwrap();
    let (a, b) = (read(&first), read(&second));
    assert_eq!(a.len(), b.len());
    for (name, t) in &a {
        let x: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        let y: Vec<f32> = b[name].flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(x, y, "{name} moved");
    }
    // Training goes on from there: with a learning rate the weights move.
    let (further, _) = train(&model, &examples, &cfg, &mut |_| {}).unwrap();
    let third = out.path().join("third");
    further.save(&model, Storage::F32, &third).unwrap();
    assert_ne!(
        read(&third)["head.weight"].to_vec2::<f32>().unwrap(),
        a["head.weight"].to_vec2::<f32>().unwrap()
    );
}

#[test]
fn the_shipped_model_can_be_trained_further() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/polrec-minilm");
    let model = BaseModel::from_dir(&dir).unwrap();
    let (w, b) = model
        .head
        .as_ref()
        .expect("the shipped model's head is read");
    assert_eq!(w.dims(), [3, 384]);
    assert_eq!(b.dims(), [3]);
    // Every encoder weight is there, read back as f32 from its int8 and 4-bit forms.
    assert_eq!(
        model.weights["embeddings.word_embeddings.weight"].dims(),
        [30522, 384]
    );
    assert_eq!(model.weights.len(), 101);
}

#[test]
fn a_split_seed_holds_out_the_same_sentences_under_other_seeds() {
    let (_base_dir, base) = tiny_base();
    let examples = tiny_examples();
    let cfg = |seed, split_seed| TrainConfig {
        epochs: 1,
        batch_size: 8,
        validation: 0.25,
        learning_rate: 1e-3,
        seed,
        split_seed,
        ..TrainConfig::default()
    };
    let run = |cfg: TrainConfig| {
        let (trained, report) = train(&base, &examples, &cfg, &mut |_| {}).unwrap();
        let mut held: Vec<usize> = report.held_out.iter().map(|h| h.example).collect();
        held.sort();
        let dir = tempfile::tempdir().unwrap();
        trained.save(&base, Storage::F32, dir.path()).unwrap();
        let bytes = std::fs::read(dir.path().join("model.safetensors")).unwrap();
        let w = polrec::model::weights::read(&bytes, &Device::Cpu).unwrap();
        (held, w["head.weight"].to_vec2::<f32>().unwrap())
    };
    let (held_3, head_3) = run(cfg(3, None));
    let (held_4_on_3, head_4_on_3) = run(cfg(4, Some(3)));
    let (held_4, _) = run(cfg(4, None));
    assert_eq!(
        held_4_on_3, held_3,
        "--split-seed 3 held out other sentences"
    );
    assert_ne!(head_4_on_3, head_3, "seed 4 trained like seed 3");
    assert_ne!(held_4, held_3, "seeds 3 and 4 drew the same split");
}
