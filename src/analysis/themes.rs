//! Policy themes: the taxonomy (`models/themes.toml` or `--themes FILE`), the
//! embedding-prototype tagger, and the calibration of its threshold.

use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::stats::{cosine, Confusion};
use crate::{Error, Label, Result};

/// The default taxonomy, compiled into the binary.
pub const DEFAULT_THEMES_TOML: &str = include_str!("../../models/themes.toml");

/// Where [`DEFAULT_THEMES_TOML`] comes from, for error messages.
const DEFAULT_THEMES_ORIGIN: &str = "models/themes.toml (embedded)";

/// The function that turns sentences into embeddings, one vector per sentence, in
/// order (the classifier's `embed`).
pub type Embed<'a> = dyn Fn(&[&str]) -> Result<Vec<Vec<f32>>> + 'a;

/// How many texts are embedded in one call.
const EMBED_BATCH: usize = 64;

/// One policy theme of a taxonomy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Theme {
    /// Stable identifier written in records (`anti-money-laundering`).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// One-sentence description.
    pub description: String,
    /// Example phrases that belong to the theme.
    pub examples: Vec<String>,
    /// Word beginnings that name the theme outright (`peacekeep` matches
    /// "peacekeepers"); a sentence holding one gets [`TagRule::keyword_bonus`] added
    /// to the theme's similarity.
    pub keywords: Vec<String>,
}

/// The rule that turns cosine similarities into themes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagRule {
    /// A theme is given when its prototype's cosine is at least this.
    pub threshold: f32,
    /// When set, a theme is given only when its cosine is within this of the best one.
    #[serde(default)]
    pub margin: Option<f32>,
    /// At most this many themes per sentence, best first.
    #[serde(default = "default_max_themes")]
    pub max_themes: usize,
    /// Added to a theme's similarity when the sentence holds one of its keywords.
    #[serde(default)]
    pub keyword_bonus: f32,
}

fn default_max_themes() -> usize {
    3
}

impl TagRule {
    /// Indices of the themes given to a sentence with these similarities, best first.
    pub fn select(&self, similarities: &[f32]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..similarities.len())
            .filter(|&i| similarities[i] >= self.threshold)
            .collect();
        order.sort_by(|&a, &b| similarities[b].total_cmp(&similarities[a]).then(a.cmp(&b)));
        if let (Some(margin), Some(&best)) = (self.margin, order.first()) {
            let floor = similarities[best] - margin;
            order.retain(|&i| similarities[i] >= floor);
        }
        order.truncate(self.max_themes);
        order
    }
}

/// A set of themes with the rule that assigns them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Taxonomy {
    /// The assignment rule (`[tagging]` of the file).
    pub rule: TagRule,
    /// The themes, in file order.
    pub themes: Vec<Theme>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTaxonomy {
    tagging: Option<TagRule>,
    #[serde(rename = "theme", default)]
    themes: Vec<RawTheme>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    id: toml::Spanned<String>,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
}

impl Taxonomy {
    /// The default taxonomy compiled into the binary.
    pub fn embedded() -> Result<Taxonomy> {
        Taxonomy::parse_with(DEFAULT_THEMES_TOML, DEFAULT_THEMES_ORIGIN, None)
    }

