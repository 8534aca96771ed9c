//! The sentence classifier: tokenizer, encoder and head loaded together, from the
//! binary itself, a local directory or the Hugging Face Hub.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::bert::{fuse_qkv, Encoder, EncoderConfig, Precision};
use super::embedder::{normalise, Embedder};
use super::head::Head;
use super::tokenizer::{Encoded, SentenceTokenizer};
use super::{weights, Prediction};
use crate::text::country::Country;
use crate::text::Sentence;
use crate::{Error, Result};

/// The files of a model directory, Hugging Face style.
pub const MODEL_FILES: [&str; 4] = [
    "config.json",
    "tokenizer.json",
    "model.safetensors",
    "polrec.json",
];

/// What `polrec.json` says about a classifier beyond the encoder's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Label names in the order of the head's outputs.
    pub labels: Vec<String>,
    /// Temperature dividing the logits (calibrated on held-out data).
    pub temperature: f32,
    /// Longest input in tokens; longer sentences are truncated.
    pub max_len: usize,
    /// SHA-256 of `model.safetensors` as 64 hex digits. Optional; when present the
    /// weights are checked against it at load, so that corrupt or mismatched weights
    /// are refused instead of giving wrong labels. [`Trained::save`](super::train::Trained::save)
    /// always writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The model was trained on sentences with the speaker's own country written as
    /// "my country" ([`Country::rewrite`]), and reads them so: see
    /// [`Classifier::model_input`]. Absent (false) in older models.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_country: bool,
}

/// The SHA-256 of `bytes` as 64 lowercase hex digits, as `polrec.json` stores it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Manifest {
    /// Writes `model.safetensors` (`tensors` stored as `storage`) and `polrec.json`
    /// (this manifest with the SHA-256 of those weights) into `dir`.
    pub fn write_with_weights(
        mut self,
        dir: &Path,
        tensors: &[(String, Tensor)],
        storage: weights::Storage,
    ) -> Result<()> {
        let write = |name: &str, bytes: &[u8]| -> Result<()> {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|source| Error::Io { path, source })
        };
        let bytes = weights::serialize(tensors, storage)?;
        self.sha256 = Some(sha256_hex(&bytes));
        write(MODEL_FILES[2], &bytes)?;
        write(
            MODEL_FILES[3],
            serde_json::to_string_pretty(&self)
                .expect("manifest serialises")
                .as_bytes(),
        )
    }
}

/// Checks `weights` against the checksum of the manifest, if it has one.
fn check_weights(manifest: &Manifest, weights: &[u8]) -> Result<()> {
    let Some(expected) = &manifest.sha256 else {
        return Ok(());
    };
    let actual = sha256_hex(weights);
    if actual.eq_ignore_ascii_case(expected.trim()) {
        return Ok(());
    }
    Err(Error::Model(format!(
        "model.safetensors does not match the sha256 of polrec.json (expected {expected}, found {actual}): \
         the weights are damaged or belong to another model"
    )))
}

/// Environment variable choosing the arithmetic of a loaded classifier: `int8` (the
/// default: int8 linear layers, on the stored int8 codes when the weights were stored
/// so) or `f32`. Int8 needs AVX2; other CPUs run f32 either way.
pub const PRECISION_VAR: &str = "POLREC_PRECISION";

/// The precision [`PRECISION_VAR`] asks for.
fn precision_from_env() -> Result<Precision> {
    match std::env::var(PRECISION_VAR) {
        Err(std::env::VarError::NotPresent) => Ok(Precision::Int8),
        Ok(v) if v.eq_ignore_ascii_case("int8") => Ok(Precision::Int8),
        Ok(v) if v.eq_ignore_ascii_case("f32") => Ok(Precision::F32),
        Ok(v) => Err(Error::Model(format!(
            "{PRECISION_VAR} is `{v}`: it must be `int8` or `f32`"
        ))),
        Err(e) => Err(Error::Model(format!("{PRECISION_VAR}: {e}"))),
    }
}

/// Encoder layers whose output gives the topic embeddings of [`Classifier::embed`].
pub const TOPIC_LAYERS: usize = 1;

/// A sentence with its label, as [`Classifier::label_text`] gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledSentence {
    /// The sentence and where it stands in the text.
    pub sentence: Sentence,
    /// Its label and probabilities.
    pub prediction: Prediction,
}

