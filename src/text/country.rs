//! The speaker's own country in a sentence.
//!
//! "Kazakhstan reaffirms its commitment to …" is a pledge when Kazakhstan says it and
//! news when anyone else does. So that the model can tell, a sentence reaches it with
//! the speaker's own country written as "my country" ([`Country::rewrite`]); the
//! sentence in the output keeps its words.
//!
//! Names come from `countries.tsv` (ISO 3166-1 alpha-3 code, then the short, formal and
//! older names UN statements use, then any codes the State had before). A speaker's
//! country is found from an alpha-3 code (a corpus's `iso3` field, of any year since
//! 1946) or from a name (a verbatim-record header's delegation).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};

/// What a self-mention becomes in the model's input.
const SELF: &str = "my country";

/// A country of `countries.tsv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country(u16);

/// The names table, built once.
struct Table {
    /// Alpha-3 codes, indexed by [`Country`].
    codes: Vec<&'static str>,
    /// Every name of every country, leftmost-longest, so that "Papua New Guinea" is
    /// never read as "Guinea".
    names: AhoCorasick,
    /// The country of each pattern of `names`.
    owner: Vec<Country>,
    /// Lower-cased codes and names (apostrophes straight, no leading "the") to countries.
    lookup: HashMap<String, Country>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let (mut codes, mut patterns, mut owner, mut lookup) =
            (Vec::new(), Vec::new(), Vec::new(), HashMap::new());
        let rows = include_str!("countries.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
        for (i, row) in rows.enumerate() {
            let country = Country(i as u16);
            let mut fields = row.split('\t');
            let code = fields.next().unwrap_or(row);
            let (names, former) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
            codes.push(code);
            lookup.insert(code.to_lowercase(), country);
            for old_code in former.split('|').filter(|c| !c.is_empty()) {
                lookup.insert(old_code.to_lowercase(), country);
            }
            for name in names.split('|').filter(|n| !n.is_empty()) {
                lookup.insert(key(name), country);
                patterns.push(name.to_string());
                owner.push(country);
                if name.contains('\'') {
                    patterns.push(name.replace('\'', "\u{2019}"));
                    owner.push(country);
                }
            }
        }
        let names = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .expect("country names build an automaton");
        Table {
            codes,
            names,
            owner,
            lookup,
        }
    })
}

/// How a name is looked up: lower case, straight apostrophes, no leading "the".
fn key(name: &str) -> String {
    let lower = name.trim().to_lowercase().replace('\u{2019}', "'");
    match lower.strip_prefix("the ") {
        Some(rest) => rest.to_string(),
        None => lower,
    }
}

impl Country {
    /// The country a delegation names: an alpha-3 code ("KAZ") or a name as UN
    /// documents write it ("Kazakhstan", "the United Kingdom of Great Britain and
    /// Northern Ireland", "Venezuela (Bolivarian Republic of)"); `None` for anything
    /// else (a group, an organisation, an unknown name).
    pub fn from_delegation(delegation: &str) -> Option<Country> {
        table().lookup.get(&key(delegation)).copied()
    }

    /// The country's ISO 3166-1 alpha-3 code.
    pub fn code(self) -> &'static str {
        table().codes[self.0 as usize]
    }

    /// `sentence` with each whole-word mention of this country (with a "the" before it,
    /// if any) written as "my country" ("My country" at the start of the sentence).
    pub fn rewrite(self, sentence: &str) -> Cow<'_, str> {
        let t = table();
        let mut out = String::new();
        let (mut copied, mut changed) = (0, false);
        for m in t.names.find_iter(sentence) {
            if t.owner[m.pattern().as_usize()] != self || !boundary(sentence, m.start(), m.end()) {
                continue;
            }
            let before = &sentence[copied..m.start()];
            let (before, the) = match before
                .strip_suffix("the ")
                .or_else(|| before.strip_suffix("The "))
            {
                Some(rest) if rest.is_empty() || rest.ends_with(char::is_whitespace) => {
                    (rest, true)
                }
                _ => (before, false),
            };
            out.push_str(before);
            let at_start = copied + before.len() == 0;
            let capital = at_start || (the && sentence[..m.start()].ends_with("The "));
            out.push_str(if capital { "My country" } else { SELF });
            copied = m.end();
            changed = true;
        }
        if !changed {
            return Cow::Borrowed(sentence);
        }
        out.push_str(&sentence[copied..]);
        Cow::Owned(out)
    }
}

