//! Training data: labelled JSONL files, and the real-train set rebuilt from a copy of
//! the public UN General Debate Corpus.
//!
//! The repository keeps no text of the real-train sentences. `datasets/real-train.index.jsonl`
//! records, for each sentence, the statement it comes from (`iso3`, `session`, `year`), the
//! byte span `[start, end)` of the sentence in that statement's `text` (UTF-8 bytes of the
//! decoded JSON string), its label, and `sha256_8`, the first 8 hex digits of the SHA-256 of
//! the sentence as rebuilt. Rebuilding cuts the span out of the statement and collapses each
//! run of whitespace (Unicode `White_Space`) to one space, trimming the ends; that is the
//! only normalisation, and the hashes depend on it, so it must never change.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::text::country::Country;
use crate::{Error, Label, Result};

/// A labelled sentence to train or evaluate on.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The sentence.
    pub text: String,
    /// Its label.
    pub label: Label,
    /// Its weight in the loss: 1.0 unless a trainer decides otherwise.
    pub weight: f32,
    /// The country of its speaker, if known.
    pub speaker: Option<Country>,
    /// Whether the example is only trained on, never held out for validation (so that
    /// adding such examples leaves the validation slice as it was).
    pub train_only: bool,
}

impl Example {
    /// An example of weight 1.0.
    pub fn new(text: impl Into<String>, label: Label) -> Self {
        Example {
            text: text.into(),
            label,
            weight: 1.0,
            speaker: None,
            train_only: false,
        }
    }

    /// The same example said by `speaker` (an ISO alpha-3 code or a name; `None`
    /// when no country of that name is known).
    pub fn said_by(self, speaker: &str) -> Self {
        Example {
            speaker: Country::from_delegation(speaker),
            ..self
        }
    }

    /// The same example, only trained on (see [`Example::train_only`]).
    pub fn for_training_only(self) -> Self {
        Example {
            train_only: true,
            ..self
        }
    }

    /// The text with its speaker's own country written as "my country", as a model
    /// trained with [`Manifest::own_country`](super::classifier::Manifest::own_country) reads it.
    pub fn own_country_text(&self) -> Cow<'_, str> {
        match self.speaker {
            Some(country) => country.rewrite(&self.text),
            None => Cow::Borrowed(&self.text),
        }
    }
}

/// The fields of a labelled JSONL record that training needs.
#[derive(Deserialize)]
struct LabelledRecord {
    text: String,
    label: Label,
    iso3: Option<String>,
    delegation: Option<String>,
}

impl LabelledRecord {
    fn into_example(self) -> Example {
        let example = Example::new(self.text, self.label);
        match self.iso3.or(self.delegation) {
            Some(speaker) => example.said_by(&speaker),
            None => example,
        }
    }
}

/// Reads labelled JSONL (one object a line with `text` and `label`, and the speaker's
/// `iso3` or `delegation` if known; other fields are ignored, blank lines skipped) into
/// examples of weight 1.0.
///
/// A line that is not such an object is an [`Error::BadRecord`] naming the file and line.
pub fn read_labelled(path: &Path) -> Result<Vec<Example>> {
    read_labelled_lines(path, Err)
}

/// Labelled sentences read past the lines that could not be read.
#[derive(Debug)]
pub struct LabelledFile {
    /// The sentences of the good lines, in file order.
    pub examples: Vec<Example>,
    /// One [`Error::BadRecord`] for each line that was skipped, naming file and line.
    pub skipped: Vec<Error>,
}

/// Reads labelled JSONL like [`read_labelled`], but skips a line that is not such a record
/// (bad JSON, no `text`, an unknown label, not UTF-8) and reads on, so that one bad line
/// loses no other. Fails only when the file cannot be read.
pub fn read_labelled_skipping_bad_lines(path: &Path) -> Result<LabelledFile> {
    let mut skipped = Vec::new();
    let examples = read_labelled_lines(path, |bad| {
        skipped.push(bad);
        Ok(())
    })?;
    Ok(LabelledFile { examples, skipped })
}

