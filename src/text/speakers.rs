//! Speaker headers of verbatim records: `Mrs. Abylkassymova (Kazakhstan):`,
//! `Mr. Llorentty Solíz (Bolivia (Plurinational State of)) (spoke in Spanish):`,
//! `The President (spoke in French):`, `The Secretary-General:`, `Mr. Fedotov:`.
//!
//! A header is parsed from normalised text (one space between words), so a header
//! wrapped over two lines in the source reads as one.

use std::collections::HashSet;
use std::sync::LazyLock;

/// A speaker header found at the start of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Bytes the header takes, up to and including its colon.
    pub len: usize,
    /// Bytes up to the first byte of the statement (the colon and the spaces after it).
    pub skip: usize,
    /// Who speaks: `Mrs. Abylkassymova`, `The President`.
    pub speaker: String,
    /// For whom, when the header says: `Kazakhstan`; `None` for the President,
    /// the Secretary-General and briefers.
    pub delegation: Option<String>,
}

/// Office holders named by office: `The President:`. Matched case-insensitively (old
/// records print `The PRESIDENT`) and reported in this spelling.
const ROLES: &[&str] = &[
    "Acting President",
    "Temporary President",
    "Vice-President",
    "President",
    "Deputy Secretary-General",
    "Acting Secretary-General",
    "Secretary-General",
    "Acting Chairperson",
    "Acting Chairman",
    "Acting Chair",
    "Vice-Chairperson",
    "Vice-Chairman",
    "Vice-Chair",
    "Co-Chairperson",
    "Co-Chair",
    "Chairperson",
    "Chairwoman",
    "Chairman",
    "Chair",
    "Rapporteur",
    "Secretary",
];

/// Forms of address that may come before a personal title: `His Excellency Mr. X`.
const HONORIFICS: &[&str] = &[
    "His Excellency",
    "Her Excellency",
    "His Royal Highness",
    "Her Royal Highness",
    "His Serene Highness",
    "Her Serene Highness",
    "His Highness",
    "Her Highness",
    "His Majesty",
    "Her Majesty",
    "His Holiness",
    "His Eminence",
    "His Beatitude",
    "The Right Honourable",
    "The Honourable",
    "Right Honourable",
    "Rt. Hon.",
    "Hon.",
];

/// Personal titles that begin a speaker's name.
const TITLES: &[&str] = &[
    "Mr.",
    "Mrs.",
    "Ms.",
    "Mr",
    "Mrs",
    "Ms",
    "Miss",
    "Madam",
    "Madame",
    "Mme.",
    "Mme",
    "Mlle",
    "Dr.",
    "Dr",
    "Prof.",
    "Professor",
    "Sir",
    "Dame",
    "Lord",
    "Lady",
    "Baroness",
    "Baron",
    "Sheikha",
    "Sheikh",
    "Shaikha",
    "Shaikh",
    "Cheikh",
    "Nana",
    "Dato'",
    "Dato’",
    "Dato",
    "Datuk",
    "Datin",
    "Tan Sri",
    "Tun",
    "Pehin",
    "Crown Prince",
    "Prince",
    "Princess",
    "Emir",
    "King",
    "Queen",
    "Archbishop",
    "Cardinal",
    "Monsignor",
    "Msgr.",
    "Bishop",
    "Father",
    "Reverend",
    "Rev.",
    "Ambassador",
    "General",
    "Judge",
    "Justice",
    "Prime Minister",
    "Foreign Minister",
    "Minister",
    "Rabbi",
    "Imam",
    "Vice-President",
    "President",
    "Chancellor",
    "Senator",
    "Count",
    "Countess",
];

/// Lower-case particles of names: `Mr. van Bohemen`, `Mr. De La Fuente`.
const PARTICLES: &[&str] = &[
    "de", "da", "do", "dos", "das", "del", "della", "der", "den", "di", "du", "van", "von", "la",
    "le", "el", "al", "of", "bin", "binti", "ibn", "ben", "bint", "y", "e", "zu", "ter", "ould",
    "abu", "ag", "af", "op",
];

