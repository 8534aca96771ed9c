//! Sentence boundaries in normalised text, tuned to diplomatic prose: titles and
//! abbreviations (`Mr.`, `H.E.`, `No. 5`, `e.g.`, `U.N.`), document references
//! (`resolution 2331 (2016)`, `S/2017/123`, `A/RES/70/1`), numbers (`0.7 per cent`,
//! `$1.5 billion`), quotations and parentheses, `?` and `!`; semicolons and colons
//! never end a sentence.

use std::ops::Range;

/// Titles and abbreviations after which a period never ends a sentence.
const NEVER_FINAL: &[&str] = &[
    "Mr", "Mrs", "Ms", "Messrs", "Mmes", "Mme", "Mlle", "Dr", "Drs", "Prof", "St", "Ste", "Mt",
    "Sen", "Rep", "Gov", "Gen", "Lt", "Col", "Capt", "Maj", "Sgt", "Adm", "Cmdr", "Rev", "Hon",
    "Rt", "Amb", "Msgr", "Fr", "H.E", "e.g", "i.e", "E.g", "I.e", "cf", "Cf", "viz", "vs",
    "approx", "incl", "Excl", "excl", "ca", "Jan", "Feb", "Aug", "Sept", "Oct", "Nov", "Dec",
    "Dept", "Univ", "Assn",
];

/// Abbreviations that do not end a sentence when a number follows (`No. 5`, `para. 3`).
const BEFORE_NUMBER: &[&str] = &[
    "No", "Nos", "no", "nos", "Art", "Arts", "art", "para", "paras", "Para", "p", "pp", "vol",
    "Vol", "vols", "Ch", "ch", "chap", "Chap", "sect", "Sect", "sec", "Sec", "fig", "Fig", "op",
    "Op", "Res", "res", "Doc", "doc", "annex", "Annex", "Add", "Rev", "Corr", "Suppl", "Supp",
    "ed", "Ed",
];

/// Words that begin a new sentence after an initialism such as `U.S.` or a lone
/// capital (`annex I.`).
const STARTERS: &[&str] = &[
    "The",
    "This",
    "That",
    "These",
    "Those",
    "There",
    "Their",
    "They",
    "We",
    "Our",
    "It",
    "Its",
    "In",
    "At",
    "As",
    "On",
    "For",
    "With",
    "By",
    "From",
    "I",
    "My",
    "He",
    "She",
    "His",
    "Her",
    "However",
    "Moreover",
    "Furthermore",
    "Therefore",
    "Thus",
    "Hence",
    "Finally",
    "Today",
    "Yet",
    "But",
    "And",
    "Such",
    "All",
    "Let",
    "If",
    "When",
    "While",
    "A",
    "An",
    "What",
    "Why",
    "How",
    "Now",
    "Nor",
    "Since",
    "Indeed",
    "Accordingly",
];

/// Whether `s` ends with a title or abbreviation after which no sentence ends
/// (`Mr.`, `H.E.`, `e.g.`).
pub(crate) fn ends_with_abbreviation(s: &str) -> bool {
    let Some(rest) = s.strip_suffix('.') else {
        return false;
    };
    let word = rest
        .rsplit(' ')
        .next()
        .unwrap_or("")
        .trim_start_matches(is_opener);
    NEVER_FINAL.contains(&word.trim_start_matches(['*', '_']))
}

/// Characters that may follow a sentence's final mark and belong to the sentence.
fn is_closer(c: char) -> bool {
    matches!(c, ')' | ']' | '"' | '\'' | '”' | '’' | '»')
}

/// Characters that may open a sentence before its first letter.
fn is_opener(c: char) -> bool {
    matches!(c, '(' | '[' | '"' | '\'' | '“' | '‘' | '«')
}

fn is_final_mark(c: char) -> bool {
    matches!(c, '.' | '?' | '!' | '…')
}

