//! Text: read, normalise, segment, speakers.

/// One sentence of a record, with its place in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// Byte offset of the sentence's first byte in the record's original text.
    pub start: usize,
    /// Byte offset one past the sentence's last byte in the record's original text.
    pub end: usize,
    /// The normalised sentence.
    pub text: String,
    /// The speaker named by the last verbatim-record header, if any.
    pub speaker: Option<String>,
    /// The speaker's delegation, if the header names one.
    pub delegation: Option<String>,
}

/// Splits a record's text into sentences (TEMP: naive; replaced by the text pipeline).
pub fn split(raw: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in raw.char_indices() {
        if c == '.' {
            let s = &raw[start..=i];
            let lead = s.len() - s.trim_start().len();
            if !s.trim().is_empty() {
                out.push(Sentence {
                    start: start + lead,
                    end: i + 1,
                    text: s.trim().to_string(),
                    speaker: None,
                    delegation: None,
                });
            }
            start = i + 1;
        }
    }
    out
}

/// One record as one unit, for `--no-split` (TEMP: replaced by the text pipeline).
pub fn single_unit(raw: &str) -> Option<Sentence> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    let start = raw.len() - raw.trim_start().len();
    Some(Sentence { start, end: start + t.len(), text: t.to_string(), speaker: None, delegation: None })
}

/// Fields given by a file named like the UN General Debate Corpus (`KAZ_78_2023.txt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocMeta {
    /// ISO 3166-1 alpha-3 code of the delegation (as in the file name).
    pub iso3: String,
    /// General Assembly session number.
    pub session: u32,
    /// Year of the session.
    pub year: u32,
}

/// Reads `iso3`, `session` and `year` from a UNGDC-style file name (TEMP: replaced by the text pipeline).
pub fn ungdc_meta(_path: &std::path::Path) -> Option<DocMeta> {
    None
}