/// Longest header, in bytes (a long name, delegation and language note).
const MAX_HEADER: usize = 260;

/// Whether a source line opens like a header (a title or role, no colon yet): used
/// to keep a header wrapped over two lines together.
pub fn opens_header(line: &str) -> bool {
    !line.contains(':') && starts_with_title(line)
}

/// Whether a source line begins with a title or role, as a speaker header does.
pub fn starts_with_title(line: &str) -> bool {
    may_open_header(line) && (role_prefix(line).is_some() || person_prefix(line).is_some())
}

/// First words of every role, honorific and title (`The`, `Mr.`, `His`, `Sheikh`).
static OPENING_WORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    let firsts = |list: &'static [&'static str]| list.iter().filter_map(|t| t.split(' ').next());
    firsts(HONORIFICS)
        .chain(firsts(TITLES))
        .chain(["The", "THE"])
        .collect()
});

/// A cheap test before parsing: does `s` begin with a word that opens a header?
fn may_open_header(s: &str) -> bool {
    let first = s.split(' ').next().unwrap_or("");
    OPENING_WORDS.contains(first)
}

/// Parses a speaker header at the very start of `s` (normalised text).
pub fn parse_header(s: &str) -> Option<Header> {
    if !may_open_header(s) {
        return None;
    }
    let window = &s[..floor_char_boundary(s, MAX_HEADER)];
    if !window.contains(':') {
        return None;
    }
    if let Some((role, rest)) = role_prefix(window) {
        let (_, after) = paren_groups(rest)?;
        let len = colon_end(window, after)?;
        return Some(Header {
            len,
            skip: skip_spaces(s, len),
            speaker: format!("The {role}"),
            delegation: None,
        });
    }
    let (title_end, rest) = person_prefix(window)?;
    let name_len = name_length(rest)?;
    let speaker = window[..title_end + name_len].trim_end().to_string();
    let (delegation, after) = paren_groups(&rest[name_len..])?;
    let len = colon_end(window, after)?;
    Some(Header {
        len,
        skip: skip_spaces(s, len),
        speaker,
        delegation,
    })
}

/// `The President`, `The PRESIDENT`: the canonical role and the text after it.
fn role_prefix(s: &str) -> Option<(&'static str, &str)> {
    let rest = s.strip_prefix("The ").or_else(|| s.strip_prefix("THE "))?;
    ROLES.iter().find_map(|role| {
        let head = rest.get(..role.len())?;
        let after = &rest[role.len()..];
        (head.eq_ignore_ascii_case(role) && after.starts_with([' ', ':', '(']))
            .then_some((*role, after))
    })
}

/// Honorifics and titles at the start: the byte length they take (with the space
/// after them) and the text after them.
fn person_prefix(s: &str) -> Option<(usize, &str)> {
    let mut pos = 0;
    if let Some(h) = HONORIFICS.iter().find(|h| word_prefix(&s[pos..], h)) {
        pos += h.len() + 1;
    }
    let mut titles = 0;
    while titles < 2 {
        let Some(t) = TITLES.iter().find(|t| word_prefix(&s[pos..], t)) else {
            break;
        };
        pos += t.len() + 1;
        titles += 1;
    }
    (titles > 0 || pos > 0).then(|| (pos, &s[pos..]))
}

/// Whether `s` starts with the words `w` followed by a space.
fn word_prefix(s: &str, w: &str) -> bool {
    s.len() > w.len() && s.starts_with(w) && s.as_bytes()[w.len()] == b' '
}