    /// Reads a taxonomy file; without a `[tagging]` table it takes the default rule.
    pub fn from_file(path: &Path) -> Result<Taxonomy> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Taxonomy::parse(&text, &path.display().to_string())
    }

    /// The taxonomy of `path`, or the embedded one when `None`.
    pub fn load(path: Option<&Path>) -> Result<Taxonomy> {
        match path {
            Some(p) => Taxonomy::from_file(p),
            None => Taxonomy::embedded(),
        }
    }

    /// Parses taxonomy TOML; `origin` names the source in errors (`FILE:LINE: …`).
    pub fn parse(text: &str, origin: &str) -> Result<Taxonomy> {
        let fallback = Taxonomy::embedded()?.rule;
        Taxonomy::parse_with(text, origin, Some(fallback))
    }

    fn parse_with(text: &str, origin: &str, fallback: Option<TagRule>) -> Result<Taxonomy> {
        let raw: RawTaxonomy = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            config_error(origin, line, e.message().trim())
        })?;
        let rule = match (raw.tagging, fallback) {
            (Some(rule), _) | (None, Some(rule)) => rule,
            (None, None) => return Err(config_error(origin, 1, "missing [tagging] table")),
        };
        let tagging_line = text
            .lines()
            .position(|l| is_header(l, "[tagging]"))
            .map_or(1, |i| i + 1);
        if !(-1.0..=1.0).contains(&rule.threshold) {
            return Err(config_error(
                origin,
                tagging_line,
                "threshold must lie in [-1, 1]",
            ));
        }
        if rule.margin.is_some_and(|m| m.is_nan() || m < 0.0) {
            return Err(config_error(origin, tagging_line, "margin must be >= 0"));
        }
        if !(0.0..=2.0).contains(&rule.keyword_bonus) {
            return Err(config_error(
                origin,
                tagging_line,
                "keyword_bonus must lie in [0, 2]",
            ));
        }
        if rule.max_themes == 0 {
            return Err(config_error(
                origin,
                tagging_line,
                "max_themes must be >= 1",
            ));
        }
        if raw.themes.is_empty() {
            return Err(config_error(origin, 1, "no [[theme]] defined"));
        }
        let mut themes: Vec<Theme> = Vec::with_capacity(raw.themes.len());
        for t in raw.themes {
            let line = line_of(text, t.id.span().start);
            let id = t.id.into_inner();
            let valid_id = !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !valid_id {
                return Err(config_error(
                    origin,
                    line,
                    &format!("theme id {id:?} must be non-empty lowercase ASCII letters, digits, '-' or '_'"),
                ));
            }
            if themes.iter().any(|other| other.id == id) {
                return Err(config_error(
                    origin,
                    line,
                    &format!("duplicate theme id {id:?}"),
                ));
            }
            if t.name.trim().is_empty() {
                return Err(config_error(
                    origin,
                    line,
                    &format!("theme {id:?} has an empty name"),
                ));
            }
            if t.examples.iter().any(|e| e.trim().is_empty()) {
                return Err(config_error(
                    origin,
                    line,
                    &format!("theme {id:?} has an empty example"),
                ));
            }
            if t.keywords.iter().any(|k| k.trim().is_empty()) {
                return Err(config_error(
                    origin,
                    line,
                    &format!("theme {id:?} has an empty keyword"),
                ));
            }
            themes.push(Theme {
                id,
                name: t.name,
                description: t.description,
                examples: t.examples,
                keywords: t.keywords.iter().map(|k| k.trim().to_lowercase()).collect(),
            });
        }
        Ok(Taxonomy { rule, themes })
    }

    /// The theme with this id.
    pub fn get(&self, id: &str) -> Option<&Theme> {
        self.themes.iter().find(|t| t.id == id)
    }
}

/// Whether a TOML line is this table header (allowing a trailing comment).
fn is_header(line: &str, header: &str) -> bool {
    line.split('#').next().is_some_and(|l| l.trim() == header)
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn config_error(origin: &str, line: usize, message: &str) -> Error {
    Error::Config {
        path: format!("{origin}:{line}"),
        message: message.to_string(),
    }
}

/// Embeds `texts` in batches and checks that one vector of one dimension comes back for each.
pub fn embed_all(embed: &Embed<'_>, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(EMBED_BATCH) {
        let vectors = embed(chunk)?;
        if vectors.len() != chunk.len() {
            return Err(Error::Model(format!(
                "embedder returned {} vectors for {} texts",
                vectors.len(),
                chunk.len()
            )));
        }
        out.extend(vectors);
    }
    if let Some(first) = out.first() {
        if first.is_empty() || out.iter().any(|v| v.len() != first.len()) {
            return Err(Error::Model(
                "embedder returned vectors of differing or zero dimension".into(),
            ));
        }
    }
    Ok(out)
}

fn normalised(v: &[f32]) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > 0.0 && norm.is_finite()).then(|| v.iter().map(|x| x / norm).collect())
}

