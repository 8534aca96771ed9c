//! Normalisation of a record's raw text into paragraphs of running text, with a map
//! from every kept byte back to the original.
//!
//! Handles a UTF-8 byte-order mark and invisible characters (soft hyphen, zero-width
//! space), CRLF and CR line ends, page furniture (see [`super::furniture`]), lines
//! hard-wrapped at 40-90 columns (joined with one space), words hyphenated across a
//! line end (see [`super::hyphen`]), runs of whitespace (one space), and paragraphs
//! (a blank line, an indented first line, or one paragraph a line in documents whose
//! lines are paragraphs). Paragraphs are separated by `\n` in the normalised text.

use std::ops::Range;

use super::furniture;
use super::hyphen::{self, DocWords, HyphenJoin};
use super::segment;
use super::speakers;

/// Lines longer than this (in bytes) are paragraphs, not hard-wrapped lines.
const LONG_LINE: usize = 160;

/// A record's text after normalisation, with the way back to the original.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    text: String,
    pieces: Vec<Piece>,
    paragraphs: Vec<Range<usize>>,
    line_starts: Vec<usize>,
    furniture: Vec<Range<usize>>,
}

/// A run of normalised text copied verbatim from the original.
#[derive(Debug, Clone, Copy)]
struct Piece {
    norm: usize,
    orig: usize,
    len: usize,
}

/// One line of the original, trimmed of whitespace and invisible characters.
#[derive(Debug, Clone, Copy)]
struct Line {
    /// Byte range of the trimmed content in the original.
    start: usize,
    end: usize,
    /// Leading whitespace width (a tab counts four).
    indent: usize,
    /// Length of the trimmed content in characters.
    chars: usize,
    /// The line ends in a soft hyphen (a word broken by the typesetter).
    soft_break: bool,
    kind: LineKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Blank,
    Furniture,
    Content,
}

/// Characters dropped wherever they occur.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{feff}' | '\u{00ad}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}'
    )
}

/// Whether `s` ends a sentence or a clause that may end a paragraph (`.`, `?`, `!`,
/// `:`, `;`, `…`), closing quotes and brackets aside.
pub(crate) fn ends_clause(s: &str) -> bool {
    strip_closers(s).ends_with(['.', '?', '!', ':', ';', '…'])
        && !segment::ends_with_abbreviation(s)
}

/// Whether `s` ends a sentence (`.`, `?`, `!`, `:`, `…`), closing quotes and brackets aside.
fn ends_statement(s: &str) -> bool {
    strip_closers(s).ends_with(['.', '?', '!', ':', '…'])
}

fn strip_closers(s: &str) -> &str {
    s.trim_end_matches([')', ']', '"', '”', '’', '\'', '»'])
}

impl Normalized {
    /// Normalises `raw`.
    pub fn new(raw: &str) -> Self {
        let lines = scan_lines(raw);
        let mut out = Normalized::default();
        for l in lines.iter().filter(|l| l.kind == LineKind::Furniture) {
            out.furniture.push(l.start..l.end);
        }
        let content: Vec<&Line> = lines
            .iter()
            .filter(|l| l.kind == LineKind::Content)
            .collect();
        if content.is_empty() {
            return out;
        }
        out.text.reserve(raw.len());
        let long = content
            .iter()
            .filter(|l| l.end - l.start > LONG_LINE)
            .count();
        let layout = Layout {
            paragraph_per_line: long * 5 >= content.len(),
            width: wrap_width(&content),
        };
        let doc_words = doc_words(raw, &content);

        let mut para_start = 0;
        let mut prev: Option<(usize, &Line)> = None; // index into `lines`, line
        for (idx, line) in lines.iter().enumerate() {
            if line.kind != LineKind::Content {
                continue;
            }
            if let Some((pidx, p)) = prev {
                let gap = &lines[pidx + 1..idx];
                let gap_blank = gap.iter().any(|l| l.kind == LineKind::Blank);
                let gap_furniture = gap.iter().any(|l| l.kind == LineKind::Furniture);
                let a = &raw[p.start..p.end];
                let b = &raw[line.start..line.end];
                if layout.joins(p, a, line, b, gap_blank, gap_furniture) {
                    out.join(p, a, b, &doc_words);
                    if ends_statement(a) {
                        out.line_starts.push(out.text.len());
                    }
                } else {
                    out.paragraphs.push(para_start..out.text.len());
                    out.text.push('\n');
                    para_start = out.text.len();
                }
            }
            out.append(raw, line.start, line.end, &doc_words);
            prev = Some((idx, line));
        }
        out.paragraphs.push(para_start..out.text.len());
        out
    }