/// Pushes to `out` the sentences of `text[range]` (one paragraph or part of one, with
/// single spaces and no line breaks), as trimmed byte ranges of `text`.
pub fn split_sentences(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    let para = &text[range.clone()];
    let base = range.start;
    let protected = protected_spans(para);
    let bytes = para.as_bytes();
    let has_ellipsis = para.contains('…');
    let mut sent_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Jump to the next final mark.
        let next = if has_ellipsis {
            bytes[i..]
                .iter()
                .position(|&b| matches!(b, b'.' | b'?' | b'!' | 0xE2))
        } else {
            memchr::memchr3(b'.', b'?', b'!', &bytes[i..])
        };
        let Some(k) = next else { break };
        i += k;
        if bytes[i] == 0xE2 && !para[i..].starts_with('…') {
            i += 1; // another character led by the same byte
            continue;
        }
        // The run of final marks and closers after this mark.
        let mut j = i;
        for c in para[i..].chars() {
            if is_final_mark(c) || is_closer(c) {
                j += c.len_utf8();
            } else {
                break;
            }
        }
        if j < bytes.len() && bytes[j] == b' ' && is_boundary(para, sent_start, i, j, &protected) {
            push_trimmed(para, base, sent_start..j, out);
            sent_start = j + 1;
        }
        i = j;
    }
    push_trimmed(para, base, sent_start..para.len(), out);
}

fn push_trimmed(para: &str, base: usize, r: Range<usize>, out: &mut Vec<Range<usize>>) {
    let s = &para[r.clone()];
    let lead = s.len() - s.trim_start().len();
    let t = s.trim();
    if !t.is_empty() {
        out.push(base + r.start + lead..base + r.start + lead + t.len());
    }
}

/// Whether the final mark at `i`, whose run of marks and closers ends at `j` (a space
/// follows), ends the sentence that began at `sent_start`.
fn is_boundary(
    para: &str,
    sent_start: usize,
    i: usize,
    j: usize,
    protected: &[Range<usize>],
) -> bool {
    if protected.iter().any(|p| p.start < i && p.end > j) {
        return false; // inside a parenthesis or quotation that closes later
    }
    let rest = &para[j + 1..];
    let next_word = rest.trim_start_matches(is_opener);
    let Some(n) = next_word.chars().next() else {
        return true;
    };
    if n.is_lowercase() || matches!(n, ',' | ';' | ':' | ')' | ']' | '-' | '–') {
        return false;
    }
    let run = &para[i..j];
    if run.contains(['?', '!']) || run.starts_with("..") || run.starts_with('…') {
        return true;
    }
    // The word the period ends, without opening brackets or quotes.
    let word_start = para[..i].rfind(' ').map_or(0, |k| k + 1);
    let word = para[word_start..i].trim_start_matches(|c| is_opener(c) || c == '*' || c == '_');
    if word.is_empty() {
        return true;
    }
    if NEVER_FINAL.contains(&word) {
        return false;
    }
    if n.is_ascii_digit() && BEFORE_NUMBER.contains(&word) {
        return false;
    }
    if is_initialism(word) {
        let next = next_word.split([' ', ',']).next().unwrap_or("");
        return STARTERS.contains(&next);
    }
    if word_start == sent_start && sent_start == 0 && is_list_number(word) {
        return false; // "1. The Council ...": a numbered paragraph
    }
    true
}

/// `U.S`, `U.N`, `a.m`, `A` (before the final period): letters in groups of at most
/// two between periods, or one letter alone.
fn is_initialism(word: &str) -> bool {
    if word.chars().count() == 1 {
        return word.chars().all(char::is_alphabetic);
    }
    word.contains('.')
        && word
            .split('.')
            .all(|g| (1..=2).contains(&g.chars().count()) && g.chars().all(char::is_alphabetic))
}

/// `1`, `12`, `IV`, `(a)`: the number of a numbered paragraph.
fn is_list_number(word: &str) -> bool {
    let w = word.trim_matches(|c| c == '(' || c == ')');
    (!w.is_empty() && w.len() <= 3 && w.bytes().all(|b| b.is_ascii_digit()))
        || (!w.is_empty() && w.len() <= 5 && w.chars().all(|c| matches!(c, 'I' | 'V' | 'X' | 'L')))
}