/// Labels sentences as call to action, commitment or context. `Send + Sync`: one
/// instance serves many threads.
///
/// ```
/// use polrec::{Classifier, Label};
///
/// let classifier = Classifier::embedded()?;
/// let p = classifier.classify(&["All parties must return to the negotiating table."])?;
/// assert_eq!(p[0].label, Label::CallToAction);
/// let s = classifier.label_text("Mr. Tan (Singapore): We will double our contribution. Thank you.")?;
/// assert_eq!(s[0].sentence.delegation.as_deref(), Some("Singapore"));
/// assert_eq!(s[0].prediction.label, Label::Commitment);
/// # Ok::<(), polrec::Error>(())
/// ```
pub struct Classifier {
    embedder: Embedder,
    head: Head,
    own_country: bool,
}

impl Classifier {
    /// Loads the default model, which is compiled into the binary: no file, no network.
    pub fn embedded() -> Result<Classifier> {
        Classifier::from_bytes(
            include_bytes!("../../models/polrec-minilm/config.json"),
            include_bytes!("../../models/polrec-minilm/tokenizer.json"),
            include_bytes!("../../models/polrec-minilm/model.safetensors"),
            include_bytes!("../../models/polrec-minilm/polrec.json"),
        )
    }

    /// Loads `model` — a directory if one exists at that path, else a Hugging Face Hub
    /// id — or, with `None`, the embedded model. A path that exists but is not a
    /// directory, or that cannot be a hub id (`org/name`), is an error naming it.
    pub fn load(model: Option<&str>) -> Result<Classifier> {
        let Some(model) = model else {
            return Classifier::embedded();
        };
        let path = Path::new(model);
        if path.is_dir() {
            Classifier::from_dir(path)
        } else if path.exists() {
            Err(Error::Model(format!(
                "{model}: not a directory (a model directory holds {})",
                MODEL_FILES.join(", ")
            )))
        } else if is_hub_id(model) {
            Classifier::from_hub(model)
        } else {
            Err(Error::Model(format!("{model}: no such model directory")))
        }
    }