    /// The normalised text: paragraphs separated by `\n`, words by one space.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Byte ranges of the paragraphs in [`Self::text`].
    pub fn paragraphs(&self) -> &[Range<usize>] {
        &self.paragraphs
    }

    /// Offsets in [`Self::text`], inside `range`, where a source line began after a
    /// line that ended a sentence: the places where a speaker header may begin.
    pub fn line_starts_in(&self, range: &Range<usize>) -> &[usize] {
        let lo = self.line_starts.partition_point(|&p| p < range.start);
        let hi = self.line_starts.partition_point(|&p| p < range.end);
        &self.line_starts[lo..hi]
    }

    /// Byte ranges of the original that were page furniture.
    pub fn furniture(&self) -> &[Range<usize>] {
        &self.furniture
    }

    /// The original byte range of the normalised range `r`, which must start and end
    /// on visible characters (not on a space or paragraph break the normaliser added).
    pub fn original_range(&self, r: Range<usize>) -> Range<usize> {
        debug_assert!(r.start < r.end);
        let start = self.to_original(r.start);
        let last = self.text[..r.end]
            .char_indices()
            .next_back()
            .map_or(r.start, |(i, _)| i);
        let last_len = self.text[last..].chars().next().map_or(0, char::len_utf8);
        start..self.to_original(last) + last_len
    }

    /// The original offset of the normalised byte `pos` (which lies in copied text;
    /// an added separator maps to the start of the text that follows it).
    pub fn to_original(&self, pos: usize) -> usize {
        let i = self.pieces.partition_point(|p| p.norm <= pos);
        if i == 0 {
            return self.pieces.first().map_or(0, |p| p.orig);
        }
        let p = self.pieces[i - 1];
        if pos < p.norm + p.len {
            p.orig + (pos - p.norm)
        } else {
            self.pieces.get(i).map_or(p.orig + p.len, |n| n.orig)
        }
    }

    /// Appends the trimmed original line `raw[start..end]`, dropping invisible
    /// characters and collapsing whitespace runs to one space.
    fn append(&mut self, raw: &str, start: usize, end: usize, doc: &DocWords<'_>) {
        let bytes = &raw.as_bytes()[..end];
        let mut from = start;
        for k in memchr::memmem::find_iter(&bytes[start..], b"- ").map(|k| start + k) {
            let Some(cut) = inline_hyphen(raw, from, k, end, doc) else {
                continue;
            };
            self.append_run(raw, from, cut.keep_to);
            from = cut.resume_at;
        }
        self.append_run(raw, from, end);
    }

    /// Appends `raw[start..end]` (trimmed, or cut where a hyphen was repaired),
    /// dropping invisible characters and collapsing whitespace runs to one space.
    fn append_run(&mut self, raw: &str, start: usize, end: usize) {
        let line = &raw[start..end];
        // Fast path: nothing to collapse or drop.
        if verbatim(line.as_bytes()) {
            self.push_piece(raw, start, end);
            return;
        }
        let mut run: Option<usize> = None; // original start of the current verbatim run
        let mut run_end = start;
        let mut ws = false;
        let mut ws_single_space = true;
        for (off, c) in line.char_indices() {
            let pos = start + off;
            if c.is_whitespace() {
                ws_single_space = !ws && c == ' ';
                ws = true;
            } else if is_invisible(c) {
                if let Some(r) = run.take() {
                    self.push_piece(raw, r, run_end);
                }
            } else {
                if ws {
                    let contiguous = run.is_some() && ws_single_space && run_end + 1 == pos;
                    if !contiguous {
                        if let Some(r) = run.take() {
                            self.push_piece(raw, r, run_end);
                        }
                        self.text.push(' ');
                    }
                    ws = false;
                }
                if run.is_none() {
                    run = Some(pos);
                }
                run_end = pos + c.len_utf8();
            }
        }
        if let Some(r) = run {
            self.push_piece(raw, r, run_end);
        }
    }

