//! Text: read, normalise, segment, speakers.
//!
//! A record's raw text (a verbatim record, a PDF extraction, a typed statement) goes
//! through [`normalize`] (line ends, wraps, hyphens, page furniture), [`speakers`]
//! (verbatim-record headers) and [`segment`] (sentence boundaries). Every sentence
//! keeps the byte range it came from in the original text.

use std::ops::Range;
use std::path::Path;

pub mod country;
mod docmeta;
pub mod furniture;
pub mod hyphen;
pub mod normalize;
pub mod segment;
pub mod speakers;

use normalize::Normalized;

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

/// A record split into sentences, with the parts of the original left out of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SplitRecord {
    /// The sentences, in order.
    pub sentences: Vec<Sentence>,
    /// Byte ranges of the original holding speaker headers (up to their colon).
    pub headers: Vec<Range<usize>>,
    /// Byte ranges of the original holding page furniture lines.
    pub furniture: Vec<Range<usize>>,
}

/// Splits a record's text into sentences, each with its speaker and delegation.
pub fn split(raw: &str) -> Vec<Sentence> {
    split_record(raw).sentences
}

/// Splits a record's text into sentences, and reports the headers and page
/// furniture that no sentence holds.
pub fn split_record(raw: &str) -> SplitRecord {
    let norm = Normalized::new(raw);
    let text = norm.text();
    let mut out = SplitRecord {
        furniture: norm.furniture().to_vec(),
        ..SplitRecord::default()
    };
    let mut speaker: Option<String> = None;
    let mut delegation: Option<String> = None;
    let mut ranges = Vec::new();
    let mut emit = |range: Range<usize>,
                    speaker: &Option<String>,
                    delegation: &Option<String>,
                    out: &mut SplitRecord| {
        ranges.clear();
        segment::split_sentences(text, range, &mut ranges);
        for r in &ranges {
            let orig = norm.original_range(r.clone());
            out.sentences.push(Sentence {
                start: orig.start,
                end: orig.end,
                text: text[r.clone()].to_string(),
                speaker: speaker.clone(),
                delegation: delegation.clone(),
            });
        }
    };
    for para in norm.paragraphs() {
        let mut seg_start = para.start;
        let starts = std::iter::once(para.start).chain(norm.line_starts_in(para).iter().copied());
        for at in starts {
            if at < seg_start {
                continue; // inside the header just read
            }
            let Some(h) = speakers::parse_header(&text[at..para.end]) else {
                continue;
            };
            if seg_start < at {
                emit(seg_start..at, &speaker, &delegation, &mut out);
            }
            out.headers.push(norm.original_range(at..at + h.len));
            speaker = Some(h.speaker);
            delegation = h.delegation;
            seg_start = at + h.skip;
        }
        if seg_start < para.end {
            emit(seg_start..para.end, &speaker, &delegation, &mut out);
        }
    }
    out
}

/// One record as one unit, for `--no-split`: normalised like [`split`] (wraps,
/// hyphens, furniture; paragraphs joined by a space) but neither segmented nor
/// searched for speaker headers. `None` when nothing is left.
pub fn single_unit(raw: &str) -> Option<Sentence> {
    let norm = Normalized::new(raw);
    let text = norm.text();
    if text.is_empty() {
        return None;
    }
    let orig = norm.original_range(0..text.len());
    Some(Sentence {
        start: orig.start,
        end: orig.end,
        text: text.replace('\n', " "),
        speaker: None,
        delegation: None,
    })
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

/// Reads `iso3`, `session` and `year` from a UNGDC-style file name (`KAZ_78_2023.txt`,
/// with or without directories); `None` for other names.
pub fn ungdc_meta(path: &Path) -> Option<DocMeta> {
    docmeta::from_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speakers_hold_until_the_next_header() {
        let raw =
            "The President (spoke in French): I give the floor to\nthe representative of Chad.\n\n\
                   Mr. Doumgor (Chad) (spoke in French): I thank\nyou. We agree.\n\
                   The President: I thank him.\n";
        let s = split(raw);
        let got: Vec<(&str, Option<&str>, Option<&str>)> = s
            .iter()
            .map(|s| {
                (
                    s.text.as_str(),
                    s.speaker.as_deref(),
                    s.delegation.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "I give the floor to the representative of Chad.",
                    Some("The President"),
                    None
                ),
                ("I thank you.", Some("Mr. Doumgor"), Some("Chad")),
                ("We agree.", Some("Mr. Doumgor"), Some("Chad")),
                ("I thank him.", Some("The President"), None),
            ]
        );
        for x in &s {
            assert_eq!(
                raw[x.start..x.end]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                x.text
            );
        }
    }

    #[test]
    fn header_wrapped_over_two_lines() {
        let raw = "Mr. Ramírez Carreño (Bolivarian Republic of\nVenezuela) (spoke in Spanish): We reject the\nmeasures.";
        let s = split(raw);
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0].delegation.as_deref(),
            Some("Bolivarian Republic of Venezuela")
        );
        assert_eq!(s[0].text, "We reject the measures.");
        let r = split_record(raw);
        assert_eq!(
            &raw[r.headers[0].clone()],
            "Mr. Ramírez Carreño (Bolivarian Republic of\nVenezuela) (spoke in Spanish):"
        );
    }

    #[test]
    fn a_colon_in_prose_keeps_the_speaker() {
        let raw = "Ms. Sison (United States): We note the following:\nThe Council must act.";
        let s = split(raw);
        assert!(s.iter().all(|s| s.speaker.as_deref() == Some("Ms. Sison")));
    }

    #[test]
    fn single_unit_normalises_without_splitting() {
        let raw = "Mr. X (France): We support the develop-\nment agenda. It\n\n17-06868 7/26\n\nmatters.\n\nNew paragraph.";
        let u = single_unit(raw).unwrap();
        assert_eq!(
            u.text,
            "Mr. X (France): We support the development agenda. It matters. New paragraph."
        );
        assert_eq!((u.start, u.end), (0, raw.len()));
        assert_eq!(u.speaker, None);
        assert_eq!(single_unit(" \n\u{feff} \n"), None);
    }
}