/// The examples of a labelled JSONL file, each bad line given to `on_bad` (see
/// [`visit_records`]).
fn read_labelled_lines(
    path: &Path,
    on_bad: impl FnMut(Error) -> Result<()>,
) -> Result<Vec<Example>> {
    let mut examples = Vec::new();
    visit_records(
        path,
        |_, record: LabelledRecord| {
            examples.push(record.into_example());
            Ok(())
        },
        on_bad,
    )?;
    Ok(examples)
}

/// One line of the real-train index: where a sentence is in the corpus, and its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// The sentence's id in the labelled set.
    pub id: String,
    /// Delegation code of the statement.
    pub iso3: String,
    /// General Assembly session of the statement.
    pub session: u32,
    /// Year of the statement.
    pub year: u32,
    /// Byte offset of the sentence's first byte in the statement's text.
    pub start: usize,
    /// Byte offset one past the sentence's last byte in the statement's text.
    pub end: usize,
    /// The sentence's label.
    pub label: Label,
    /// Whether both annotators were confident of the label.
    pub both_confident: bool,
    /// First 8 lowercase hex digits of the SHA-256 of the rebuilt sentence.
    pub sha256_8: String,
}

/// Reads a real-train index; a malformed line is an [`Error::BadRecord`].
pub fn read_index(path: &Path) -> Result<Vec<IndexEntry>> {
    let mut entries = Vec::new();
    for_each_record(path, |line, entry: IndexEntry| {
        let hex = entry.sha256_8.len() == 8
            && entry
                .sha256_8
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err(bad_record(
                path,
                line,
                "sha256_8 must be 8 lowercase hex digits",
            ));
        }
        if entry.start >= entry.end {
            return Err(bad_record(path, line, "start must be less than end"));
        }
        entries.push(entry);
        Ok(())
    })?;
    Ok(entries)
}

/// Writes a real-train index, one JSON object a line.
pub fn write_index(path: &Path, entries: &[IndexEntry]) -> Result<()> {
    write_jsonl(path, entries)
}

/// A labelled sentence with its provenance, as in the labelled real-train file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealSentence {
    /// The sentence's id.
    pub id: String,
    /// Delegation code of the statement.
    pub iso3: String,
    /// General Assembly session of the statement.
    pub session: u32,
    /// Year of the statement.
    pub year: u32,
    /// The sentence.
    pub text: String,
    /// Its label.
    pub label: Label,
    /// Whether both annotators were confident of the label.
    pub both_confident: bool,
}

impl From<RealSentence> for Example {
    fn from(sentence: RealSentence) -> Self {
        Example::new(sentence.text, sentence.label).said_by(&sentence.iso3)
    }
}

/// Writes rebuilt sentences as JSONL with the fields of the labelled real-train file
/// (`id`, `iso3`, `session`, `year`, `text`, `label`, `both_confident`).
pub fn write_real_sentences(path: &Path, sentences: &[RealSentence]) -> Result<()> {
    write_jsonl(path, sentences)
}

/// An index entry that could not be rebuilt from the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildFailure {
    /// The entry's id.
    pub id: String,
    /// 1-based line of the entry in the index.
    pub line: usize,
    /// What went wrong.
    pub reason: String,
}

/// The outcome of rebuilding the real-train set.
#[derive(Debug, Clone, Default)]
pub struct Rebuild {
    /// The sentences rebuilt and verified, in index order.
    pub sentences: Vec<RealSentence>,
    /// The entries that could not be rebuilt (missing statement, bad span, hash mismatch).
    pub failures: Vec<RebuildFailure>,
}

