//! The classifier: tokenizer, encoder, head and loading.

pub mod baselines;
pub mod bert;
pub mod classifier;
pub mod embedder;
pub mod head;
pub mod kernels;
pub mod metrics;
pub mod tokenizer;
pub mod train;
pub mod weights;

pub use classifier::{Classifier, LabelledSentence};

use serde::{Deserialize, Serialize};

pub mod train_data;

/// One of the three labels of `LABELS.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// Asks someone to act.
    CallToAction,
    /// Binds the speaker to act.
    Commitment,
    /// Everything else.
    Context,
}

impl Label {
    /// All labels, in the order of the model's outputs.
    pub const ALL: [Label; 3] = [Label::CallToAction, Label::Commitment, Label::Context];

    /// The label's name as written in records (`call_to_action`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Label::CallToAction => "call_to_action",
            Label::Commitment => "commitment",
            Label::Context => "context",
        }
    }

    /// Parses a label name as written in records.
    pub fn parse(s: &str) -> Option<Label> {
        Label::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// Position of the label in [`Label::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Probabilities of the three labels, summing to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Probability of `call_to_action`.
    pub call_to_action: f32,
    /// Probability of `commitment`.
    pub commitment: f32,
    /// Probability of `context`.
    pub context: f32,
}

/// The label of one sentence with its probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The most probable label.
    pub label: Label,
    /// All three probabilities.
    pub scores: Scores,
}