/// Tags sentences with the themes whose prototype embedding is close to theirs.
///
/// A theme's prototype is the normalised mean of the normalised embeddings of its
/// name, its description and each example, computed once in [`ThemeTagger::new`].
/// A theme's score for a sentence is the cosine of the sentence's embedding with the
/// prototype, plus the rule's keyword bonus when the sentence holds a theme keyword.
#[derive(Debug, Clone)]
pub struct ThemeTagger {
    ids: Vec<String>,
    prototypes: Vec<Vec<f32>>,
    keywords: Vec<Vec<String>>,
    rule: TagRule,
}

impl ThemeTagger {
    /// Builds the prototypes of `taxonomy` with `embed`.
    pub fn new(taxonomy: &Taxonomy, embed: &Embed<'_>) -> Result<ThemeTagger> {
        let mut texts: Vec<&str> = Vec::new();
        let mut owners: Vec<usize> = Vec::new();
        for (i, t) in taxonomy.themes.iter().enumerate() {
            let own = [t.name.as_str(), t.description.as_str()]
                .into_iter()
                .chain(t.examples.iter().map(String::as_str))
                .filter(|s| !s.trim().is_empty());
            for s in own {
                texts.push(s);
                owners.push(i);
            }
        }
        let vectors = embed_all(embed, &texts)?;
        let dim = vectors.first().map_or(0, Vec::len);
        let mut sums = vec![vec![0f32; dim]; taxonomy.themes.len()];
        for (v, &owner) in vectors.iter().zip(&owners) {
            if let Some(unit) = normalised(v) {
                for (s, x) in sums[owner].iter_mut().zip(unit) {
                    *s += x;
                }
            }
        }
        let mut prototypes = Vec::with_capacity(sums.len());
        for (sum, theme) in sums.iter().zip(&taxonomy.themes) {
            let p = normalised(sum).ok_or_else(|| {
                Error::Model(format!(
                    "theme {:?}: its texts embed to a zero vector",
                    theme.id
                ))
            })?;
            prototypes.push(p);
        }
        Ok(ThemeTagger {
            ids: taxonomy.themes.iter().map(|t| t.id.clone()).collect(),
            prototypes,
            keywords: taxonomy.themes.iter().map(|t| t.keywords.clone()).collect(),
            rule: taxonomy.rule,
        })
    }

    /// The same prototypes with another assignment rule.
    pub fn with_rule(mut self, rule: TagRule) -> ThemeTagger {
        self.rule = rule;
        self
    }

    /// The assignment rule in use.
    pub fn rule(&self) -> TagRule {
        self.rule
    }

    /// Theme ids, in taxonomy order.
    pub fn theme_ids(&self) -> &[String] {
        &self.ids
    }

    /// Cosine of an embedding with each theme's prototype, in taxonomy order
    /// (all `-1` when the embedding's dimension does not match).
    pub fn similarities(&self, embedding: &[f32]) -> Vec<f32> {
        self.prototypes
            .iter()
            .map(|p| cosine(p, embedding).map_or(-1.0, |c| c as f32))
            .collect()
    }

    /// Each theme's score for a sentence (`text`, its `embedding`): the similarity,
    /// plus the keyword bonus where the text holds one of the theme's keywords.
    pub fn scores(&self, text: &str, embedding: &[f32]) -> Vec<f32> {
        let mut scores = self.similarities(embedding);
        if self.rule.keyword_bonus > 0.0 {
            let lower = text.to_lowercase();
            for (score, keywords) in scores.iter_mut().zip(&self.keywords) {
                if keywords.iter().any(|k| holds_word_start(&lower, k)) {
                    *score += self.rule.keyword_bonus;
                }
            }
        }
        scores
    }

    /// The themes of a sentence whatever its label, best first.
    pub fn tag_sentence(&self, text: &str, embedding: &[f32]) -> Vec<&str> {
        self.rule
            .select(&self.scores(text, embedding))
            .into_iter()
            .map(|i| self.ids[i].as_str())
            .collect()
    }