/// Length of the name at the start of `s`: capitalised words, initials and particles,
/// ending before ` (` or `:`.
fn name_length(s: &str) -> Option<usize> {
    let mut pos = 0;
    let mut words = 0;
    let mut capitals = 0;
    loop {
        let rest = &s[pos..];
        let end = rest.find([' ', ':', '(']).unwrap_or(rest.len());
        let word = &rest[..end];
        if word.is_empty() || words == 8 || !name_word(word) {
            return None;
        }
        if word.chars().next().is_some_and(char::is_uppercase) {
            capitals += 1;
        }
        words += 1;
        pos += end;
        match &s.as_bytes()[pos..] {
            [b':', ..] | [b' ', b'(', ..] | [b'(', ..] | [b' ', b':', ..] => break,
            [b' ', ..] => pos += 1,
            _ => return None,
        }
    }
    (capitals > 0).then_some(pos)
}

/// A word of a name: `Abylkassymova`, `Al-Mouallimi`, `O'Brien`, `A.`, `van`.
fn name_word(w: &str) -> bool {
    let mut chars = w.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let shape_ok = w
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, '-' | '\'' | '’' | '.'));
    let elided = chars.next().is_some_and(|c| c == '\'' || c == '’'); // d'Escoto
    shape_ok
        && (first.is_uppercase()
            || elided
            || PARTICLES.contains(&w)
            || w.starts_with("al-")
            || w.starts_with("el-"))
}

/// Parenthesised groups after a name or role: the first that is not a language note
/// (`(spoke in French)`, `(interpretation from Arabic)`) is the delegation. Returns it
/// and the text after the groups.
fn paren_groups(mut s: &str) -> Option<(Option<String>, &str)> {
    let mut delegation = None;
    for _ in 0..3 {
        let t = s.strip_prefix(' ').unwrap_or(s);
        if !t.starts_with('(') {
            break;
        }
        let close = matching_paren(t)?;
        let inner = t[1..close].trim();
        if inner.is_empty() || inner.contains(':') {
            return None;
        }
        if !language_note(inner) && delegation.is_none() {
            delegation = Some(inner.to_string());
        }
        s = &t[close + 1..];
    }
    Some((delegation, s))
}

/// `spoke in French`, `interpretation from Spanish`, `spoke in Arabic; English text
/// provided by the delegation`.
fn language_note(inner: &str) -> bool {
    let l = inner.trim_start();
    [
        "spoke in ",
        "interpretation from ",
        "speaking in ",
        "spoke in",
    ]
    .iter()
    .any(|p| l.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)))
}

/// Byte index of the parenthesis closing the one at the start of `s`.
fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The end of the header (just past its colon), given the text after its last part.
fn colon_end(window: &str, after: &str) -> Option<usize> {
    let t = after.strip_prefix(' ').unwrap_or(after);
    t.starts_with(':').then(|| window.len() - t.len() + 1)
}

