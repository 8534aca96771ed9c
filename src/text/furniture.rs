//! Page furniture of UN documents: whole lines that a PDF extraction leaves between
//! the lines of running text (job numbers, page counters, running heads, rules).
//!
//! Only whole lines are judged, so a symbol or number quoted inside a sentence
//! ("resolution 70/291", "S/2017/123") is never touched.

use std::collections::HashMap;

use super::{normalize, speakers};

/// Whether a trimmed line is page furniture by its form alone.
///
/// Recognised: job numbers with page numbers, counters, language codes and bar codes
/// (`17-06868`, `15 11-51197`, `15-29425 31/34`, `17-06868 (E) *1706868*`); page
/// counters and lone page numbers (`7/26`, `15`, `Page 3`, `- 3 -`); running heads that
/// begin or end with a document symbol or a date (`S/PV.7898 Trafficking in persons in
/// conflict situations 15/03/2017`, `A/70/PV.24`, `28/09/2015 A/70/PV.15`); rules made
/// of dashes or stars.
pub fn is_furniture_line(line: &str) -> bool {
    let line = line.trim();
    if line.is_empty() || line.len() > 200 {
        return false;
    }
    let first_byte = line.as_bytes()[0];
    if !first_byte.is_ascii_alphanumeric() {
        return is_rule(line)
            || (matches!(first_byte, b'*' | b'-' | b'(')
                && (is_job_line(line) || is_counter_line(line)));
    }
    // Every other kind of furniture has a digit in its first or last word (`Page 3`
    // aside): prose lines leave here after two words.
    let first = line.split(char::is_whitespace).next().unwrap_or("");
    let last = line.rsplit(char::is_whitespace).next().unwrap_or("");
    let digit = |t: &str| t.bytes().any(|b| b.is_ascii_digit());
    if !digit(first) && !digit(last) && !matches!(first, "Page" | "page") {
        return false;
    }
    is_job_line(line) || is_counter_line(line) || is_running_head(line)
}

/// A line made only of rule characters (`---`, `***`, `_____`).
fn is_rule(line: &str) -> bool {
    line.chars().count() >= 3
        && line
            .chars()
            .all(|c| matches!(c, '-' | '–' | '—' | '_' | '*' | '=' | '•' | '·' | '~' | ' '))
}

/// A line of job number, page numbers, page counters, language code and bar code,
/// holding at least one job number.
fn is_job_line(line: &str) -> bool {
    let mut tokens = 0;
    let mut has_job = false;
    for t in line.split_whitespace() {
        tokens += 1;
        if tokens > 6 {
            return false;
        }
        if is_job_number(t) {
            has_job = true;
        } else if !(is_page_number(t) || is_page_counter(t) || is_language_code(t) || is_barcode(t))
        {
            return false;
        }
    }
    has_job
}

/// A lone page number or counter: `15`, `7/26`, `Page 7`, `Page 7 of 26`, `- 7 -`.
fn is_counter_line(line: &str) -> bool {
    let tokens: line_tokens::Tokens = line_tokens::tokens(line);
    match tokens.as_slice() {
        [t] => is_page_number(t) || is_page_counter(t) || is_barcode(t),
        ["Page" | "page", n] => is_page_number(n),
        ["Page" | "page", n, "of", m] => is_page_number(n) && is_page_number(m),
        ["-" | "–", n, "-" | "–"] => is_page_number(n),
        _ => false,
    }
}

/// A running head: a line that begins with a document symbol or date and ends with
/// one (a title may stand between), or a meeting-record symbol with a short title.
fn is_running_head(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    let last = line.split_whitespace().next_back().unwrap_or(first);
    let head_mark = |t: &str| is_doc_symbol(t) || is_date(t);
    if head_mark(first) && head_mark(last) {
        return true;
    }
    // `S/PV.7898 (Resumption 1)`, `A/70/PV.24 General Assembly`: a meeting record's
    // symbol opening or closing a short line that is not a sentence.
    // The same with a date: `General Assembly Sixty-sixth session 22/09/2011`.
    let meeting = |t: &str| is_doc_symbol(t) && (t.contains("/PV.") || t.contains("/SR."));
    (meeting(first) || meeting(last) || is_date(first) || is_date(last))
        && line.split_whitespace().count() <= 16
        && !ends_sentence(line)
}

/// Whether a line's last visible character ends a sentence or clause.
fn ends_sentence(line: &str) -> bool {
    line.trim_end_matches([')', ']', '"', '”', '’', '\''])
        .ends_with(['.', '?', '!', ';', ':', ','])
}