    /// The themes of a labelled sentence: none for `context`, otherwise as
    /// [`ThemeTagger::tag_sentence`].
    pub fn tag(&self, text: &str, embedding: &[f32], label: Label) -> Vec<String> {
        if label == Label::Context {
            return Vec::new();
        }
        self.tag_sentence(text, embedding)
            .into_iter()
            .map(str::to_string)
            .collect()
    }
}

/// Whether `keyword` occurs in `text` at the start of a word (both lowercase).
fn holds_word_start(text: &str, keyword: &str) -> bool {
    text.match_indices(keyword).any(|(at, _)| {
        text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// One sentence of a theme calibration set.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CalibrationExample {
    /// The sentence.
    pub text: String,
    /// Its correct themes (possibly none).
    pub themes: Vec<String>,
    /// Its label, when given (informative only).
    #[serde(default)]
    pub label: Option<Label>,
}

/// Reads a calibration set (JSONL with `text` and `themes`), checking every theme id
/// against `taxonomy`. Any bad line fails the whole set, naming `FILE:LINE`.
pub fn read_calibration(path: &Path, taxonomy: &Taxonomy) -> Result<Vec<CalibrationExample>> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let bad = |message: String| Error::BadRecord {
            path: name.clone(),
            line: i + 1,
            message,
        };
        let line = line.map_err(|e| bad(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let example: CalibrationExample =
            serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        if let Some(unknown) = example.themes.iter().find(|id| taxonomy.get(id).is_none()) {
            return Err(bad(format!("theme {unknown:?} is not in the taxonomy")));
        }
        out.push(example);
    }
    Ok(out)
}

/// The thresholds and margins that [`calibrate`] tries.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationGrid {
    /// Thresholds to try.
    pub thresholds: Vec<f32>,
    /// Margins to try (`None`: no margin rule).
    pub margins: Vec<Option<f32>>,
}

impl Default for CalibrationGrid {
    /// Thresholds 0.00, 0.01, …, 0.95; margins none, 0.05, 0.10, 0.15, 0.20. No margin
    /// below 0.05: it keeps only themes all but tied with the best and so drops the
    /// second theme of a call that names two (models/README.md, "themes.toml").
    fn default() -> Self {
        CalibrationGrid {
            thresholds: (0..=95).map(|i| i as f32 / 100.0).collect(),
            margins: vec![None, Some(0.05), Some(0.10), Some(0.15), Some(0.20)],
        }
    }
}

/// Micro-averaged precision, recall and F1 of one rule over (sentence, theme) pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CalibrationRow {
    /// The rule tried.
    pub rule: TagRule,
    /// Its pair counts.
    pub confusion: Confusion,
    /// `tp / (tp + fp)`.
    pub precision: f64,
    /// `tp / (tp + fn)`.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

/// The result of a threshold sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// Number of sentences of the calibration set.
    pub sentences: usize,
    /// One row per rule of the grid, in grid order (thresholds within margins).
    pub rows: Vec<CalibrationRow>,
    /// The row with the highest F1 (ties: the higher threshold, then no or the
    /// smaller margin).
    pub best: CalibrationRow,
}