/// Rebuilds the real-train set from `index` and a copy of the corpus (`.jsonl`, or
/// gzip-compressed: detected from its first bytes), keeping every sentence whose hash
/// matches and listing the others as failures.
///
/// Errors only if a file cannot be read or has a malformed line, or if the corpus holds
/// two statements for a session and delegation the index needs.
pub fn rebuild_real_train_report(index: &Path, corpus: &Path) -> Result<Rebuild> {
    let entries = read_index(index)?;
    let wanted: HashSet<StatementKey> = entries.iter().map(entry_key).collect();
    let statements = read_statements(corpus, &wanted)?;
    let mut rebuild = Rebuild::default();
    for (i, entry) in entries.into_iter().enumerate() {
        match rebuild_entry(&entry, &statements) {
            Ok(text) => rebuild.sentences.push(RealSentence {
                id: entry.id,
                iso3: entry.iso3,
                session: entry.session,
                year: entry.year,
                text,
                label: entry.label,
                both_confident: entry.both_confident,
            }),
            Err(reason) => rebuild.failures.push(RebuildFailure {
                id: entry.id,
                line: i + 1,
                reason,
            }),
        }
    }
    Ok(rebuild)
}

/// Rebuilds the real-train set as training examples of weight 1.0, in index order; strict
/// like [`rebuild_real_sentences`].
pub fn rebuild_real_train(index: &Path, corpus: &Path) -> Result<Vec<Example>> {
    let sentences = rebuild_real_sentences(index, corpus)?;
    Ok(sentences.into_iter().map(Example::from).collect())
}

/// Rebuilds the sentences of a real-sentence index with their provenance (speaker,
/// session, whether both annotators were confident), in index order.
///
/// Strict: if any entry fails to rebuild, the result is an [`Error::BadRecord`] naming the
/// index line of the first failure and the number of failures (see
/// [`rebuild_real_train_report`] to keep the sentences that did rebuild).
pub fn rebuild_real_sentences(index: &Path, corpus: &Path) -> Result<Vec<RealSentence>> {
    let rebuild = rebuild_real_train_report(index, corpus)?;
    if let Some(first) = rebuild.failures.first() {
        let total = rebuild.failures.len() + rebuild.sentences.len();
        let message = format!(
            "{}: {} ({} of {} entries failed to rebuild)",
            first.id,
            first.reason,
            rebuild.failures.len(),
            total
        );
        return Err(bad_record(index, first.line, message));
    }
    Ok(rebuild.sentences)
}

/// Gives `sentences` the labels of `relabelled` (and their `both_confident`), matching a
/// sentence by its statement and text; returns how many of `sentences` changed label or
/// confidence. A relabelled sentence found nowhere in `sentences` is left unused: the caller
/// can tell from [`Relabelling::unused`].
pub fn relabel(sentences: &mut [RealSentence], relabelled: &[RealSentence]) -> Relabelling {
    let by_key: HashMap<(StatementKey, &str), &RealSentence> = relabelled
        .iter()
        .map(|r| ((sentence_key(r), r.text.as_str()), r))
        .collect();
    let mut used = HashSet::new();
    let mut changed = 0;
    for s in sentences.iter_mut() {
        if let Some((key, r)) = by_key.get_key_value(&(sentence_key(s), s.text.as_str())) {
            used.insert(key);
            if s.label != r.label || s.both_confident != r.both_confident {
                changed += 1;
            }
            s.label = r.label;
            s.both_confident = r.both_confident;
        }
    }
    Relabelling {
        changed,
        unused: by_key.keys().filter(|k| !used.contains(k)).count(),
    }
}

/// What [`relabel`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relabelling {
    /// Sentences whose label or confidence changed.
    pub changed: usize,
    /// Relabelled sentences that matched none of the sentences.
    pub unused: usize,
}