/// `17-06868`, `11-51197X`.
fn is_job_number(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match b.len() {
        8 => digits(&b[..2]) && b[2] == b'-' && digits(&b[3..]),
        9 => digits(&b[..2]) && b[2] == b'-' && digits(&b[3..8]) && b[8].is_ascii_uppercase(),
        _ => false,
    }
}

/// A page number: one to three digits, not starting with 0.
fn is_page_number(t: &str) -> bool {
    (1..=3).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) && !t.starts_with('0')
}

/// A page counter `7/26` (page not beyond the page count).
fn is_page_counter(t: &str) -> bool {
    let Some((a, b)) = t.split_once('/') else {
        return false;
    };
    if !is_page_number(a) || !is_page_number(b) {
        return false;
    }
    let (a, b): (u32, u32) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
    a >= 1 && a <= b
}

/// The translation mark of a UN document: `(E)`, `(F)`, `(S)`, `(R)`, `(C)`, `(A)`.
fn is_language_code(t: &str) -> bool {
    matches!(t, "(E)" | "(F)" | "(S)" | "(R)" | "(C)" | "(A)")
}

/// A bar code number: `*1706868*` or `1706868`.
fn is_barcode(t: &str) -> bool {
    let inner = t
        .strip_prefix('*')
        .and_then(|s| s.strip_suffix('*'))
        .unwrap_or(t);
    (7..=9).contains(&inner.len()) && inner.bytes().all(|b| b.is_ascii_digit())
}

/// A date as running heads print it: `15/03/2017`.
fn is_date(t: &str) -> bool {
    let mut parts = t.split('/');
    let (Some(d), Some(m), Some(y), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let num = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    num(d, 1, 2) && num(m, 1, 2) && y.len() == 4 && num(y, 4, 4)
}

/// A UN document symbol: `S/PV.7898`, `A/70/PV.24`, `A/RES/70/1`, `S/2017/123`,
/// `A/C.3/72/SR.5`: an upper-case series letter group, slashes, at least one digit,
/// and no trailing punctuation.
pub(crate) fn is_doc_symbol(t: &str) -> bool {
    let Some((series, rest)) = t.split_once('/') else {
        return false;
    };
    (1..=6).contains(&series.len())
        && series.bytes().all(|b| b.is_ascii_uppercase())
        && !rest.is_empty()
        && rest.bytes().any(|b| b.is_ascii_digit())
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'(' | b')'))
        && !rest.ends_with(['.', '-', '/'])
}

