//! The default taxonomy, the theme calibration set and the `themes` commands, with a
//! deterministic stand-in for the encoder (a hashed bag of words).

use std::path::{Path, PathBuf};

use clap::Parser;
use polrec::analysis::themes::{read_calibration, DEFAULT_THEMES_TOML};
use polrec::analysis::{
    run_calibrate, run_themes_list, Taxonomy, ThemeTagger, ThemesArgs, ThemesCommand,
};
use polrec::{Label, Result};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: ThemesCommand,
}

fn parse(argv: &[&str]) -> ThemesArgs {
    let cli = Cli::try_parse_from(std::iter::once("themes").chain(argv.iter().copied())).unwrap();
    ThemesArgs {
        command: cli.command,
    }
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Hashed bag of lowercase words, 512 dimensions, L2-normalised.
fn fake_embed(texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    Ok(texts
        .iter()
        .map(|t| {
            let mut v = vec![0f32; 512];
            for w in t
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() > 2)
            {
                let h = w
                    .to_lowercase()
                    .bytes()
                    .fold(0xcbf29ce484222325u64, |h, b| {
                        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
                    });
                v[(h % 512) as usize] += 1.0;
            }
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
            v.iter().map(|x| x / norm).collect()
        })
        .collect())
}

#[test]
fn default_taxonomy_has_the_themes_users_ask_for() {
    let t = Taxonomy::embedded().unwrap();
    assert!(t.themes.len() >= 30, "{} themes", t.themes.len());
    for id in [
        "anti-money-laundering",
        "peacekeeping",
        "trafficking-in-persons",
        "counter-terrorism",
        "climate-change",
        "sustainable-development",
        "humanitarian-access",
        "disarmament",
        "human-rights",
        "gender-equality",
        "peace-and-security",
        "security-council-reform",
        "accountability",
        "refugees-and-migration",
        "health",
        "food-security",
        "technology-and-cyber",
        "oceans",
        "information-sharing",
        "ratification",
        "regional-cooperation",
        "sanctions",
        "mediation-and-dialogue",
        "children-and-armed-conflict",
        "protection-of-civilians",
        "development-aid-and-debt",
    ] {
        assert!(t.get(id).is_some(), "missing theme {id}");
    }
    for theme in &t.themes {
        assert!(
            (5..=10).contains(&theme.examples.len()),
            "{}: {} examples",
            theme.id,
            theme.examples.len()
        );
        assert!(
            !theme.description.trim().is_empty(),
            "{} has no description",
            theme.id
        );
    }
    assert!(t.rule.max_themes == 3 && (0.0..1.0).contains(&t.rule.threshold));
    // The file on disk is the one compiled in.
    assert_eq!(
        std::fs::read_to_string(repo("models/themes.toml")).unwrap(),
        DEFAULT_THEMES_TOML
    );
}

#[test]
fn calibration_set_is_valid_and_covers_every_theme() {
    let taxonomy = Taxonomy::embedded().unwrap();
    let set = read_calibration(&repo("datasets/themes-calibration.jsonl"), &taxonomy).unwrap();
    assert!((180..=260).contains(&set.len()), "{} sentences", set.len());
    assert!(
        set.iter().filter(|e| e.themes.is_empty()).count() >= 10,
        "some sentences have no theme"
    );
    assert!(set.iter().all(|e| e.themes.len() <= 3));
    assert!(set
        .iter()
        .all(|e| matches!(e.label, Some(Label::CallToAction | Label::Commitment))));
    for theme in &taxonomy.themes {
        let n = set.iter().filter(|e| e.themes.contains(&theme.id)).count();
        assert!(n >= 5, "{}: only {n} calibration sentences", theme.id);
    }
    let mut texts: Vec<&str> = set.iter().map(|e| e.text.as_str()).collect();
    texts.sort_unstable();
    texts.dedup();
    assert_eq!(texts.len(), set.len(), "duplicate sentences");
}

#[test]
fn calibration_set_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("set.jsonl");
    std::fs::write(
        &path,
        "{\"text\": \"a\", \"themes\": []}\n\n{\"text\": \"b\", \"themes\": [\"astrology\"]}\n",
    )
    .unwrap();
    let e = read_calibration(&path, &Taxonomy::embedded().unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{}:3: theme \"astrology\" is not in the taxonomy",
            path.display()
        )
    );
}