/// Whether `text[start..end]` is a whole word: no letter or digit just before or after.
fn boundary(text: &str, start: usize, end: usize) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '-';
    !text[..start].chars().next_back().is_some_and(word)
        && !text[end..].chars().next().is_some_and(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(delegation: &str, sentence: &str) -> String {
        Country::from_delegation(delegation)
            .unwrap()
            .rewrite(sentence)
            .into_owned()
    }

    #[test]
    fn finds_countries_by_code_and_by_name() {
        let kaz = Country::from_delegation("KAZ").unwrap();
        assert_eq!(kaz.code(), "KAZ");
        assert_eq!(Country::from_delegation("Kazakhstan"), Some(kaz));
        assert_eq!(Country::from_delegation("kaz"), Some(kaz));
        let gbr =
            Country::from_delegation("the United Kingdom of Great Britain and Northern Ireland");
        assert_eq!(gbr.map(Country::code), Some("GBR"));
        let ven = Country::from_delegation("Venezuela (Bolivarian Republic of)");
        assert_eq!(ven.map(Country::code), Some("VEN"));
        let civ = Country::from_delegation("Côte d\u{2019}Ivoire");
        assert_eq!(civ.map(Country::code), Some("CIV"));
        assert_eq!(Country::from_delegation("European Union"), None);
        assert_eq!(Country::from_delegation(""), None);
    }

    #[test]
    fn writes_the_speakers_own_country_as_my_country() {
        assert_eq!(
            own("KAZ", "Kazakhstan reaffirms its support for the Treaty."),
            "My country reaffirms its support for the Treaty."
        );
        assert_eq!(
            own(
                "Kazakhstan",
                "To that end, the Republic of Kazakhstan has hosted talks."
            ),
            "To that end, my country has hosted talks."
        );
        assert_eq!(
            own(
                "RUS",
                "The Russian Federation will continue; Russia's position is clear."
            ),
            "My country will continue; my country's position is clear."
        );
        assert_eq!(
            own("CIV", "Côte d\u{2019}Ivoire stands ready."),
            "My country stands ready."
        );
    }

    #[test]
    fn reads_older_names_and_codes_of_general_debates_since_1946() {
        assert_eq!(
            Country::from_delegation("ZAR").map(Country::code),
            Some("COD")
        );
        assert_eq!(
            Country::from_delegation("ROM").map(Country::code),
            Some("ROU")
        );
        assert_eq!(
            Country::from_delegation("SUN").map(Country::code),
            Some("RUS")
        );
        assert_eq!(
            Country::from_delegation("DDR").map(Country::code),
            Some("DDR")
        );
        assert_eq!(
            own(
                "ZAR",
                "Zaire has always supported the liberation movements."
            ),
            "My country has always supported the liberation movements."
        );
        assert_eq!(
            own("BLR", "The Byelorussian SSR will vote for the draft."),
            "My country will vote for the draft."
        );
        assert_eq!(
            own("RUS", "The Soviet Union proposes a conference."),
            "My country proposes a conference."
        );
        assert_eq!(
            own("KHM", "Democratic Kampuchea will never accept it."),
            "My country will never accept it."
        );
        // A State that is gone keeps its own names: a successor does not take them.
        let s = "The German Democratic Republic and the Federal Republic of Germany signed.";
        assert_eq!(
            own("DEU", s),
            "The German Democratic Republic and my country signed."
        );
        assert_eq!(
            own("DDR", s),
            "My country and the Federal Republic of Germany signed."
        );
        let s = "Democratic Yemen and the Yemen Arab Republic agreed to unite.";
        assert_eq!(
            own("YEM", s),
            "Democratic Yemen and my country agreed to unite."
        );
        assert_eq!(
            own("YMD", s),
            "My country and the Yemen Arab Republic agreed to unite."
        );
        assert_eq!(
            own("SCG", "Serbia and Montenegro welcomes Serbia's offer."),
            "My country welcomes Serbia's offer."
        );
    }

    #[test]
    fn leaves_other_countries_and_parts_of_words_alone() {
        let s = "Papua New Guinea and Equatorial Guinea met with Guinea-Bissau.";
        assert_eq!(own("GIN", s), s);
        assert_eq!(
            own("NER", "Nigeria and the Niger agree."),
            "Nigeria and my country agree."
        );
        assert_eq!(
            own("SDN", "South Sudan is a neighbour."),
            "South Sudan is a neighbour."
        );
        assert_eq!(
            own("KAZ", "Kazakhstani farmers and Uzbekistan."),
            "Kazakhstani farmers and Uzbekistan."
        );
        let untouched = "We call on all parties to return to talks.";
        assert!(matches!(
            Country::from_delegation("KAZ").unwrap().rewrite(untouched),
            Cow::Borrowed(_)
        ));
    }
}