/// The text of one index entry, or why it cannot be rebuilt.
fn rebuild_entry(
    entry: &IndexEntry,
    statements: &HashMap<StatementKey, String>,
) -> Result<String, String> {
    let statement = statements.get(&entry_key(entry)).ok_or_else(|| {
        format!(
            "no statement of {} for session {} ({}) in the corpus",
            entry.iso3, entry.session, entry.year
        )
    })?;
    let span = statement.get(entry.start..entry.end).ok_or_else(|| {
        format!(
            "span {}..{} is outside the statement ({} bytes) or not on character boundaries",
            entry.start,
            entry.end,
            statement.len()
        )
    })?;
    let text = normalise_whitespace(span);
    let hash = sha256_8(&text);
    if hash != entry.sha256_8 {
        return Err(format!(
            "rebuilt text hashes to {hash}, the index says {}",
            entry.sha256_8
        ));
    }
    Ok(text)
}

/// How the index builder found a labelled sentence in its statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// The sentence occurs as it is.
    Verbatim,
    /// The sentence occurs once runs of whitespace are collapsed.
    Whitespace,
    /// The sentence occurs once whitespace is collapsed and typographic quotes,
    /// apostrophes and dashes are folded to ASCII; it rebuilds as the corpus spells it.
    Folded,
}

/// The real-train index built from a labelled file and the corpus, with how each
/// sentence was found.
#[derive(Debug, Clone, Default)]
pub struct IndexBuild {
    /// One entry per sentence found, in the labelled file's order.
    pub entries: Vec<IndexEntry>,
    /// How each entry was found, parallel to `entries`.
    pub kinds: Vec<MatchKind>,
    /// Ids of the sentences not found (no statement, or no match): not in `entries`.
    pub not_found: Vec<String>,
}

impl IndexBuild {
    /// Number of entries found in the given way.
    pub fn count(&self, kind: MatchKind) -> usize {
        self.kinds.iter().filter(|&&k| k == kind).count()
    }
}

/// Builds the real-train index: locates each sentence of `labelled` (JSONL with the fields
/// of [`RealSentence`]) in the statement of the corpus with the same `iso3`, `session` and
/// `year`, first as it is, then with whitespace collapsed, then with typography folded
/// (first occurrence each time).
pub fn build_real_train_index(labelled: &Path, corpus: &Path) -> Result<IndexBuild> {
    let mut sentences = Vec::new();
    for_each_record(labelled, |_, sentence: RealSentence| {
        sentences.push(sentence);
        Ok(())
    })?;
    let wanted: HashSet<StatementKey> = sentences.iter().map(sentence_key).collect();
    let statements = read_statements(corpus, &wanted)?;
    let mut projections: HashMap<StatementKey, [Projection; 2]> = HashMap::new();
    let mut build = IndexBuild::default();
    for sentence in sentences {
        let key = sentence_key(&sentence);
        let Some(statement) = statements.get(&key) else {
            build.not_found.push(sentence.id);
            continue;
        };
        let projected = projections.entry(key).or_insert_with(|| {
            [
                Projection::new(statement, false),
                Projection::new(statement, true),
            ]
        });
        let Some((kind, start, end)) = locate(&sentence.text, statement, projected) else {
            build.not_found.push(sentence.id);
            continue;
        };
        build.kinds.push(kind);
        build.entries.push(IndexEntry {
            id: sentence.id,
            iso3: sentence.iso3,
            session: sentence.session,
            year: sentence.year,
            start,
            end,
            label: sentence.label,
            both_confident: sentence.both_confident,
            sha256_8: sha256_8(&normalise_whitespace(&statement[start..end])),
        });
    }
    Ok(build)
}

/// Where `sentence` is in `statement` (whose two projections are given), and how it was found.
fn locate(
    sentence: &str,
    statement: &str,
    projected: &[Projection; 2],
) -> Option<(MatchKind, usize, usize)> {
    let needle = normalise_whitespace(sentence);
    if needle.is_empty() {
        return None;
    }
    if needle == sentence {
        if let Some(start) = statement.find(sentence) {
            return Some((MatchKind::Verbatim, start, start + sentence.len()));
        }
    }
    if let Some((start, end)) = projected[0].find(&needle) {
        return Some((MatchKind::Whitespace, start, end));
    }
    let folded: String = needle.chars().map(fold_typography).collect();
    let (start, end) = projected[1].find(&folded)?;
    Some((MatchKind::Folded, start, end))
}