    fn push_piece(&mut self, raw: &str, start: usize, end: usize) {
        if start == end {
            return;
        }
        if let Some(last) = self.pieces.last_mut() {
            if last.norm + last.len == self.text.len() && last.orig + last.len == start {
                last.len += end - start;
                self.text.push_str(&raw[start..end]);
                return;
            }
        }
        self.pieces.push(Piece {
            norm: self.text.len(),
            orig: start,
            len: end - start,
        });
        self.text.push_str(&raw[start..end]);
    }

    /// Joins the line `b` to the text so far, which ends with line `a`.
    fn join(&mut self, pl: &Line, a: &str, b: &str, doc: &DocWords<'_>) {
        if pl.soft_break {
            return; // the soft hyphen was dropped; the word continues
        }
        if let Some(before) = a.strip_suffix(['-', '\u{2010}']) {
            let word = before.rsplit(char::is_whitespace).next().unwrap_or("");
            let after = b.split_whitespace().next().unwrap_or("");
            match hyphen::resolve(word, after, doc) {
                HyphenJoin::Drop => {
                    let h = a.len() - before.len();
                    self.text.truncate(self.text.len() - h);
                    if let Some(last) = self.pieces.last_mut() {
                        last.len -= h;
                    }
                }
                HyphenJoin::Keep => {}
                HyphenJoin::Space => self.text.push(' '),
            }
            return;
        }
        let unspaced_dash = a
            .strip_suffix(['—', '–', '/'])
            .is_some_and(|rest| rest.chars().next_back().is_some_and(|c| !c.is_whitespace()));
        if !unspaced_dash {
            self.text.push(' ');
        }
    }
}

/// Words that never end a paragraph: after them the sentence goes on.
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "with", "from", "into", "upon",
    "and", "or", "nor", "but", "as", "than", "that", "which", "who", "whose", "whom", "its",
    "their", "our", "his", "her", "my", "your", "this", "these", "those", "is", "are", "was",
    "were", "be", "been", "has", "have", "had", "will", "would", "shall", "should", "can", "could",
    "may", "might", "must", "not", "between", "among", "such", "very", "more", "most", "both",
    "each", "every", "per",
];

/// Whether `line` ends with a lower-case function word (`of`, `the`, `and`).
pub(crate) fn ends_with_function_word(line: &str) -> bool {
    let last = line.rsplit(' ').next().unwrap_or("");
    FUNCTION_WORDS.contains(&last)
}

/// Conjunctions after a suspended hyphen (`low- and middle-income`).
const SUSPENDED: &[&str] = &[
    "and", "or", "nor", "to", "as", "but", "than", "versus", "vs",
];

/// Text that can be copied as it is: its only whitespace is single ASCII spaces and
/// it holds no invisible character.
fn verbatim(bytes: &[u8]) -> bool {
    if bytes.iter().any(|&b| b < b' ' || b == 0x7f) || memchr::memmem::find(bytes, b"  ").is_some()
    {
        return false;
    }
    if bytes.is_ascii() {
        return true;
    }
    // Lead bytes of the non-ASCII spaces and invisible characters.
    let odd_at = |i: usize| {
        let next = |k: usize| bytes.get(i + k).copied();
        match bytes[i] {
            // U+0085, U+00A0, U+00AD
            0xc2 => matches!(next(1), Some(0x85 | 0xa0 | 0xad)),
            // U+1680
            0xe1 => next(1) == Some(0x9a) && next(2) == Some(0x80),
            // U+2000-U+200D, U+2028, U+2029, U+202F, U+205F, U+2060
            0xe2 => matches!(
                (next(1), next(2)),
                (Some(0x80), Some(0x80..=0x8d | 0xa8 | 0xa9 | 0xaf))
                    | (Some(0x81), Some(0x9f | 0xa0))
            ),
            // U+3000
            0xe3 => next(1) == Some(0x80) && next(2) == Some(0x80),
            // U+FEFF
            0xef => next(1) == Some(0xbb) && next(2) == Some(0xbf),
            _ => false,
        }
    };
    !(memchr::memchr3_iter(0xc2, 0xe2, 0xef, bytes).any(odd_at)
        || memchr::memchr2_iter(0xe1, 0xe3, bytes).any(odd_at))
}

