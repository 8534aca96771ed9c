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