/// A statement's text with whitespace collapsed (and typography folded, if asked),
/// remembering where each of its characters comes from.
struct Projection {
    /// The projected text.
    text: String,
    /// For each character of `text`: its byte offset there, and the byte range it
    /// stands for in the original.
    origins: Vec<(usize, usize, usize)>,
}

impl Projection {
    /// Projects `original` the way [`normalise_whitespace`] does, folding typography if `fold`.
    fn new(original: &str, fold: bool) -> Self {
        let mut text = String::with_capacity(original.len());
        let mut origins = Vec::with_capacity(original.len());
        let mut space: Option<(usize, usize)> = None;
        for (at, c) in original.char_indices() {
            let after = at + c.len_utf8();
            if c.is_whitespace() {
                if !text.is_empty() {
                    space.get_or_insert((at, after)).1 = after;
                }
                continue;
            }
            if let Some((from, to)) = space.take() {
                origins.push((text.len(), from, to));
                text.push(' ');
            }
            origins.push((text.len(), at, after));
            text.push(if fold { fold_typography(c) } else { c });
        }
        Projection { text, origins }
    }

    /// The original byte range of the first occurrence of `needle` (non-empty, projected
    /// the same way).
    fn find(&self, needle: &str) -> Option<(usize, usize)> {
        let at = self.text.find(needle)?;
        let first = self.origins.binary_search_by_key(&at, |o| o.0).ok()?;
        let past = self
            .origins
            .binary_search_by_key(&(at + needle.len()), |o| o.0)
            .unwrap_or_else(|i| i);
        Some((self.origins[first].1, self.origins[past.checked_sub(1)?].2))
    }
}

/// Folds typographic quotes, apostrophes and dashes to their ASCII forms, one character for one.
fn fold_typography(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '`' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => '"',
        '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
        _ => c,
    }
}

/// Collapses each run of whitespace to one space and trims the ends: the one normalisation
/// of a rebuilt sentence (the index hashes depend on it).
fn normalise_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// First 8 lowercase hex digits of the SHA-256 of `text`.
fn sha256_8(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Delegation, session and year of a statement.
type StatementKey = (String, u32, u32);

fn entry_key(entry: &IndexEntry) -> StatementKey {
    (entry.iso3.clone(), entry.session, entry.year)
}

fn sentence_key(sentence: &RealSentence) -> StatementKey {
    (sentence.iso3.clone(), sentence.session, sentence.year)
}

/// One statement of the corpus.
#[derive(Deserialize)]
struct Statement {
    iso3: String,
    session: u32,
    year: u32,
    text: String,
}

/// Reads the texts of the `wanted` statements of the corpus; a statement wanted twice is an error.
fn read_statements(
    corpus: &Path,
    wanted: &HashSet<StatementKey>,
) -> Result<HashMap<StatementKey, String>> {
    let mut statements = HashMap::new();
    let mut first_line = HashMap::new();
    for_each_record(corpus, |line, statement: Statement| {
        let key = (statement.iso3, statement.session, statement.year);
        if !wanted.contains(&key) {
            return Ok(());
        }
        if let Some(first) = first_line.get(&key) {
            let message = format!(
                "second statement of {} for session {} ({}), first at line {first}",
                key.0, key.1, key.2
            );
            return Err(bad_record(corpus, line, message));
        }
        first_line.insert(key.clone(), line);
        statements.insert(key, statement.text);
        Ok(())
    })?;
    Ok(statements)
}

/// Calls `handle` with the 1-based line number and record of each non-blank line of a
/// JSONL file (gzip-compressed or not), stopping at the first error.
fn for_each_record<T, F>(path: &Path, handle: F) -> Result<()>
where
    T: DeserializeOwned,
    F: FnMut(usize, T) -> Result<()>,
{
    visit_records(path, handle, Err)
}

/// Like [`for_each_record`], but a line that is not such a record (or not UTF-8) goes to
/// `on_bad` as an [`Error::BadRecord`]: the reading stops if `on_bad` returns an error,
/// and goes on to the next line if not.
fn visit_records<T, F, B>(path: &Path, mut handle: F, mut on_bad: B) -> Result<()>
where
    T: DeserializeOwned,
    F: FnMut(usize, T) -> Result<()>,
    B: FnMut(Error) -> Result<()>,
{
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io_error)?);
    let gzipped = reader
        .fill_buf()
        .map_err(io_error)?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn BufRead> = if gzipped {
        Box::new(BufReader::new(MultiGzDecoder::new(reader)))
    } else {
        Box::new(reader)
    };
    for (i, line) in reader.lines().enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                on_bad(bad_record(path, i + 1, "not valid UTF-8"))?;
                continue;
            }
            Err(e) => return Err(io_error(e)),
        };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(record) => handle(i + 1, record)?,
            Err(e) => on_bad(bad_record(path, i + 1, e.to_string()))?,
        }
    }
    Ok(())
}

