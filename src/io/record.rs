//! The output record of `polrec label`: one sentence with its place, speaker, label
//! and the fields carried over from its input record.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

use crate::model::Prediction;
use crate::text::DocMeta;

/// The fields every output record starts with, in order (JSONL names).
pub const CORE_FIELDS: [&str; 11] = [
    "doc",
    "record",
    "sentence",
    "start",
    "end",
    "speaker",
    "delegation",
    "text",
    "label",
    "scores",
    "themes",
];

/// The fields taken from a UNGDC-style file name, in order.
pub const META_FIELDS: [&str; 3] = ["iso3", "session", "year"];

/// The columns `scores` is flattened into in CSV/TSV output.
pub const SCORE_COLUMNS: [&str; 3] = ["score_call_to_action", "score_commitment", "score_context"];

/// The field marking a sentence cut at the model's input limit: in JSONL present
/// (`true`) only on such sentences, in CSV/TSV a column after `year`, `true` or empty.
pub const TRUNCATED_FIELD: &str = "truncated";

/// The name under which an input field called `name` is carried: its own, unless
/// that is the name of an output field (`label`, `text`, `scores`, …), in which case
/// it is prefixed with `input_` (repeatedly, should that be taken too).
pub fn carried_name(name: &str) -> String {
    let mut name = name.to_string();
    while CORE_FIELDS.contains(&name.as_str())
        || SCORE_COLUMNS.contains(&name.as_str())
        || name == TRUNCATED_FIELD
    {
        name.insert_str(0, "input_");
    }
    name
}

/// Fields of an input record carried into its output records: names (already made
/// distinct from the output's own fields) with their original JSON values.
pub type Carried = Vec<(String, Box<RawValue>)>;

/// One output record, borrowing from the input record and the labelled sentence.
#[derive(Debug, Clone, Copy)]
pub struct OutputRecord<'a> {
    /// The input path as given (`-` for standard input).
    pub doc: &'a str,
    /// 0-based index of the input record in its input.
    pub record: usize,
    /// 0-based index of the sentence in its record.
    pub sentence: usize,
    /// Byte offset of the sentence's start in the record's original text.
    pub start: usize,
    /// Byte offset one past the sentence's end in the record's original text.
    pub end: usize,
    /// The speaker, if known.
    pub speaker: Option<&'a str>,
    /// The speaker's delegation, if known.
    pub delegation: Option<&'a str>,
    /// The normalised sentence.
    pub text: &'a str,
    /// The classifier's prediction; `None` when there is no classifier.
    pub prediction: Option<&'a Prediction>,
    /// The sentence was cut at the model's input limit before it was labelled.
    pub truncated: bool,
    /// Policy themes of the sentence.
    pub themes: &'a [String],
    /// Fields from a UNGDC-style file name.
    pub meta: Option<&'a DocMeta>,
    /// Fields carried from the input record.
    pub carried: &'a [(String, Box<RawValue>)],
}

impl OutputRecord<'_> {
    /// Whether the input record carries a field named `name` itself.
    pub fn carries(&self, name: &str) -> bool {
        self.carried.iter().any(|(n, _)| n == name)
    }
}

/// The record as one JSON object: the core fields in order (with `"truncated": true`
/// after `scores` for a sentence cut at the model's limit), then `iso3`, `session`
/// and `year` from the file name (where the input record does not carry them
/// itself), then the carried fields.
impl Serialize for OutputRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("doc", self.doc)?;
        map.serialize_entry("record", &self.record)?;
        map.serialize_entry("sentence", &self.sentence)?;
        map.serialize_entry("start", &self.start)?;
        map.serialize_entry("end", &self.end)?;
        map.serialize_entry("speaker", &self.speaker)?;
        map.serialize_entry("delegation", &self.delegation)?;
        map.serialize_entry("text", self.text)?;
        map.serialize_entry("label", &self.prediction.map(|p| p.label))?;
        map.serialize_entry("scores", &self.prediction.map(|p| p.scores))?;
        if self.truncated {
            map.serialize_entry(TRUNCATED_FIELD, &true)?;
        }
        map.serialize_entry("themes", self.themes)?;
        if let Some(meta) = self.meta {
            if !self.carries("iso3") {
                map.serialize_entry("iso3", &meta.iso3)?;
            }
            if !self.carries("session") {
                map.serialize_entry("session", &meta.session)?;
            }
            if !self.carries("year") {
                map.serialize_entry("year", &meta.year)?;
            }
        }
        for (name, value) in self.carried {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Label, Scores};

    #[test]
    fn clashing_names_are_prefixed() {
        assert_eq!(carried_name("id"), "id");
        assert_eq!(carried_name("label"), "input_label");
        assert_eq!(carried_name("score_context"), "input_score_context");
        assert_eq!(carried_name("iso3"), "iso3");
        assert_eq!(carried_name("truncated"), "input_truncated");
    }

    #[test]
    fn json_shape_and_order() {
        let prediction = Prediction {
            label: Label::Commitment,
            scores: Scores {
                call_to_action: 0.25,
                commitment: 0.5,
                context: 0.25,
            },
        };
        let meta = DocMeta {
            iso3: "NOR".into(),
            session: 75,
            year: 2020,
        };
        let carried: Carried = vec![
            ("year".into(), RawValue::from_string("2021".into()).unwrap()),
            (
                "id".into(),
                RawValue::from_string("12345678901234567890123".into()).unwrap(),
            ),
        ];
        let themes = vec!["oceans".to_string()];
        let record = OutputRecord {
            doc: "d.txt",
            record: 1,
            sentence: 2,
            start: 3,
            end: 4,
            speaker: Some("Ms. Dahl"),
            delegation: None,
            text: "We will.",
            prediction: Some(&prediction),
            truncated: false,
            themes: &themes,
            meta: Some(&meta),
            carried: &carried,
        };
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"doc":"d.txt","record":1,"sentence":2,"start":3,"end":4,"speaker":"Ms. Dahl","delegation":null,"text":"We will.","label":"commitment","scores":{"call_to_action":0.25,"commitment":0.5,"context":0.25},"themes":["oceans"],"iso3":"NOR","session":75,"year":2021,"id":12345678901234567890123}"#
        );
        let cut = OutputRecord {
            truncated: true,
            meta: None,
            carried: &[],
            ..record
        };
        assert_eq!(
            serde_json::to_string(&cut).unwrap(),
            r#"{"doc":"d.txt","record":1,"sentence":2,"start":3,"end":4,"speaker":"Ms. Dahl","delegation":null,"text":"We will.","label":"commitment","scores":{"call_to_action":0.25,"commitment":0.5,"context":0.25},"truncated":true,"themes":["oceans"]}"#
        );
    }
}