#[test]
fn replacement_taxonomy_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::write(
        &path,
        "[[theme]]\nid = \"a\"\nname = \"A\"\nexamples = [\"x\",\n  7]\n",
    )
    .unwrap();
    let e = Taxonomy::from_file(&path).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}:5:", path.display())), "{e}");
    let e = Taxonomy::from_file(&dir.path().join("absent.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.toml"), "{e}");
}

#[test]
fn tagger_on_the_default_taxonomy_picks_the_closest_prototype() {
    let taxonomy = Taxonomy::embedded().unwrap();
    let tagger = ThemeTagger::new(&taxonomy, &fake_embed).unwrap();
    assert_eq!(tagger.theme_ids().len(), taxonomy.themes.len());
    let text = "Illegal fishing and plastic pollution are destroying the coral reefs of our seas and oceans.";
    let e = &fake_embed(&[text]).unwrap()[0];
    let sims = tagger.similarities(e);
    let best = (0..sims.len())
        .max_by(|&a, &b| sims[a].total_cmp(&sims[b]))
        .unwrap();
    assert_eq!(tagger.theme_ids()[best], "oceans");
    let tags = tagger.tag(text, e, Label::Commitment);
    assert!(tags.len() <= 3);
    assert!(tagger.tag(text, e, Label::Context).is_empty());
}

#[test]
fn themes_list_prints_every_theme() {
    let ThemesCommand::List(args) = parse(&["list", "--format", "csv"]).command else {
        panic!()
    };
    let mut out = Vec::new();
    run_themes_list(&args, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("id,name,examples,description\n"));
    assert_eq!(
        out.lines().count(),
        Taxonomy::embedded().unwrap().themes.len() + 1
    );
    assert!(
        out.contains("\nanti-money-laundering,Anti-money-laundering and terrorist financing,7,")
    );
}

#[test]
fn calibrate_sweeps_picks_the_best_and_updates_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let themes = dir.path().join("themes.toml");
    std::fs::copy(repo("models/themes.toml"), &themes).unwrap();
    let set = repo("datasets/themes-calibration.jsonl");
    let ThemesCommand::Calibrate(args) = parse(&[
        "calibrate",
        set.to_str().unwrap(),
        "--themes",
        themes.to_str().unwrap(),
        "--format",
        "csv",
        "--update",
        themes.to_str().unwrap(),
    ])
    .command
    else {
        panic!()
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let result = run_calibrate(&args, &fake_embed, &mut out, &mut err).unwrap();
    let err = String::from_utf8(err).unwrap();
    let out = String::from_utf8(out).unwrap();

    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 96 * 5, "thresholds 0.00..0.95 × 5 margins");
    let best: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[9] == "true").collect();
    assert_eq!(best.len(), 1);
    let f1 = |r: &csv::StringRecord| r[5].parse::<f64>().unwrap();
    assert!(rows.iter().all(|r| f1(r) <= f1(best[0])));
    assert_eq!(f1(best[0]), result.best.f1);
    // Every pair counted: tp + fn is the number of correct (sentence, theme) pairs.
    let gold: usize = read_calibration(&set, &Taxonomy::embedded().unwrap())
        .unwrap()
        .iter()
        .map(|e| e.themes.len())
        .sum();
    assert!(rows
        .iter()
        .all(|r| r[6].parse::<usize>().unwrap() + r[8].parse::<usize>().unwrap() == gold));
    // Even a bag of words finds some themes.
    assert!(result.best.f1 > 0.2, "F1 {}", result.best.f1);
    assert!(
        err.starts_with(&format!(
            "best on {} sentences: threshold",
            result.sentences
        )),
        "{err}"
    );

    let updated = Taxonomy::from_file(&themes).unwrap();
    assert_eq!(updated.rule.threshold, result.best.rule.threshold);
    assert_eq!(updated.rule.margin, result.best.rule.margin);
    assert_eq!(updated.themes, Taxonomy::embedded().unwrap().themes);
}
