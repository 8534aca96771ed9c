//! The project's seed statement (read from `../shared/seeds`, or
//! `$POLREC_SHARED_DIR/seeds`, when present): a Security
//! Council verbatim record hard-wrapped at about 55 columns.

use std::path::PathBuf;

/// The shared directory: `$POLREC_SHARED_DIR` if set (for worktrees that are not
/// beside it), else `../shared` relative to the crate.
fn shared_dir() -> PathBuf {
    std::env::var_os("POLREC_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

fn seed() -> Option<String> {
    let path = shared_dir().join("seeds/kazakhstan-trafficking-in-conflict.txt");
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(e) => {
            println!("skipping: seed {} not readable ({e})", path.display());
            None
        }
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn seed_gives_25_sentences_of_one_speaker() {
    let Some(raw) = seed() else { return };
    let s = polrec::text::split(&raw);
    assert_eq!(
        s.len(),
        25,
        "{:#?}",
        s.iter().map(|s| &s.text).collect::<Vec<_>>()
    );
    for x in &s {
        assert_eq!(
            x.speaker.as_deref(),
            Some("Mrs. Abylkassymova"),
            "{}",
            x.text
        );
        assert_eq!(x.delegation.as_deref(), Some("Kazakhstan"), "{}", x.text);
    }
    assert_eq!(
        s[0].text,
        "We thank the British presidency for highlighting the gravity of human trafficking in conflict situations."
    );
    assert!(
        s[7].text
            .starts_with("All countries need to ratify, universalize and reaffirm"),
        "{}",
        s[7].text
    );
    assert_eq!(
        s[24].text,
        "Kazakhstan, as a member of the Group of Friends United against Human Trafficking and a sponsor of \
         resolution 2331 (2016), reaffirms its strong commitment to reaching visible results in combating \
         trafficking in human beings."
    );
}

#[test]
fn seed_offsets_point_at_the_sentences() {
    let Some(raw) = seed() else { return };
    let s = polrec::text::split(&raw);
    let mut last_end = 0;
    for x in &s {
        assert!(last_end <= x.start && x.start < x.end, "order: {x:?}");
        assert_eq!(collapse(&raw[x.start..x.end]), x.text);
        last_end = x.end;
    }
}
