//! Words split across a line end with a hyphen: rejoin the word (`develop-` + `ment`
//! is `development`) or keep the hyphen of a compound (`Secretary-General`,
//! `sixty-seventh`, `post-2015`).
//!
//! The decision uses, in order: the form of the two parts (capitals, digits), the
//! same document (does it write the word joined or hyphenated elsewhere?), prefixes
//! that English keeps hyphenated, and a word list derived from the model's WordPiece
//! vocabulary (`words.txt`) with suffix stripping.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::sync::LazyLock;

/// What to do with a hyphen that ends a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HyphenJoin {
    /// The hyphen splits one word: drop it and join the parts with nothing between.
    Drop,
    /// The hyphen belongs to a compound: keep it, nothing between it and the next line.
    Keep,
    /// The hyphen stands alone as a dash: keep it, a space before the next line.
    Space,
}

/// The word list, front-coded in `words.txt`.
static WORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut set = HashSet::with_capacity(22_000);
    let mut prev = String::new();
    for line in include_str!("words.txt").lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let mut chars = line.chars();
        let keep = chars.next().and_then(|c| c.to_digit(36)).unwrap_or(0) as usize;
        prev.truncate(keep.min(prev.len()));
        prev.push_str(chars.as_str());
        set.insert(prev.clone());
    }
    for w in CLOSED_COMPOUNDS {
        set.insert((*w).to_string());
    }
    set
});

/// Words of UN usage written closed that the WordPiece vocabulary lacks.
const CLOSED_COMPOUNDS: &[&str] = &[
    "peacebuilding",
    "peacemaking",
    "peacekeeper",
    "peacetime",
    "multilateral",
    "multilateralism",
    "multidimensional",
    "multisectoral",
    "multipolar",
    "multiparty",
    "multistakeholderism",
    "interagency",
    "intergovernmental",
    "interministerial",
    "interregional",
    "intraregional",
    "interreligious",
    "intercultural",
    "interfaith",
    "interlinked",
    "interconnected",
    "interconnectedness",
    "interdependence",
    "interdependent",
    "interrelated",
    "subregion",
    "subregional",
    "subprogramme",
    "transboundary",
    "transnational",
    "socioeconomic",
    "geopolitical",
    "geostrategic",
    "macroeconomic",
    "microfinance",
    "biodiversity",
    "ecosystem",
    "agroecology",
    "landlocked",
    "stakeholder",
    "policymaker",
    "policymaking",
    "lawmaker",
    "livelihood",
    "cybersecurity",
    "cybercrime",
    "cyberattack",
    "cyberspace",
    "counterproductive",
    "countermeasure",
    "underrepresented",
    "undernourished",
    "underfunded",
    "underinvestment",
    "overexploitation",
    "overfishing",
    "overarching",
    "nationwide",
    "countrywide",
    "worldwide",
    "ceasefire",
    "landmine",
    "stockpile",
    "shortfall",
    "spillover",
    "timeframe",
    "handover",
    "hotspot",
    "wastewater",
    "watercourse",
    "workforce",
    "groundbreaking",
    "mainstreaming",
    "antimicrobial",
    "antiretroviral",
    "geospatial",
    "hydropower",
    "nanotechnology",
    "smallholder",
    "unilateralism",
    "upsurge",
    "setback",
    "wrongdoing",
    "foreseeable",
    "firsthand",
    "worthwhile",
];

/// Prefixes that keep their hyphen in UN usage (`non-governmental`, `well-being`).
const HYPHEN_PREFIXES: &[&str] = &[
    "non", "anti", "self", "post", "well", "vice", "cross", "half", "quasi",
];