/// Sweeps `grid` on `examples`, whose themes are predicted by `tagger` from the
/// embeddings given by `embed`; `max_themes` stays that of the tagger's rule.
pub fn calibrate(
    tagger: &ThemeTagger,
    examples: &[CalibrationExample],
    embed: &Embed<'_>,
    grid: &CalibrationGrid,
) -> Result<Calibration> {
    if examples.is_empty() {
        return Err(Error::Config {
            path: "calibration set".into(),
            message: "no sentences".into(),
        });
    }
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let similarities: Vec<Vec<f32>> = embed_all(embed, &texts)?
        .iter()
        .zip(&texts)
        .map(|(v, text)| tagger.scores(text, v))
        .collect();
    let gold: Vec<Vec<usize>> = examples
        .iter()
        .map(|e| {
            e.themes
                .iter()
                .filter_map(|id| tagger.ids.iter().position(|t| t == id))
                .collect()
        })
        .collect();
    let mut rows = Vec::with_capacity(grid.thresholds.len() * grid.margins.len());
    for &margin in &grid.margins {
        for &threshold in &grid.thresholds {
            let rule = TagRule {
                threshold,
                margin,
                ..tagger.rule
            };
            let mut confusion = Confusion::default();
            for (sims, correct) in similarities.iter().zip(&gold) {
                let predicted = rule.select(sims);
                let hits = predicted.iter().filter(|p| correct.contains(p)).count() as u64;
                confusion.tp += hits;
                confusion.fp += predicted.len() as u64 - hits;
                confusion.fn_ += correct.len() as u64 - hits;
            }
            rows.push(CalibrationRow {
                rule,
                confusion,
                precision: confusion.precision(),
                recall: confusion.recall(),
                f1: confusion.f1(),
            });
        }
    }
    let best = *rows
        .iter()
        .max_by(|a, b| {
            a.f1.total_cmp(&b.f1)
                .then(a.rule.threshold.total_cmp(&b.rule.threshold))
                .then_with(|| margin_key(b.rule.margin).total_cmp(&margin_key(a.rule.margin)))
        })
        .ok_or_else(|| Error::Config {
            path: "calibration grid".into(),
            message: "empty grid".into(),
        })?;
    Ok(Calibration {
        sentences: examples.len(),
        rows,
        best,
    })
}

/// Orders margins for tie-breaking: no margin first, then smaller ones.
fn margin_key(margin: Option<f32>) -> f32 {
    margin.unwrap_or(-1.0)
}

/// Rewrites the `threshold` and `margin` of the `[tagging]` table of a taxonomy
/// text, keeping everything else (comments, themes) as it is.
pub fn set_rule_in_toml(text: &str, threshold: f32, margin: Option<f32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut in_tagging = false;
    let mut seen_tagging = false;
    let mut wrote_threshold = false;
    let mut wrote_margin = false;
    let key_of = |line: &str| line.split('=').next().map(|k| k.trim().to_string());
    let threshold_line = format!("threshold = {threshold:.2}");
    let margin_line = margin.map(|m| format!("margin = {m:.2}"));
    let close_tagging = |out: &mut Vec<String>, wrote_threshold: bool, wrote_margin: bool| {
        if !wrote_threshold {
            out.push(threshold_line.clone());
        }
        if let (false, Some(m)) = (wrote_margin, &margin_line) {
            out.push(m.clone());
        }
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            if in_tagging {
                let blank_tail = out.last().is_some_and(|l: &String| l.trim().is_empty());
                let tail = if blank_tail { out.pop() } else { None };
                close_tagging(&mut out, wrote_threshold, wrote_margin);
                out.extend(tail);
            }
            in_tagging = is_header(trimmed, "[tagging]");
            seen_tagging |= in_tagging;
        } else if in_tagging {
            match key_of(trimmed).as_deref() {
                Some("threshold") => {
                    out.push(threshold_line.clone());
                    wrote_threshold = true;
                    continue;
                }
                Some("margin") => {
                    if let Some(m) = &margin_line {
                        out.push(m.clone());
                    }
                    wrote_margin = true;
                    continue;
                }
                _ => {}
            }
        }
        out.push(line.to_string());
    }
    if in_tagging {
        close_tagging(&mut out, wrote_threshold, wrote_margin);
    }
    if !seen_tagging {
        let mut head = vec!["[tagging]".to_string()];
        close_tagging(&mut head, false, false);
        head.push(String::new());
        head.extend(out);
        out = head;
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic stand-in for the encoder: hashed bag of lowercase words.
    fn fake_embed(texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; 64];
                for w in t
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                {
                    let h = w
                        .to_lowercase()
                        .bytes()
                        .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
                    v[(h % 64) as usize] += 1.0;
                }
                v
            })
            .collect())
    }

    const SMALL: &str = r#"
[tagging]
threshold = 0.3
max_themes = 2

[[theme]]
id = "oceans"
name = "Oceans"
description = "seas fisheries coral"
examples = ["protect the oceans", "plastic in the seas"]