/// How a document lays out its paragraphs.
struct Layout {
    /// Lines are paragraphs (PDF text reflowed, or typed): a line break ends a paragraph.
    paragraph_per_line: bool,
    /// Wrap width of hard-wrapped lines, in characters.
    width: usize,
}

impl Layout {
    /// Whether line `b` continues the paragraph of line `a` (with blank lines or
    /// furniture lines between them as flagged).
    fn joins(
        &self,
        pa: &Line,
        a: &str,
        pb: &Line,
        b: &str,
        gap_blank: bool,
        gap_furniture: bool,
    ) -> bool {
        let open = !ends_clause(a) || pa.soft_break;
        // The first letter or digit of `b`, past opening quotes and brackets.
        let b_first = b
            .trim_start_matches(['(', '[', '"', '“', '‘', '\''])
            .chars()
            .next()
            .unwrap_or(' ');
        if open
            && (b_first.is_lowercase()
                || b_first.is_ascii_digit()
                || pa.soft_break
                || ends_with_function_word(a)
                || segment::ends_with_abbreviation(a))
        {
            return true; // a sentence cut by a wrap, a page break or a stray blank line
        }
        if open && !gap_blank && a.matches('(').count() > a.matches(')').count() {
            return true; // a wrapped parenthesis, as in a speaker header
        }
        if self.paragraph_per_line {
            return open && gap_furniture;
        }
        if gap_furniture {
            return true;
        }
        if gap_blank {
            return false;
        }
        if pb.indent > pa.indent && pb.indent >= 2 {
            return false; // an indented first line
        }
        // A short line not ending a sentence, before a capital: a heading.
        let short = pa.chars * 10 < self.width * 6;
        !(open && short && !speakers::opens_header(a))
    }
}

/// The wrap width: the 90th percentile of content line lengths.
fn wrap_width(content: &[&Line]) -> usize {
    let mut lens: Vec<usize> = content.iter().map(|l| l.chars).collect();
    let k = (lens.len() - 1) * 9 / 10;
    *lens.select_nth_unstable(k).1
}

/// Where a hyphen that stood at a line end, now followed by a space inside a line
/// (`Secretary- General`, an earlier extraction's join), is repaired: the text is kept
/// up to `keep_to` and resumes at `resume_at`.
struct InlineHyphen {
    keep_to: usize,
    resume_at: usize,
}

/// Decides the `- ` at byte `k` of `raw` (inside the line ending at `end`; the text
/// since `from` is not yet appended). Suspended hyphens (`low- and middle-income`)
/// and dashes are left alone.
fn inline_hyphen(
    raw: &str,
    from: usize,
    k: usize,
    end: usize,
    doc: &DocWords<'_>,
) -> Option<InlineHyphen> {
    let before = raw[from..k]
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or("");
    let after = raw[k + 2..end]
        .split(char::is_whitespace)
        .next()
        .unwrap_or("");
    let letter_or_digit = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    if !letter_or_digit(before.chars().next_back()) || !letter_or_digit(after.chars().next()) {
        return None;
    }
    let next_word = after.trim_end_matches(|c: char| !c.is_alphanumeric());
    if SUSPENDED.contains(&next_word) {
        return None;
    }
    match hyphen::resolve(before, after, doc) {
        HyphenJoin::Keep => Some(InlineHyphen {
            keep_to: k + 1,
            resume_at: k + 2,
        }),
        HyphenJoin::Drop => Some(InlineHyphen {
            keep_to: k,
            resume_at: k + 2,
        }),
        HyphenJoin::Space => None,
    }
}

/// The document's own words, to settle its hyphens (at line ends, or before a space
/// inside a line); empty when it has none.
fn doc_words<'a>(raw: &'a str, content: &[&Line]) -> DocWords<'a> {
    let text = |l: &Line| &raw[l.start..l.end];
    let hyphen = |l: &Line| {
        text(l).ends_with('-') || memchr::memmem::find(text(l).as_bytes(), b"- ").is_some()
    };
    if !content.iter().any(|l| hyphen(l)) {
        return DocWords::default();
    }
    DocWords::new(content.iter().map(|l| text(l)))
}

