//! The classifier: tokenizer, encoder, head and loading.

pub mod baselines;
pub mod bert;
pub mod checkpoint;
pub mod classifier;
pub mod embedder;
pub mod head;
pub mod kernels;
pub mod metrics;
pub mod optim;
pub mod row_ops;
pub mod tokenizer;
pub mod train;
pub mod weights;

pub use classifier::{Classifier, LabelledSentence};

use serde::{Deserialize, Serialize};

pub mod train_data;

/// One of the three labels of `LABELS.md`.
///
/// Read from records by [`Label::parse`], so that hand-labelled files may spell the names
/// `Call to action` or `call-to-action`; always written as `call_to_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
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

    /// Parses a label name as written in records (`call_to_action`, …), also in any case,
    /// around spaces, and with spaces or hyphens for the underscores (`Call to action`).
    pub fn parse(s: &str) -> Option<Label> {
        let exact = |name: &str| Label::ALL.into_iter().find(|l| l.as_str() == name);
        exact(s).or_else(|| {
            let name: String = s
                .trim()
                .chars()
                .map(|c| match c {
                    ' ' | '-' => '_',
                    c => c.to_ascii_lowercase(),
                })
                .collect();
            exact(&name)
        })
    }

    /// Position of the label in [`Label::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Label::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown label {name:?}, expected call_to_action, commitment or context"
            ))
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_are_read_in_any_case_with_spaces_or_hyphens_and_written_one_way() {
        for name in [
            "call_to_action",
            "Call to action",
            " CALL-TO-ACTION ",
            "call to_action",
        ] {
            assert_eq!(Label::parse(name), Some(Label::CallToAction), "{name:?}");
        }
        assert_eq!(Label::parse("Commitment"), Some(Label::Commitment));
        for name in ["call", "calltoaction", "pledge", ""] {
            assert_eq!(Label::parse(name), None, "{name:?}");
        }
        let read: Label = serde_json::from_str("\"Call to action\"").unwrap();
        assert_eq!(serde_json::to_string(&read).unwrap(), "\"call_to_action\"");
        let err = serde_json::from_str::<Label>("\"call\"").unwrap_err();
        assert!(err.to_string().contains("unknown label \"call\""), "{err}");
    }
}