/// Writes `records` to `path` as JSONL.
fn write_jsonl<T: Serialize>(path: &Path, records: &[T]) -> Result<()> {
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut out = BufWriter::new(File::create(path).map_err(io_error)?);
    for record in records {
        serde_json::to_writer(&mut out, record).map_err(|e| io_error(e.into()))?;
        out.write_all(b"\n").map_err(io_error)?;
    }
    out.flush().map_err(io_error)
}

fn bad_record(path: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::BadRecord {
        path: path.display().to_string(),
        line,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_collapses_unicode_whitespace_and_trims() {
        assert_eq!(normalise_whitespace(" a\u{2003}\u{202f}b\n\tc  "), "a b c");
    }

    #[test]
    fn projection_maps_back_to_original_bytes() {
        let original = "  Un “deux”\n\n  trois —  quatre ";
        let plain = Projection::new(original, false);
        assert_eq!(plain.text, "Un “deux” trois — quatre");
        let (start, end) = plain.find("“deux” trois").unwrap();
        assert_eq!(&original[start..end], "“deux”\n\n  trois");
        let folded = Projection::new(original, true);
        let (start, end) = folded.find("\"deux\" trois - quatre").unwrap();
        assert_eq!(&original[start..end], "“deux”\n\n  trois —  quatre");
        assert_eq!(plain.find("quatre!"), None);
    }

    #[test]
    fn relabel_replaces_labels_of_the_same_sentence_of_the_same_statement() {
        let sentence = |iso3: &str, text: &str, label, both_confident| RealSentence {
            id: String::new(),
            iso3: iso3.into(),
            session: 70,
            year: 2015,
            text: text.into(),
            label,
            both_confident,
        };
        let mut set = vec![
            sentence("KAZ", "We will act.", Label::CallToAction, false),
            sentence("FRA", "We will act.", Label::CallToAction, false),
            sentence("KAZ", "It rained.", Label::Context, true),
        ];
        let relabelled = [
            sentence("KAZ", "We will act.", Label::Commitment, true),
            sentence("KAZ", "It rained.", Label::Context, true),
            sentence("KAZ", "Not in the set.", Label::Context, true),
        ];
        let done = relabel(&mut set, &relabelled);
        assert_eq!(
            done,
            Relabelling {
                changed: 1,
                unused: 1
            }
        );
        assert_eq!(set[0].label, Label::Commitment);
        assert!(set[0].both_confident);
        // The same words from another delegation are another sentence.
        assert_eq!(set[1].label, Label::CallToAction);
        assert_eq!(set[2].label, Label::Context);
    }

    #[test]
    fn sha256_8_is_a_prefix_of_the_digest() {
        // SHA-256("abc") = ba7816bf8f01cfea…
        assert_eq!(sha256_8("abc"), "ba7816bf");
    }
}