[[theme]]
id = "health"
name = "Health"
description = "vaccines hospitals pandemics"
examples = ["vaccines for all", "end the pandemic"]
"#;

    #[test]
    fn parses_a_small_taxonomy() {
        let t = Taxonomy::parse(SMALL, "small.toml").unwrap();
        assert_eq!(t.themes.len(), 2);
        assert_eq!(t.rule.max_themes, 2);
        assert_eq!(t.rule.margin, None);
        assert_eq!(t.get("health").unwrap().examples.len(), 2);
    }

    #[test]
    fn parse_errors_name_file_and_line() {
        let broken = SMALL.replace("name = \"Health\"", "name = Health");
        let e = Taxonomy::parse(&broken, "t.toml").unwrap_err().to_string();
        let line = broken
            .lines()
            .position(|l| l.contains("name = Health"))
            .unwrap()
            + 1;
        assert!(e.starts_with(&format!("t.toml:{line}:")), "{e}");

        let dup = SMALL.replace("id = \"health\"", "id = \"oceans\"");
        let e = Taxonomy::parse(&dup, "d.toml").unwrap_err().to_string();
        let line = dup
            .lines()
            .collect::<Vec<_>>()
            .iter()
            .rposition(|l| l.contains("id = \"oceans\""))
            .unwrap()
            + 1;
        assert_eq!(e, format!("d.toml:{line}: duplicate theme id \"oceans\""));

        let unknown = SMALL.replace("max_themes = 2", "max_themes = 2\ncolour = 1");
        let e = Taxonomy::parse(&unknown, "u.toml").unwrap_err().to_string();
        assert!(e.starts_with("u.toml:5:"), "{e}");
    }

    #[test]
    fn file_without_tagging_takes_the_default_rule() {
        let body = SMALL
            .split("[[theme]]")
            .skip(1)
            .collect::<Vec<_>>()
            .join("[[theme]]");
        let t = Taxonomy::parse(&format!("[[theme]]{body}"), "x.toml").unwrap();
        assert_eq!(t.rule, Taxonomy::embedded().unwrap().rule);
    }

    #[test]
    fn rule_keeps_best_first_above_threshold_within_margin() {
        let rule = TagRule {
            threshold: 0.5,
            margin: None,
            max_themes: 3,
            keyword_bonus: 0.0,
        };
        assert_eq!(rule.select(&[0.6, 0.2, 0.9, 0.55, 0.7]), vec![2, 4, 0]);
        assert_eq!(rule.select(&[0.1, 0.2]), Vec::<usize>::new());
        let rule = TagRule {
            margin: Some(0.1),
            ..rule
        };
        assert_eq!(rule.select(&[0.6, 0.2, 0.9, 0.55, 0.85]), vec![2, 4]);
    }

    #[test]
    fn tagger_finds_themes_by_prototype_and_skips_context() {
        let taxonomy = Taxonomy::parse(SMALL, "small.toml").unwrap();
        let tagger = ThemeTagger::new(&taxonomy, &fake_embed).unwrap();
        let text = "We must protect the oceans and their coral";
        let e = &fake_embed(&[text]).unwrap()[0];
        assert_eq!(tagger.tag_sentence(text, e), vec!["oceans"]);
        assert_eq!(
            tagger.tag(text, e, Label::CallToAction),
            vec!["oceans".to_string()]
        );
        assert!(tagger.tag(text, e, Label::Context).is_empty());
        let sims = tagger.similarities(e);
        assert!(sims[0] > sims[1]);
        // A wrong dimension gives no theme rather than a panic.
        assert!(tagger.tag_sentence(text, &[1.0, 2.0]).is_empty());
    }

    #[test]
    fn a_keyword_at_a_word_start_adds_the_bonus() {
        let with_keywords = SMALL
            .replace("max_themes = 2", "max_themes = 2\nkeyword_bonus = 0.25")
            .replace(
                "examples = [\"vaccines for all\", \"end the pandemic\"]",
                "examples = [\"vaccines for all\", \"end the pandemic\"]\nkeywords = [\"Vaccin\"]",
            );
        let taxonomy = Taxonomy::parse(&with_keywords, "small.toml").unwrap();
        assert_eq!(taxonomy.get("health").unwrap().keywords, ["vaccin"]);
        let tagger = ThemeTagger::new(&taxonomy, &fake_embed).unwrap();
        let text = "Vaccination of seafarers must continue";
        let e = &fake_embed(&[text]).unwrap()[0];
        let sims = tagger.similarities(e);
        let scores = tagger.scores(text, e);
        assert_eq!(scores[0], sims[0]);
        assert!((scores[1] - sims[1] - 0.25).abs() < 1e-6);
        // Inside a word ("antivaccine") is no hit.
        let inside = tagger.scores("antivaccine campaigns", e);
        assert_eq!(inside[1], sims[1]);
        let bad = with_keywords.replace("keyword_bonus = 0.25", "keyword_bonus = 3.0");
        assert!(Taxonomy::parse(&bad, "small.toml").is_err());
    }

    #[test]
    fn tagger_can_serve_many_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<ThemeTagger>();
        send_sync::<Taxonomy>();
    }

    #[test]
    fn embedder_returning_too_few_vectors_is_an_error() {
        let taxonomy = Taxonomy::parse(SMALL, "small.toml").unwrap();
        let short = |_: &[&str]| -> Result<Vec<Vec<f32>>> { Ok(vec![vec![1.0]]) };
        assert!(matches!(
            ThemeTagger::new(&taxonomy, &short),
            Err(Error::Model(_))
        ));
    }

    #[test]
    fn calibration_counts_pairs_and_picks_best() {
        let taxonomy = Taxonomy::parse(SMALL, "small.toml").unwrap();
        let tagger = ThemeTagger::new(&taxonomy, &fake_embed).unwrap();
        let ex = |text: &str, themes: &[&str]| CalibrationExample {
            text: text.into(),
            themes: themes.iter().map(|s| s.to_string()).collect(),
            label: None,
        };
        let examples = vec![
            ex("protect the seas and fisheries", &["oceans"]),
            ex("vaccines and hospitals for the pandemic", &["health"]),
            ex("elections were held", &[]),
        ];
        let grid = CalibrationGrid {
            thresholds: vec![-1.0, 0.3, 0.99],
            margins: vec![None],
        };
        let c = calibrate(&tagger, &examples, &fake_embed, &grid).unwrap();
        assert_eq!(c.rows.len(), 3);
        // Threshold -1 gives every sentence both themes (max 2): 2 hits, 4 false.
        assert_eq!(
            c.rows[0].confusion,
            Confusion {
                tp: 2,
                fp: 4,
                fn_: 0
            }
        );
        // Threshold 0.99 gives nothing.
        assert_eq!(
            c.rows[2].confusion,
            Confusion {
                tp: 0,
                fp: 0,
                fn_: 2
            }
        );
        assert_eq!(
            c.rows[1].confusion,
            Confusion {
                tp: 2,
                fp: 0,
                fn_: 0
            }
        );
        assert_eq!(c.best.rule.threshold, 0.3);
        assert_eq!(c.best.f1, 1.0);
    }

    #[test]
    fn set_rule_rewrites_only_the_tagging_table() {
        let text = "# top\n[tagging]\nthreshold = 0.5 # old\nmax_themes = 3\n\n[[theme]]\nid = \"a\"\nthreshold = 9\n";
        let out = set_rule_in_toml(text, 0.42, Some(0.05));
        assert_eq!(
            out,
            "# top\n[tagging]\nthreshold = 0.42\nmax_themes = 3\nmargin = 0.05\n\n[[theme]]\nid = \"a\"\nthreshold = 9\n"
        );
        let again = set_rule_in_toml(&out, 0.40, None);
        assert!(again.contains("threshold = 0.40\n") && !again.contains("margin"));
        let commented = set_rule_in_toml("[tagging] # rule\nthreshold = 0.5\n", 0.25, None);
        assert_eq!(commented, "[tagging] # rule\nthreshold = 0.25\n");
        let fresh = set_rule_in_toml("[[theme]]\nid = \"a\"\n", 0.3, None);
        assert!(fresh.starts_with("[tagging]\nthreshold = 0.30\n\n[[theme]]"));
    }
}