/// Splits `raw` into lines (LF, CRLF or CR) and classifies them.
fn scan_lines(raw: &str) -> Vec<Line> {
    let bytes = raw.as_bytes();
    let mut lines = Vec::with_capacity(raw.len() / 48 + 1);
    let mut pos = 0;
    loop {
        let nl = memchr::memchr2(b'\n', b'\r', &bytes[pos..]).map(|i| pos + i);
        let end = nl.unwrap_or(bytes.len());
        lines.push(trim_line(raw, pos, end));
        match nl {
            None => break,
            Some(i) if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') => pos = i + 2,
            Some(i) => pos = i + 1,
        }
    }
    let mut furn: Vec<bool> = lines
        .iter()
        .map(|l| l.kind != LineKind::Blank && furniture::is_furniture_line(&raw[l.start..l.end]))
        .collect();
    let blank: Vec<bool> = lines.iter().map(|l| l.kind == LineKind::Blank).collect();
    if furn.iter().any(|&f| f) {
        furniture::mark_repeated_heads(&mut furn, &blank, |i| &raw[lines[i].start..lines[i].end]);
    }
    for (l, f) in lines.iter_mut().zip(furn) {
        if f {
            l.kind = LineKind::Furniture;
        }
    }
    lines
}

/// Trims whitespace and invisible characters from both ends of `raw[start..end]`.
fn trim_line(raw: &str, start: usize, end: usize) -> Line {
    let s = &raw[start..end];
    let mut indent = 0;
    let mut lead = s.len();
    for (i, c) in s.char_indices() {
        match c {
            '\t' => indent += 4,
            c if c.is_whitespace() => indent += 1,
            c if is_invisible(c) => {}
            _ => {
                lead = i;
                break;
            }
        }
    }
    if lead == s.len() {
        return Line {
            start,
            end: start,
            indent: 0,
            chars: 0,
            soft_break: false,
            kind: LineKind::Blank,
        };
    }
    let mut soft_break = false;
    let mut trail = s.len();
    for (i, c) in s.char_indices().rev() {
        if c == '\u{00ad}' {
            soft_break = true;
        } else if !(c.is_whitespace() || is_invisible(c)) {
            trail = i + c.len_utf8();
            break;
        }
    }
    let content = &s[lead..trail];
    let chars = if content.is_ascii() {
        content.len()
    } else {
        content.chars().count()
    };
    Line {
        start: start + lead,
        end: start + trail,
        indent,
        chars,
        soft_break,
        kind: LineKind::Content,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paras(raw: &str) -> Vec<String> {
        let n = Normalized::new(raw);
        n.paragraphs()
            .iter()
            .map(|r| n.text()[r.clone()].to_string())
            .collect()
    }

    #[test]
    fn wrapped_lines_join_and_blank_lines_split() {
        let raw =
            "We thank the presidency for\nconvening this debate.\n\nWe also thank the\nbriefers.\n";
        assert_eq!(
            paras(raw),
            [
                "We thank the presidency for convening this debate.",
                "We also thank the briefers."
            ]
        );
    }

    #[test]
    fn bom_crlf_and_spaces_are_normalised() {
        let raw = "\u{feff}The  Council\tmust act\r\nnow.\r\n";
        let n = Normalized::new(raw);
        assert_eq!(n.text(), "The Council must act now.");
        let r = n.paragraphs()[0].clone();
        assert_eq!(n.original_range(r), 3..raw.len() - 2);
    }

    #[test]
    fn hyphens_at_line_ends() {
        let raw = "sustainable develop-\nment and the Secretary-\nGeneral's sixty-\nseventh post-\n2015 agenda";
        assert_eq!(paras(raw), ["sustainable development and the Secretary-General's sixty-seventh post-2015 agenda"]);
    }

    #[test]
    fn soft_hyphen_breaks_a_word() {
        assert_eq!(
            paras("develop\u{ad}\nment of peace\u{ad}keeping"),
            ["development of peacekeeping"]
        );
    }

    #[test]
    fn indented_first_lines_start_paragraphs() {
        let raw = "    First paragraph wraps here and\ngoes on.\n    Second paragraph.\n";
        assert_eq!(
            paras(raw),
            [
                "First paragraph wraps here and goes on.",
                "Second paragraph."
            ]
        );
    }

    #[test]
    fn furniture_in_mid_sentence_is_removed() {
        let raw = "the United Nations system must be strength-\n\n17-06868 7/26\n\nS/PV.7898 Trafficking in persons 15/03/2017\n\nened without delay.";
        let n = Normalized::new(raw);
        assert_eq!(
            n.text(),
            "the United Nations system must be strengthened without delay."
        );
        assert_eq!(n.furniture().len(), 2);
        let r = n.paragraphs()[0].clone();
        assert_eq!(n.original_range(r), 0..raw.len());
    }

    #[test]
    fn lines_as_paragraphs_with_a_page_break() {
        let long = "word ".repeat(40);
        let raw = format!("{long}However, it\n15-29425 31/34\n\u{c}\nA/70/PV.15 28/09/2015\nalso poses a challenge.\nA new paragraph {long}.\nTitle\nText {long}.");
        let p = paras(&raw);
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].ends_with("However, it also poses a challenge."));
        assert_eq!(p[2], "Title");
    }

    #[test]
    fn short_heading_line_is_its_own_paragraph() {
        let raw = "Adoption of the agenda\nThe agenda was adopted, and the Council then turned\nto the item on its agenda for the day, as planned.";
        assert_eq!(paras(raw)[0], "Adoption of the agenda");
    }

    #[test]
    fn wrapped_parenthesis_joins_before_a_capital() {
        let raw = "Mr. Ould Cheikh Ahmed (Mauritania) (spoke in\nArabic): We thank you.";
        assert_eq!(
            paras(raw),
            ["Mr. Ould Cheikh Ahmed (Mauritania) (spoke in Arabic): We thank you."]
        );
    }

    #[test]
    fn hyphen_left_before_a_space_inside_a_line() {
        let raw = "the Secretary- General, low- and middle-income States, develop- ment and 2014- 2018 - a dash";
        assert_eq!(
            paras(raw),
            ["the Secretary-General, low- and middle-income States, development and 2014-2018 - a dash"]
        );
    }

    #[test]
    fn paragraph_lines_cut_mid_sentence_are_joined() {
        let long = "word ".repeat(40);
        let raw = format!(
            "{long}called for by the United Nations, namely,\n0.7 per cent.\n{long}the creation of a\n\nPalestinian State.\n\
             {long}in Europe\n(see A/69/PV.15). {long}has\n“penetrated every level”.\n{long}Heading\nNew paragraph {long}."
        );
        let p = paras(&raw);
        assert_eq!(p.len(), 5, "{p:#?}");
        assert!(p[0].ends_with("namely, 0.7 per cent."));
        assert!(p[1].ends_with("creation of a Palestinian State."));
        assert!(p[2].contains("in Europe (see A/69/PV.15)."));
        assert!(p[2].ends_with("has “penetrated every level”."));
        assert!(p[3].ends_with("Heading"));
    }

    #[test]
    fn a_title_at_a_line_end_continues_the_paragraph() {
        let long = "word ".repeat(40);
        let raw = format!("{long}in flux, Mr.\nPresident, and we act.");
        assert_eq!(paras(&raw).len(), 1);
    }

    #[test]
    fn verbatim_lines_hold_no_odd_space_or_invisible_character() {
        assert!(verbatim("Côte d’Ivoire — “yes”, 2°C.".as_bytes()));
        for odd in [
            "a  b",
            "a\tb",
            "a\u{a0}b",
            "a\u{ad}b",
            "a\u{200b}b",
            "a\u{2009}b",
            "a\u{3000}b",
            "a\u{feff}b",
            "a\u{85}b",
            "a\u{2028}b",
        ] {
            assert!(!verbatim(odd.as_bytes()), "{odd:?}");
        }
    }

    #[test]
    fn offsets_map_back_across_collapsed_space() {
        let raw = "ab  cd\n  ef";
        let n = Normalized::new(raw);
        assert_eq!(n.text(), "ab cd ef");
        assert_eq!(n.to_original(3), 4);
        assert_eq!(n.to_original(6), 9);
        assert_eq!(n.original_range(3..8), 4..11);
    }
}
