//! Document fields given by file names in the style of the UN General Debate Corpus.

use std::path::Path;

use super::DocMeta;

/// Reads `iso3`, `session` and `year` from a file name such as `KAZ_78_2023.txt`
/// (any directory, any extension or none; the code is upper-cased).
pub fn from_path(path: &Path) -> Option<DocMeta> {
    let name = path.file_name()?.to_str()?;
    let stem = name.split_once('.').map_or(name, |(s, _)| s);
    let mut parts = stem.split('_');
    let (code, session, year) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let code_ok = (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphabetic());
    let digits = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !code_ok || !digits(session, 1, 3) || !digits(year, 4, 4) {
        return None;
    }
    let session: u32 = session.parse().ok()?;
    let year: u32 = year.parse().ok()?;
    if session == 0 || !(1945..=2200).contains(&year) {
        return None;
    }
    Some(DocMeta {
        iso3: code.to_ascii_uppercase(),
        session,
        year,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(p: &str) -> Option<(String, u32, u32)> {
        from_path(Path::new(p)).map(|m| (m.iso3, m.session, m.year))
    }

    #[test]
    fn ungdc_names() {
        assert_eq!(meta("KAZ_78_2023.txt"), Some(("KAZ".into(), 78, 2023)));
        assert_eq!(
            meta("corpus/Session 78 - 2023/KAZ_78_2023.txt"),
            Some(("KAZ".into(), 78, 2023))
        );
        assert_eq!(meta("/data/EU_70_2015.txt"), Some(("EU".into(), 70, 2015)));
        assert_eq!(meta("usa_1_1946"), Some(("USA".into(), 1, 1946)));
    }

    #[test]
    fn other_names() {
        for p in [
            "speech.txt",
            "KAZ_78.txt",
            "KAZ_78_23.txt",
            "KAZAK_78_2023.txt",
            "KAZ_78_2023_x.txt",
            "K1Z_78_2023.txt",
            "KAZ_0_2023.txt",
            "",
        ] {
            assert_eq!(meta(p), None, "{p}");
        }
    }
}