    /// Loads a model directory holding [`MODEL_FILES`]; errors name the directory
    /// and the file at fault.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Classifier> {
        let dir = dir.as_ref();
        let read = |name: &str| -> Result<Vec<u8>> {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| Error::Model(format!("{}: {e}", path.display())))
        };
        let [c, t, w, m] = MODEL_FILES.map(read);
        Classifier::from_bytes(&c?, &t?, &w?, &m?)
            .map_err(|e| within(&dir.display().to_string(), e))
    }

    /// Loads a model from the Hugging Face Hub by id (`org/name`): the local cache first
    /// (`HF_HOME`, default `~/.cache/huggingface`), then a download. With
    /// `HF_HUB_OFFLINE=1` only the cache is used.
    pub fn from_hub(id: &str) -> Result<Classifier> {
        let offline = std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| v == "1" || v == "true");
        let mut files = Vec::with_capacity(MODEL_FILES.len());
        for name in MODEL_FILES {
            let cached = hf_hub::Cache::from_env().model(id.to_string()).get(name);
            let path = match cached {
                Some(p) => p,
                None if offline => {
                    return Err(Error::Model(format!(
                        "{id}: `{name}` is not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
                    )))
                }
                None => hf_hub::api::sync::ApiBuilder::from_env()
                    .with_progress(false)
                    .build()
                    .and_then(|api| api.model(id.to_string()).get(name))
                    .map_err(|e| {
                        Error::Model(format!(
                            "{id}: no such directory, and `{name}` is not in the Hugging Face cache and could not be \
                             downloaded: {e}"
                        ))
                    })?,
            };
            files.push(std::fs::read(&path).map_err(|source| Error::Io { path, source })?);
        }
        Classifier::from_bytes(&files[0], &files[1], &files[2], &files[3])
            .map_err(|e| within(id, e))
    }

    /// Loads a model from the contents of its four files. The weights are checked
    /// against the `sha256` of the manifest when it has one; errors name the file at fault.
    pub fn from_bytes(
        config: &[u8],
        tokenizer: &[u8],
        weights: &[u8],
        manifest: &[u8],
    ) -> Result<Classifier> {
        let in_file = |name: &'static str| move |e: Error| within(name, e);
        let config: EncoderConfig = serde_json::from_slice(config)
            .map_err(|e| Error::Model(format!("config.json: {e}")))?;
        let manifest: Manifest = serde_json::from_slice(manifest)
            .map_err(|e| Error::Model(format!("polrec.json: {e}")))?;
        let expected: Vec<&str> = super::Label::ALL.iter().map(|l| l.as_str()).collect();
        if manifest.labels != expected {
            return Err(Error::Model(format!(
                "polrec.json: labels must be {expected:?}"
            )));
        }
        if !(manifest.temperature.is_finite() && manifest.temperature > 0.0) {
            return Err(Error::Model(format!(
                "polrec.json: temperature {} is not positive",
                manifest.temperature
            )));
        }
        if config.num_attention_heads == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            return Err(Error::Model(format!(
                "config.json: hidden_size {} is not a multiple of num_attention_heads {}",
                config.hidden_size, config.num_attention_heads
            )));
        }
        check_weights(&manifest, weights)?;
        // The linear layers' codes (the embeddings are only looked up, in f32).
        let stored = weights::read_int8(weights, |name| name.starts_with("encoder.layer."))
            .map_err(in_file("model.safetensors"))?;
        let w = weights::read(weights, &Device::Cpu).map_err(in_file("model.safetensors"))?;
        let (mut encoder, head) = encoder_and_head(w, config, manifest.temperature)?;
        if precision_from_env()? == Precision::Int8
            && !encoder
                .use_stored_int8(&stored)
                .map_err(|e| within("model.safetensors does not fit config.json", e))?
        {
            encoder.set_precision(Precision::Int8);
        }
        drop(stored);
        let max_len = manifest
            .max_len
            .min(encoder.config().max_position_embeddings);
        if max_len < 2 {
            return Err(Error::Model(format!(
                "max_len {} (polrec.json) or max_position_embeddings {} (config.json) leaves no room for a sentence",
                manifest.max_len,
                encoder.config().max_position_embeddings
            )));
        }
        let tokenizer =
            SentenceTokenizer::from_bytes(tokenizer, max_len).map_err(in_file("tokenizer.json"))?;
        Ok(Classifier {
            embedder: Embedder::new(tokenizer, encoder),
            head,
            own_country: manifest.own_country,
        })
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &SentenceTokenizer {
        self.embedder.tokenizer()
    }

    /// The arithmetic of the encoder's linear layers (chosen at load time by
    /// [`PRECISION_VAR`]).
    pub fn precision(&self) -> Precision {
        self.embedder.precision()
    }

    /// The same classifier with the encoder's linear layers at `precision` (see
    /// [`Encoder::set_precision`]).
    pub fn with_precision(self, precision: Precision) -> Classifier {
        Classifier {
            embedder: self.embedder.with_precision(precision),
            ..self
        }
    }

    /// What the model reads for `sentence` said by `speaker`: the sentence with the
    /// speaker's own country written as "my country" when the model was trained so
    /// ([`Manifest::own_country`]), else the sentence as it is.
    pub fn model_input<'t>(&self, sentence: &'t str, speaker: Option<Country>) -> Cow<'t, str> {
        match speaker {
            Some(country) if self.own_country => country.rewrite(sentence),
            _ => Cow::Borrowed(sentence),
        }
    }

    /// Labels sentences: one prediction each, in order. The sentences are read as they
    /// are; for sentences whose speaker is known, see [`Classifier::classify_said_by`].
    pub fn classify(&self, texts: &[&str]) -> Result<Vec<Prediction>> {
        let encoded = self.tokenizer().encode_all(texts)?;
        self.classify_encoded(&encoded.iter().collect::<Vec<_>>())
    }

    /// Labels sentences, each with the country of its speaker if known (an ISO alpha-3
    /// code or a name, see [`Country::from_delegation`]), so that "Kazakhstan
    /// reaffirms …" reads as a pledge when Kazakhstan says it: one prediction each, in order.
    pub fn classify_said_by(&self, sentences: &[(&str, Option<&str>)]) -> Result<Vec<Prediction>> {
        let inputs: Vec<Cow<str>> = sentences
            .iter()
            .map(|(text, speaker)| {
                self.model_input(text, speaker.and_then(Country::from_delegation))
            })
            .collect();
        self.classify(&inputs.iter().map(|t| t.as_ref()).collect::<Vec<_>>())
    }

    /// Labels sentences already tokenized, in length-sorted batches; predictions come
    /// back in input order.
    pub fn classify_encoded(&self, encoded: &[&Encoded]) -> Result<Vec<Prediction>> {
        match self.embedder.pooled(encoded)? {
            Some(p) => self.head.predict(&p),
            None => Ok(Vec::new()),
        }
    }

    /// Labels sentences and gives their topic embeddings ([`Classifier::embed`]) from
    /// the same encoder pass, for theme tagging; sentences already tokenized.
    pub fn classify_and_embed(
        &self,
        encoded: &[&Encoded],
    ) -> Result<(Vec<Prediction>, Vec<Vec<f32>>)> {
        match self.embedder.pooled_tapped(encoded, TOPIC_LAYERS)? {
            Some((p, topic)) => {
                let predictions = self.head.predict(&p)?;
                let mut rows = topic.to_vec2::<f32>()?;
                normalise(&mut rows);
                Ok((predictions, rows))
            }
            None => Ok((Vec::new(), Vec::new())),
        }
    }

    /// Topic embeddings of sentences, as used for theme tagging: the mean-pooled,
    /// L2-normalised hidden states after the first [`TOPIC_LAYERS`] layers (the top
    /// layers, fine-tuned for the labels, no longer tell topics apart).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encoded = self.tokenizer().encode_all(texts)?;
        match self
            .embedder
            .pooled_through(&encoded.iter().collect::<Vec<_>>(), TOPIC_LAYERS)?
        {
            Some(topic) => {
                let mut rows = topic.to_vec2::<f32>()?;
                normalise(&mut rows);
                Ok(rows)
            }
            None => Ok(Vec::new()),
        }
    }

    /// Splits a statement into sentences and labels each one, each read as said by the
    /// delegation of its verbatim-record header, if any.
    pub fn label_text(&self, text: &str) -> Result<Vec<LabelledSentence>> {
        let sentences = crate::text::split(text);
        let said: Vec<(&str, Option<&str>)> = sentences
            .iter()
            .map(|s| (s.text.as_str(), s.delegation.as_deref()))
            .collect();
        let predictions = self.classify_said_by(&said)?;
        Ok(sentences
            .into_iter()
            .zip(predictions)
            .map(|(sentence, prediction)| LabelledSentence {
                sentence,
                prediction,
            })
            .collect())
    }
}

