//! Property tests of the text pipeline: it never panics, and its sentences always
//! point at the original text in order and cover it apart from whitespace, page
//! furniture and speaker headers.

use polrec::text::normalize::is_invisible;
use polrec::text::{single_unit, split_record, SplitRecord};
use proptest::prelude::*;

/// Pieces of verbatim records, glued at random: words, line ends, hyphens, periods,
/// headers, furniture, odd whitespace and invisible characters.
fn record_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec![
            "We", "thank", "the", "develop", "ment", "Secretary", "General", "sixty", "seventh", "post", "2015",
            "resolution", "2331", "(2016)", "S/2017/123", "70/291", "0.7", "per", "cent", "$1.5", "billion",
            "Mr.", "Mrs.", "H.E.", "No.", "e.g.", "U.S.", "St.", "Kazakhstan", "France", "élan", "日本",
        ])
        .prop_map(str::to_string),
        3 => prop::sample::select(vec![" ", " ", " ", "  ", "\t", "\n", "\n", "\n\n", "\r\n", "\r", "\n    "])
            .prop_map(str::to_string),
        3 => prop::sample::select(vec![
            ".", ". ", "?", "!", "-", "-\n", " -\n", "—", ",", ";", ":", "(", ")", "“", "”", "\"", "'", "…",
        ])
        .prop_map(str::to_string),
        1 => prop::sample::select(vec![
            "\nMr. Ould Cheikh (Mauritania) (spoke in\nArabic): ",
            "\nThe President: ",
            "\nThe President (spoke in French): ",
            "\nMrs. Abylkassymova (Kazakhstan): ",
            "\n\n17-06868 7/26\n\n",
            "\n15 11-51197\n",
            "\nS/PV.7898 Trafficking in persons 15/03/2017\n",
            "\nA/70/PV.24\n",
            "\n\u{c}\n",
            "\u{ad}",
            "\u{feff}",
            "\u{200b}",
            "\u{a0}",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,6}",
    ];
    prop::collection::vec(piece, 0..120).prop_map(|v| v.concat())
}

/// Checks the invariants of a split record against its original text.
fn check(raw: &str, rec: &SplitRecord) -> Result<(), TestCaseError> {
    let mut covered = vec![false; raw.len()];
    let mut last_end = 0;
    for s in &rec.sentences {
        prop_assert!(s.start < s.end, "empty range {s:?}");
        prop_assert!(s.end <= raw.len());
        prop_assert!(
            raw.is_char_boundary(s.start) && raw.is_char_boundary(s.end),
            "{s:?}"
        );
        prop_assert!(last_end <= s.start, "overlap or disorder at {s:?}");
        last_end = s.end;
        prop_assert!(!s.text.is_empty());
        prop_assert!(
            !s.text.contains('\n') && !s.text.contains("  "),
            "{:?}",
            s.text
        );
        prop_assert_eq!(s.text.trim(), &s.text);
        covered[s.start..s.end].iter_mut().for_each(|c| *c = true);
        // The sentence's letters and digits are those of its span, furniture aside.
        let mut span_chars = Vec::new();
        for (i, c) in raw[s.start..s.end].char_indices() {
            let at = s.start + i;
            if c.is_alphanumeric() && !rec.furniture.iter().any(|f| f.contains(&at)) {
                span_chars.push(c);
            }
        }
        let text_chars: Vec<char> = s.text.chars().filter(|c| c.is_alphanumeric()).collect();
        prop_assert_eq!(text_chars, span_chars, "sentence {:?}", s);
    }
    for r in rec.headers.iter().chain(&rec.furniture) {
        prop_assert!(r.start <= r.end && r.end <= raw.len());
        prop_assert!(raw.is_char_boundary(r.start) && raw.is_char_boundary(r.end));
        covered[r.clone()].iter_mut().for_each(|c| *c = true);
    }
    for (i, c) in raw.char_indices() {
        if !c.is_whitespace() && !is_invisible(c) {
            prop_assert!(
                covered[i],
                "{c:?} at {i} is in no sentence, header or furniture line"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let raw = String::from_utf8_lossy(&bytes);
        let rec = split_record(&raw);
        check(&raw, &rec)?;
        let _ = single_unit(&raw);
    }

    #[test]
    fn arbitrary_strings_keep_the_invariants(raw in "(\\PC|[\\n\\r\\t -]|\\.){0,300}") {
        check(&raw, &split_record(&raw))?;
    }

    #[test]
    fn record_like_text_keeps_the_invariants(raw in record_like()) {
        check(&raw, &split_record(&raw))?;
        if let Some(u) = single_unit(&raw) {
            prop_assert!(u.start < u.end && u.end <= raw.len());
            prop_assert!(raw.is_char_boundary(u.start) && raw.is_char_boundary(u.end));
            prop_assert!(!u.text.contains('\n'));
        }
    }

    #[test]
    fn sentences_partition_plain_prose(words in prop::collection::vec("[A-Za-z]{1,8}", 1..60), marks in prop::collection::vec(0u8..6, 60)) {
        // Words separated by spaces, wraps and periods: the sentences' words, in order,
        // are exactly the input's words.
        let mut raw = String::new();
        for (w, m) in words.iter().zip(&marks) {
            raw.push_str(w);
            raw.push_str(match m { 0 => ". ", 1 => "\n", 2 => ". \n", 3 => ", ", _ => " " });
        }
        let rec = split_record(&raw);
        check(&raw, &rec)?;
        let got: Vec<String> = rec.sentences.iter()
            .flat_map(|s| s.text.split(' ').map(|w| w.trim_matches(['.', ',']).to_string()).collect::<Vec<_>>())
            .collect();
        prop_assert_eq!(got, words.clone());
    }
}