/// Parentheses and quotations of up to 400 bytes, as byte ranges of `para`: a
/// sentence does not end inside them.
fn protected_spans(para: &str) -> Vec<Range<usize>> {
    const MAX: usize = 400;
    const LEFT_QUOTE: &[u8] = "“".as_bytes();
    const RIGHT_QUOTE: &[u8] = "”".as_bytes();
    let mut spans = Vec::new();
    let bytes = para.as_bytes();
    if !bytes.iter().any(|b| matches!(b, b'(' | b'[' | b'"')) && !para.contains('“') {
        return spans;
    }
    let mut parens: Vec<usize> = Vec::new();
    let mut curly: Vec<usize> = Vec::new();
    let mut straight: Option<usize> = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' | b'[' => parens.push(i),
            b')' | b']' => {
                if let Some(s) = parens.pop() {
                    spans.push(s..i + 1);
                }
            }
            b'"' => {
                let prev = para[..i].chars().next_back().unwrap_or(' ');
                match straight {
                    Some(s) if !(prev == ' ' || is_opener(prev)) => {
                        spans.push(s..i + 1);
                        straight = None;
                    }
                    _ => straight = Some(i),
                }
            }
            0xE2 if bytes[i..].starts_with(LEFT_QUOTE) => curly.push(i),
            0xE2 if bytes[i..].starts_with(RIGHT_QUOTE) => {
                if let Some(s) = curly.pop() {
                    spans.push(s..i + RIGHT_QUOTE.len());
                }
            }
            _ => {}
        }
    }
    spans.retain(|r| r.end - r.start <= MAX);
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        split_sentences(s, 0..s.len(), &mut out);
        out.into_iter().map(|r| &s[r]).collect()
    }

    #[test]
    fn simple_sentences() {
        assert_eq!(
            sents("We thank you. We agree! Do we? Yes."),
            ["We thank you.", "We agree!", "Do we?", "Yes."]
        );
    }

    #[test]
    fn titles_and_abbreviations() {
        assert_eq!(
            sents("I thank Mr. Fedotov and Ms. Hyland. We welcome H.E. Mr. Tanaka."),
            [
                "I thank Mr. Fedotov and Ms. Hyland.",
                "We welcome H.E. Mr. Tanaka."
            ]
        );
        assert_eq!(
            sents("See Art. 5 and para. 3 of resolution No. 12. It is clear."),
            [
                "See Art. 5 and para. 3 of resolution No. 12.",
                "It is clear."
            ]
        );
        assert_eq!(
            sents("Some States, e.g. Chad, and St. Lucia agree, i.e. They do."),
            ["Some States, e.g. Chad, and St. Lucia agree, i.e. They do."]
        );
        assert_eq!(
            sents("The U.N. Charter and the U.S. Government agree. In the U.S. We act."),
            [
                "The U.N. Charter and the U.S. Government agree.",
                "In the U.S.",
                "We act."
            ]
        );
    }

    #[test]
    fn references_and_numbers() {
        let s = "Resolution 2331 (2016) was adopted. See S/2017/123. It cites A/RES/70/1 and 70/291. \
                 We gave 0.7 per cent, or $1.5 billion, in 2014-2018. The meeting rose at 1.05 p.m.";
        assert_eq!(
            sents(s),
            [
                "Resolution 2331 (2016) was adopted.",
                "See S/2017/123.",
                "It cites A/RES/70/1 and 70/291.",
                "We gave 0.7 per cent, or $1.5 billion, in 2014-2018.",
                "The meeting rose at 1.05 p.m."
            ]
        );
    }

    #[test]
    fn quotations_and_parentheses() {
        assert_eq!(
            sents("He said, “We cannot wait. We must act.” We agree."),
            ["He said, “We cannot wait. We must act.”", "We agree."]
        );
        assert_eq!(
            sents("The report (see annex. It is long.) is useful. Yes."),
            ["The report (see annex. It is long.) is useful.", "Yes."]
        );
        assert_eq!(
            sents("He asked \"why?\" and left. (We stayed.) Then we spoke."),
            [
                "He asked \"why?\" and left.",
                "(We stayed.)",
                "Then we spoke."
            ]
        );
    }

    #[test]
    fn semicolon_lists_stay_whole() {
        let s = "We call for: (a) more funds; (b) better data; and (c) training. That is all.";
        assert_eq!(
            sents(s),
            [
                "We call for: (a) more funds; (b) better data; and (c) training.",
                "That is all."
            ]
        );
    }

    #[test]
    fn numbered_paragraph_and_lowercase_continuation() {
        assert_eq!(
            sents("1. The Council met. It decided, etc. and then left."),
            ["1. The Council met.", "It decided, etc. and then left."]
        );
    }

    #[test]
    fn ellipsis_and_unfinished_text() {
        assert_eq!(
            sents("We waited… Then came the vote... And no end"),
            ["We waited…", "Then came the vote...", "And no end"]
        );
    }
}