fn skip_spaces(s: &str, from: usize) -> usize {
    from + s[from..].bytes().take_while(|&b| b == b' ').count()
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Option<(String, Option<String>, String)> {
        parse_header(s).map(|h| (h.speaker, h.delegation, s[h.skip..].to_string()))
    }

    fn some(
        speaker: &str,
        delegation: Option<&str>,
        rest: &str,
    ) -> Option<(String, Option<String>, String)> {
        Some((speaker.into(), delegation.map(Into::into), rest.into()))
    }

    #[test]
    fn delegates() {
        assert_eq!(
            h("Mrs. Abylkassymova (Kazakhstan): We thank"),
            some("Mrs. Abylkassymova", Some("Kazakhstan"), "We thank")
        );
        assert_eq!(
            h("Mr. Ould Cheikh Ahmed (Mauritania) (spoke in Arabic): I"),
            some("Mr. Ould Cheikh Ahmed", Some("Mauritania"), "I")
        );
        assert_eq!(
            h("Mr. Llorentty Solíz (Bolivia (Plurinational State of)) (spoke in Spanish): We"),
            some(
                "Mr. Llorentty Solíz",
                Some("Bolivia (Plurinational State of)"),
                "We"
            )
        );
        assert_eq!(
            h("Ms. van der Berg (Netherlands):"),
            some("Ms. van der Berg", Some("Netherlands"), "")
        );
        assert_eq!(
            h("Mr. d'Escoto Brockmann (Nicaragua) (spoke in Spanish): Yes"),
            some("Mr. d'Escoto Brockmann", Some("Nicaragua"), "Yes")
        );
        assert_eq!(
            h("Archbishop Gallagher (Holy See): We"),
            some("Archbishop Gallagher", Some("Holy See"), "We")
        );
        assert_eq!(
            h("Sheikh Tamim bin Hamad Al-Thani (Qatar) (spoke in Arabic): We"),
            some("Sheikh Tamim bin Hamad Al-Thani", Some("Qatar"), "We")
        );
        assert_eq!(
            h("Her Majesty Queen Rania Al Abdullah (Jordan): I"),
            some("Her Majesty Queen Rania Al Abdullah", Some("Jordan"), "I")
        );
        assert_eq!(
            h("Mr. KITTIKHOUN (Lao People's Democratic Republic) (interpretation from French): The"),
            some("Mr. KITTIKHOUN", Some("Lao People's Democratic Republic"), "The")
        );
    }

    #[test]
    fn titles_and_honorifics() {
        for (s, sp, d) in [
            (
                "Sir Mark Lyall Grant (United Kingdom): x",
                "Sir Mark Lyall Grant",
                "United Kingdom",
            ),
            (
                "Dame Karen Pierce (United Kingdom): x",
                "Dame Karen Pierce",
                "United Kingdom",
            ),
            ("Sheikh Al-Thani (Qatar): x", "Sheikh Al-Thani", "Qatar"),
            (
                "Baron Ahmad of Wimbledon (United Kingdom): x",
                "Baron Ahmad of Wimbledon",
                "United Kingdom",
            ),
            ("Nana Akufo-Addo (Ghana): x", "Nana Akufo-Addo", "Ghana"),
            (
                "Dato Lim Jock Hoi (Brunei Darussalam): x",
                "Dato Lim Jock Hoi",
                "Brunei Darussalam",
            ),
            (
                "His Excellency Mr. Tanaka (Japan): x",
                "His Excellency Mr. Tanaka",
                "Japan",
            ),
            (
                "Her Excellency Ms. Mohammed (Nigeria) (spoke in French): x",
                "Her Excellency Ms. Mohammed",
                "Nigeria",
            ),
        ] {
            assert_eq!(h(s), some(sp, Some(d), "x"), "{s}");
        }
    }

    #[test]
    fn officers_have_no_delegation() {
        assert_eq!(
            h("The President: I thank"),
            some("The President", None, "I thank")
        );
        assert_eq!(
            h("The President (spoke in Spanish): I"),
            some("The President", None, "I")
        );
        assert_eq!(
            h("The PRESIDENT (interpretation from French): I"),
            some("The President", None, "I")
        );
        assert_eq!(
            h("The Secretary-General: It"),
            some("The Secretary-General", None, "It")
        );
        assert_eq!(
            h("The Acting President (spoke in Arabic): I"),
            some("The Acting President", None, "I")
        );
        assert_eq!(
            h("Mr. Fedotov: I thank"),
            some("Mr. Fedotov", None, "I thank")
        );
    }

    #[test]
    fn prose_is_not_a_header() {
        for s in [
            "We note the following: first,",
            "The President said: we must act.",
            "Mr. Fedotov for his briefing: it was useful.",
            "The Council (in resolution 2331 (2016)): should",
            "Mr. President, we thank you: truly.",
            "Mr. Fedotov (UNODC) and Ms. Hyland: we thank them",
            "The presidency: a new approach",
            "General Assembly resolution 70/291: the review",
            "Mr.",
            "",
        ] {
            assert_eq!(h(s), None, "{s}");
        }
    }

    #[test]
    fn opening_of_a_wrapped_header() {
        assert!(opens_header("Mr. Ould Cheikh Ahmed (Mauritania) (spoke in"));
        assert!(opens_header("The President (spoke in"));
        assert!(!opens_header(
            "Mrs. Abylkassymova (Kazakhstan): We thank the"
        ));
        assert!(!opens_header("We thank the British presidency"));
    }
}