/// Tens that form hyphenated numbers (`sixty-seventh`).
const TENS: &[&str] = &[
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// Prefixes written closed before an adjective (`multilateral`, `subregional`).
const CLOSED_PREFIXES: &[&str] = &[
    "multi", "inter", "intra", "sub", "trans", "socio", "macro", "micro", "geo", "supra", "infra",
    "bio",
];

/// Particles written closed before a verb or noun (`overthrow`, `underline`).
const PARTICLE_PREFIXES: &[&str] = &["over", "under", "out", "up", "down"];

/// Short words that follow a particle in hyphenated phrases (`up-to-date`, `out-of-pocket`).
const SHORT_WORDS: &[&str] = &[
    "to", "of", "and", "or", "in", "on", "the", "a", "an", "for", "at", "by",
];

/// Endings of adjectives and abstract nouns, for [`CLOSED_PREFIXES`].
const ADJECTIVE_ENDINGS: &[&str] = &["al", "ic", "ical", "ous", "ive", "ary", "ism"];

/// Suffixes that can only continue a word, never begin one.
const CONTINUATIONS: &[&str] = &[
    "ment", "ments", "tion", "tions", "sion", "sions", "ness", "ity", "ities", "ance", "ances",
    "ence", "ences", "ible", "ibility", "ally", "ous", "ously", "ism", "isms", "ist", "ists",
    "ize", "ized", "izing", "ise", "ised", "ising", "ization", "isation", "ing", "ings", "ed",
    "es", "ship", "ships", "ly", "ful", "ive", "ives", "ively", "ary", "ation", "ations",
    "ational", "ency", "ancy", "ial", "ially", "ian", "ians", "ic", "ics", "ical", "ically", "ure",
    "ures", "ent", "ents", "ant", "ants", "ate", "ated", "ating", "tive", "ture", "tures", "able",
    "ability", "ities", "er", "ers", "or", "ors", "al",
];

/// Suffixes stripped to find a word's stem in the list (`developments` -> `development`).
const SUFFIXES: &[&str] = &[
    "s", "es", "ies", "ed", "d", "ing", "ly", "er", "ers", "ment", "ments", "ness", "ity", "ities",
    "ation", "ations", "ion", "ions", "al", "ally", "ive", "ively", "able", "ability", "ible",
    "ism", "ist", "ists", "ize", "ized", "izing", "ization", "ise", "ised", "ising", "isation",
    "ful", "less", "ship", "ships",
];

/// Whether `w` (lower-case letters) is a known word: in the list, or a known stem with
/// a common suffix.
fn known(w: &str) -> bool {
    known_exact(w) || known_stem(w, 2)
}

fn known_exact(w: &str) -> bool {
    WORDS.contains(w)
}

/// Strips up to `depth` suffixes looking for a listed stem of four letters or more.
fn known_stem(w: &str, depth: u8) -> bool {
    if depth == 0 {
        return false;
    }
    SUFFIXES.iter().any(|suf| {
        let Some(stem) = w.strip_suffix(suf) else {
            return false;
        };
        if stem.len() < 4 {
            return false;
        }
        let e = format!("{stem}e");
        let y = if *suf == "ies" || suf.starts_with('i') {
            Some(format!("{stem}y"))
        } else {
            None
        };
        // a doubled last letter undone (`planned` -> `plan`); letters, not bytes, so
        // that a character whose last bytes repeat is never cut
        let undoubled = {
            let mut last = stem.chars().rev();
            match (last.next(), last.next()) {
                (Some(a), Some(b)) if a == b => Some(&stem[..stem.len() - a.len_utf8()]),
                _ => None,
            }
        };
        known_exact(stem)
            || known_exact(&e)
            || y.as_deref().is_some_and(known_exact)
            || undoubled.is_some_and(known_exact)
            || known_stem(stem, depth - 1)
    })
}

/// Words a document writes elsewhere, to settle its own line-end hyphens. Built on
/// the first lookup (most documents never need it), as sorted hashes of lower-case
/// forms, so recording a word allocates nothing.
#[derive(Debug, Default)]
pub struct DocWords<'a> {
    /// The document's lines, each with whether it continues a line-end hyphen.
    lines: Vec<(&'a str, bool)>,
    hashes: OnceCell<Vec<u64>>,
}

/// FNV-1a hash of `parts` joined, lower-cased (ASCII letters; others as they are).
fn word_hash<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part {
            h ^= u64::from(b.to_ascii_lowercase());
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

impl<'a> DocWords<'a> {
    /// The words of `lines` (in order; a line after one ending in `-` begins with a
    /// fragment, which is not a word).
    pub fn new(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let mut after_hyphen = false;
        let lines = lines
            .into_iter()
            .map(|l| {
                let item = (l, after_hyphen);
                after_hyphen = l.ends_with('-');
                item
            })
            .collect();
        DocWords {
            lines,
            hashes: OnceCell::new(),
        }
    }

    fn hashes(&self) -> &[u64] {
        self.hashes.get_or_init(|| {
            let mut hashes = Vec::new();
            for &(line, skip_first) in &self.lines {
                add_line(&mut hashes, line, skip_first);
            }
            hashes.sort_unstable();
            hashes.dedup();
            hashes
        })
    }

    /// Whether the document writes `x` and `y` joined by `sep` (empty or `-`).
    fn contains(&self, x: &str, sep: &str, y: &str) -> bool {
        let hashes = self.hashes();
        !hashes.is_empty()
            && hashes
                .binary_search(&word_hash([x.as_bytes(), sep.as_bytes(), y.as_bytes()]))
                .is_ok()
    }
}

/// Records the words of one line in `hashes`; `skip_first` drops the first word (a
/// fragment continuing a hyphen) and a last word ending in `-` is never kept.
fn add_line(hashes: &mut Vec<u64>, line: &str, skip_first: bool) {
    let mut tokens = line
        .as_bytes()
        .split(u8::is_ascii_whitespace)
        .filter(|t| !t.is_empty());
    if skip_first {
        tokens.next();
    }
    for token in tokens {
        if token.ends_with(b"-") {
            continue;
        }
        // The word without surrounding punctuation: ASCII letters and inner hyphens only.
        let Some(a) = token.iter().position(u8::is_ascii_alphanumeric) else {
            continue;
        };
        let b = token
            .iter()
            .rposition(u8::is_ascii_alphanumeric)
            .map_or(a, |b| b + 1);
        let w = &token[a..b];
        if w.len() < 4 || !w.iter().all(|&c| c.is_ascii_alphabetic() || c == b'-') {
            continue;
        }
        if !w.contains(&b'-') {
            hashes.push(word_hash([w]));
            continue;
        }
        // Each pair of adjacent parts, so `ex-child-soldiers` also teaches
        // `child-soldiers`; a capital after the hyphen is a name (`Inter-Agency
        // Coordination Group`), no evidence for the common word.
        let mut parts = w.split(|&c| c == b'-');
        let mut prev = parts.next().unwrap_or_default();
        for part in parts {
            if part.first().is_some_and(u8::is_ascii_lowercase) {
                hashes.push(word_hash([prev, b"-", part]));
            }
            prev = part;
        }
    }
}

/// Decides a line-end hyphen. `before` is the last word of the line without its
/// hyphen (`develop`, `Secretary`, `2014`, or empty for a free-standing dash);
/// `after` is the first word of the next line (`ment,`, `General's`, `2018`).
pub fn resolve(before: &str, after: &str, doc: &DocWords) -> HyphenJoin {
    // The part joined to the hyphen: the last component of a compound.
    let x = before.rsplit('-').next().unwrap_or("");
    let x_letters = x.chars().rev().take_while(|c| c.is_alphabetic()).count();
    if x.is_empty() || x_letters == 0 {
        return if x.chars().last().is_some_and(|c| c.is_alphanumeric()) {
            HyphenJoin::Keep // 2014-2018, 10-year
        } else {
            HyphenJoin::Space // a dash: "peace -" + "and"
        };
    }
    let y: &str = {
        let end = after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len());
        &after[..end]
    };
    let Some(y0) = y.chars().next() else {
        return HyphenJoin::Keep;
    }; // post-2015, "-(" ...
    let xl = x.to_lowercase();
    let yl = y.to_lowercase();
    let x_caps = x.chars().count() >= 2 && x.chars().all(|c| c.is_uppercase());
    if y0.is_uppercase() {
        // Secretary-General, Inter-Agency, non-State; an acronym cut in two (ECO-MOG)
        // only when the document writes it whole.
        let acronym = x_caps && y.chars().all(char::is_uppercase) && doc.contains(&xl, "", &yl);
        return if acronym {
            HyphenJoin::Drop
        } else {
            HyphenJoin::Keep
        };
    }
    if x_caps {
        return HyphenJoin::Keep; // UN-led
    }
    match (doc.contains(&xl, "", &yl), doc.contains(&xl, "-", &yl)) {
        (true, false) => return HyphenJoin::Drop,
        (false, true) => return HyphenJoin::Keep,
        _ => {}
    }
    if matches!(xl.as_str(), "re" | "pre" | "de") && yl.starts_with('e') {
        return HyphenJoin::Keep; // re-elected, pre-eminent, de-escalation
    }
    if TENS.contains(&xl.as_str()) {
        return HyphenJoin::Keep; // sixty-seventh
    }
    if CONTINUATIONS.contains(&yl.as_str()) {
        return HyphenJoin::Drop; // develop-ment, traffick-ing
    }
    let joined = format!("{xl}{yl}");
    if HYPHEN_PREFIXES.contains(&xl.as_str()) {
        // post-war, non-State: hyphenated unless only the joined form is a word (anti-cipate).
        return if known(&joined) && !known(&yl) {
            HyphenJoin::Drop
        } else {
            HyphenJoin::Keep
        };
    }
    if known(&joined) {
        return HyphenJoin::Drop;
    }
    let (x_word, y_word) = (known(&xl), known(&yl));
    if CLOSED_PREFIXES.contains(&xl.as_str())
        && y_word
        && ADJECTIVE_ENDINGS.iter().any(|e| yl.ends_with(e))
    {
        return HyphenJoin::Drop;
    }
    if PARTICLE_PREFIXES.contains(&xl.as_str()) && y_word && !SHORT_WORDS.contains(&yl.as_str()) {
        return HyphenJoin::Drop; // overthrew, underline, outweigh
    }
    if x_word && y_word && xl.len() >= 2 {
        HyphenJoin::Keep // decision-making, follow-up, long-standing
    } else {
        HyphenJoin::Drop // a syllable break: interna-tional, Abylkas-symova
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(before: &str, after: &str) -> HyphenJoin {
        resolve(before, after, &DocWords::default())
    }

    #[test]
    fn word_list_decodes() {
        assert!(known_exact("development"));
        assert!(known_exact("trafficking"));
        assert!(!known_exact("developmentx"));
        assert!(WORDS.len() > 20_000);
        assert!(WORDS
            .iter()
            .all(|w| w.chars().all(|c| c.is_ascii_lowercase())));
    }

    #[test]
    fn syllable_breaks_are_joined() {
        for (a, b) in [
            ("develop", "ment"),
            ("develop", "ments,"),
            ("interna", "tional"),
            ("organi", "zation"),
            ("Assem", "bly"),
            ("coun", "tries"),
            ("traffick", "ing"),
            ("sustain", "ability"),
            ("peace", "keeping"),
            ("Abylkas", "symova"),
            ("multi", "lateral"),
            ("inter", "governmental"),
            ("Secre", "tary-General"),
            ("peace", "building"),
            ("co", "operation"),
            ("stake", "holders"),
            ("Inter", "agency"),
            ("over", "threw"),
            ("under", "scores"),
            ("cross", "ing"),
        ] {
            assert_eq!(r(a, b), HyphenJoin::Drop, "{a}-{b}");
        }
    }

    #[test]
    fn compounds_keep_their_hyphen() {
        for (a, b) in [
            ("Secretary", "General"),
            ("Secretary", "General's"),
            ("sixty", "seventh"),
            ("twenty", "first"),
            ("post", "2015"),
            ("2014", "2018"),
            ("non", "governmental"),
            ("well", "being"),
            ("decision", "making"),
            ("follow", "up"),
            ("long", "term"),
            ("Inter", "Agency"),
            ("re", "elected"),
            ("counter", "terrorism"),
            ("multi", "stakeholder"),
            ("high", "level"),
            ("UN", "led"),
            ("self", "determination"),
            ("anti", "trafficking"),
            ("money", "laundering"),
            ("post", "war"),
            ("up", "to-date"),
            ("ECO", "MOG"),
            ("non", "violent"),
        ] {
            assert_eq!(r(a, b), HyphenJoin::Keep, "{a}-{b}");
        }
    }

    #[test]
    fn a_free_dash_keeps_a_space() {
        assert_eq!(r("", "and"), HyphenJoin::Space);
    }

    #[test]
    fn the_document_settles_doubtful_cases() {
        let doc = DocWords::new(["the peace-building efforts of the Commission"]);
        assert_eq!(resolve("peace", "building", &doc), HyphenJoin::Keep);
        let doc = DocWords::new(["all Counterterrorism measures"]);
        assert_eq!(resolve("counter", "terrorism", &doc), HyphenJoin::Drop);
        // A capital after the hyphen names something; no evidence for the common word.
        let doc = DocWords::new(["the Inter-Agency Coordination Group and the"]);
        assert_eq!(resolve("Inter", "agency", &doc), HyphenJoin::Drop);
        assert_eq!(resolve("Inter", "Agency", &doc), HyphenJoin::Keep);
        let doc = DocWords::new(["the ECOMOG forces"]);
        assert_eq!(resolve("ECO", "MOG", &doc), HyphenJoin::Drop);
    }
}