/// Marks lines that repeat the running head of each page: a short line that is not a
/// sentence (nor the start of one: no speaker title, no final `of` or `the`), lies next
/// to furniture (blank lines between do not count), and occurs at least twice in such
/// places. `furniture[i]` and `blank[i]` describe line `i`;
/// `text(i)` gives its trimmed text.
pub fn mark_repeated_heads<'a>(
    furniture: &mut [bool],
    blank: &[bool],
    text: impl Fn(usize) -> &'a str,
) {
    let n = furniture.len();
    for _pass in 0..2 {
        let mut counts: HashMap<&str, u32> = HashMap::new();
        let mut candidates = Vec::new();
        for i in 0..n {
            if furniture[i] || blank[i] {
                continue;
            }
            let t = text(i);
            if t.len() > 100
                || ends_sentence(t)
                || normalize::ends_with_function_word(t)
                || speakers::starts_with_title(t)
                || !next_to_furniture(i, furniture, blank)
            {
                continue;
            }
            *counts.entry(t).or_insert(0) += 1;
            candidates.push(i);
        }
        let mut changed = false;
        for i in candidates {
            if counts.get(text(i)).copied().unwrap_or(0) >= 2 {
                furniture[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Whether the nearest non-blank line above or below line `i` is furniture.
fn next_to_furniture(i: usize, furniture: &[bool], blank: &[bool]) -> bool {
    let up = (0..i)
        .rev()
        .find(|&j| !blank[j])
        .is_some_and(|j| furniture[j]);
    let down = (i + 1..furniture.len())
        .find(|&j| !blank[j])
        .is_some_and(|j| furniture[j]);
    up || down
}

/// Tiny fixed-capacity token list, to match short lines without allocating.
mod line_tokens {
    /// Up to five whitespace-separated tokens of a line; longer lines give an empty list.
    pub struct Tokens<'a> {
        items: [&'a str; 5],
        len: usize,
    }

    impl<'a> Tokens<'a> {
        /// The tokens as a slice.
        pub fn as_slice(&self) -> &[&'a str] {
            &self.items[..self.len]
        }
    }

    /// Splits `line` on whitespace into at most five tokens (none if there are more).
    pub fn tokens(line: &str) -> Tokens<'_> {
        let mut out = Tokens {
            items: [""; 5],
            len: 0,
        };
        for t in line.split_whitespace() {
            if out.len == 5 {
                out.len = 0;
                return out;
            }
            out.items[out.len] = t;
            out.len += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_numbers_and_counters_are_furniture() {
        for l in [
            "17-06868",
            "15 11-51197",
            "11-51197 15",
            "15-29425 31/34",
            "7/26 17-06868",
            "17-06868 (E)",
            "17-06868 (E) *1706868*",
            "7/26",
            "15",
            "Page 3",
            "- 3 -",
            "*1706868*",
            "---",
            "  ***  ",
        ] {
            assert!(is_furniture_line(l), "{l:?} should be furniture");
        }
    }

    #[test]
    fn running_heads_are_furniture() {
        for l in [
            "S/PV.7898 Trafficking in persons in conflict situations 15/03/2017",
            "15/03/2017 Trafficking in persons in conflict situations S/PV.7898",
            "A/70/PV.24",
            "A/70/PV.15 28/09/2015",
            "28/09/2015 A/70/PV.15",
            "S/PV.8123 (Resumption 1)",
            "A/66/PV.12 General Assembly",
            "15/03/2017",
            "General Assembly Sixty-sixth session 22/09/2011",
            "22/09/2011 Protection of civilians",
        ] {
            assert!(is_furniture_line(l), "{l:?} should be furniture");
        }
    }

    #[test]
    fn prose_lines_are_not_furniture() {
        for l in [
            "General Assembly resolution 70/291, on the United",
            "resolution 2331 (2016), reaffirms its strong commitment",
            "S/2017/123, which the Council adopted last year,",
            "Regional Programme for 2014-2018, as well as the",
            "2015.",
            "A/70/PV.24, p. 5).",
            "In 2015 we adopted the 2030 Agenda for",
            "the 70/30 split of the funds",
            "12 countries",
            "0/5",
            "26/7",
            "the meeting of 22/09/2011 decided that the",
            "22/09/2011 was the day on which we adopted it.",
        ] {
            assert!(!is_furniture_line(l), "{l:?} should be kept");
        }
    }

    #[test]
    fn repeated_title_next_to_furniture_is_a_head() {
        let lines = [
            "text of the speech that goes on and",
            "",
            "S/PV.7898",
            "Trafficking in persons in conflict situations",
            "",
            "more text of the speech that goes on",
            "",
            "S/PV.7898",
            "Trafficking in persons in conflict situations",
            "",
            "and ends here.",
        ];
        let blank: Vec<bool> = lines.iter().map(|l| l.trim().is_empty()).collect();
        let mut furn: Vec<bool> = lines.iter().map(|l| is_furniture_line(l)).collect();
        mark_repeated_heads(&mut furn, &blank, |i| lines[i]);
        assert_eq!(
            furn,
            [false, false, true, true, false, false, false, true, true, false, false]
        );
    }

    #[test]
    fn repeated_speech_lines_next_to_furniture_are_kept() {
        let lines = [
            "18-15032",
            "The President: I now give the floor to the representative of",
            "Uruguay.",
            "18-15032",
            "The President: I now give the floor to the representative of",
            "France.",
            "18-15032",
            "I now give the floor to the representative of",
            "Chad.",
            "18-15032",
            "I now give the floor to the representative of",
            "Peru.",
        ];
        let blank = [false; 12];
        let mut furn: Vec<bool> = lines.iter().map(|l| is_furniture_line(l)).collect();
        mark_repeated_heads(&mut furn, &blank, |i| lines[i]);
        assert_eq!(furn.iter().filter(|&&f| f).count(), 4);
    }

    #[test]
    fn single_title_next_to_furniture_is_kept() {
        let lines = [
            "S/PV.7898",
            "Trafficking in persons in conflict situations",
            "text.",
        ];
        let blank = [false; 3];
        let mut furn: Vec<bool> = lines.iter().map(|l| is_furniture_line(l)).collect();
        mark_repeated_heads(&mut furn, &blank, |i| lines[i]);
        assert_eq!(furn, [true, false, false]);
    }
}