/// The encoder and head held in a model's weights (checkpoint names, `head.*`
/// included), the head at `temperature`.
pub(crate) fn encoder_and_head(
    mut w: HashMap<String, Tensor>,
    config: EncoderConfig,
    temperature: f32,
) -> Result<(Encoder, Head)> {
    let head = Head::new(
        take_head(&mut w, "head.weight")?,
        take_head(&mut w, "head.bias")?,
        temperature,
    )
    .map_err(|e| within("model.safetensors", e))?;
    fuse_qkv(&mut w, config.num_hidden_layers).map_err(|e| within("model.safetensors", e))?;
    let encoder = Encoder::from_tensors(config, &w)
        .map_err(|e| within("model.safetensors does not fit config.json", e))?;
    Ok((encoder, head))
}

fn take_head(w: &mut HashMap<String, Tensor>, name: &str) -> Result<Tensor> {
    w.remove(name).ok_or_else(|| {
        Error::Model(format!(
            "model.safetensors lacks the classification head `{name}`"
        ))
    })
}

/// A model error placed in `place` (a directory, a hub id, a file): `model: place: what`.
fn within(place: &str, error: Error) -> Error {
    match error {
        Error::Model(message) => Error::Model(format!("{place}: {message}")),
        other => Error::Model(format!("{place}: {other}")),
    }
}

/// Whether `s` can be a Hugging Face Hub model id: `name` or `org/name`, of letters,
/// digits, `-`, `_` and `.`, not starting with `.` or `-`.
fn is_hub_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    parts.len() <= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && !p.starts_with(['.', '-'])
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}
