//! Two reference labellers that the model is measured against: a keyword rule and a
//! zero-shot rule (cosine similarity to descriptions of the labels).

use super::embedder::{normalise, Embedder};
use super::Label;
use crate::Result;

/// Labels by surface cues: "we will", "my country has" … → commitment; modal verbs and
/// verbs of asking → call to action; anything else → context.
pub fn keyword_rule(sentence: &str) -> Label {
    let s = format!(" {} ", sentence.to_lowercase());
    const COMMITMENT: [&str; 14] = [
        " we will ",
        " we shall ",
        " we are committed",
        " we remain committed",
        " reaffirms its",
        " we reaffirm our",
        " my country has ",
        " my government has ",
        " my country will ",
        " my government will ",
        " we stand ready",
        " we have ",
        " we are ",
        " my delegation will ",
    ];
    const CALL: [&str; 13] = [
        " must ",
        " should ",
        " need to ",
        " needs to ",
        " urge ",
        " call on ",
        " call upon ",
        " let us ",
        " it is essential",
        " it is imperative",
        " we encourage ",
        " we support ",
        " ought to ",
    ];
    if CALL.iter().any(|k| s.contains(k)) {
        Label::CallToAction
    } else if COMMITMENT.iter().any(|k| s.contains(k)) {
        Label::Commitment
    } else {
        Label::Context
    }
}

/// Descriptions of the labels that the zero-shot rule compares sentences with.
const DESCRIPTIONS: [&str; 3] = [
    "We urge all States and the international community to take action; it must be done.",
    "My country commits to act; we will contribute and we remain committed to our pledge.",
    "Background facts, history, thanks and assessments of the situation.",
];

/// Labels each sentence by the label description whose embedding is nearest (cosine).
pub struct ZeroShot {
    embedder: Embedder,
    prototypes: Vec<Vec<f32>>,
}

impl ZeroShot {
    /// Embeds the label descriptions with `embedder` (normally the base encoder).
    pub fn new(embedder: Embedder) -> Result<ZeroShot> {
        let mut prototypes = embedder.embed(&DESCRIPTIONS)?;
        normalise(&mut prototypes);
        Ok(ZeroShot {
            embedder,
            prototypes,
        })
    }

    /// The nearest label of each sentence.
    pub fn classify(&self, sentences: &[&str]) -> Result<Vec<Label>> {
        let mut rows = self.embedder.embed(sentences)?;
        normalise(&mut rows);
        Ok(rows
            .iter()
            .map(|r| {
                let sims: Vec<f32> = self
                    .prototypes
                    .iter()
                    .map(|p| p.iter().zip(r).map(|(a, b)| a * b).sum())
                    .collect();
                let best = (0..3).fold(0, |b, i| if sims[i] > sims[b] { i } else { b });
                Label::ALL[best]
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_rule_follows_its_cues() {
        assert_eq!(
            keyword_rule("All parties must cease fire."),
            Label::CallToAction
        );
        assert_eq!(
            keyword_rule("We will contribute $5 million."),
            Label::Commitment
        );
        assert_eq!(keyword_rule("The war began in 1991."), Label::Context);
    }
}
