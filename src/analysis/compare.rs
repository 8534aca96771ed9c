//! Reading `label` output and comparing groups of it: label shares, themes of calls
//! and commitments, distinctive themes and words, similarity of theme profiles and
//! example sentences.
//!
//! Grouping: a record's group is the value of the `--by` field: a string as it is, a
//! number or boolean as written in JSON. Records where the field is missing, `null`
//! or an empty string go to the group `(unknown)`, or are skipped (and counted) with
//! `skip_unknown`. Themes count only on calls to action and commitments: a
//! sentence's themes are its `themes` field (missing or `null`: none), each counted
//! once per sentence.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};

use serde_json::{Map, Value};

use super::stats::{cosine, log_odds_dirichlet, ItemCounts, LogOdds, Share};
use super::tables::{Cell, Table};
use crate::{Error, Label};

/// The group of records whose grouping field is missing, `null` or empty.
pub const UNKNOWN_GROUP: &str = "(unknown)";
/// The pseudo-group of the whole corpus in tables.
pub const ALL_GROUP: &str = "(all)";
/// The key that names the rest of the corpus in similarity rows.
pub const REST_GROUP: &str = "(rest)";

/// Settings of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// The field that names a record's group.
    pub by: String,
    /// Skip records without the field instead of grouping them as `(unknown)`.
    pub skip_unknown: bool,
    /// Example sentences kept per group and theme.
    pub examples: usize,
    /// Distinctive words reported per group.
    pub top_words: usize,
    /// Words seen fewer times in the corpus are not scored.
    pub min_word_count: u64,
    /// Total pseudo-count α₀ of the Dirichlet prior; `None`: the mean total per group
    /// (so the prior weighs as much as one average group).
    pub prior_strength: Option<f64>,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            by: "delegation".into(),
            skip_unknown: false,
            examples: 3,
            top_words: 10,
            min_word_count: 5,
            prior_strength: None,
        }
    }
}

/// One sentence of `label` output, as far as the comparison needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledRecord {
    /// The value of the grouping field, `None` when missing, `null` or empty.
    pub group: Option<String>,
    /// The sentence's label.
    pub label: Label,
    /// The probability of its label (`scores`), when given.
    pub score: Option<f64>,
    /// Its themes, each once.
    pub themes: Vec<String>,
    /// The sentence.
    pub text: String,
    /// Where it comes from: `doc:record:sentence`, or the input's `file:line`.
    pub source: String,
}

impl LabelledRecord {
    /// Parses one JSONL line of `label` output; `location` (`file:line`) is the
    /// source when the record has no `doc`.
    pub fn parse(line: &str, by: &str, location: &str) -> Result<LabelledRecord, String> {
        let map: Map<String, Value> =
            serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
        let label_name = match map.get("label") {
            Some(Value::String(s)) => s,
            Some(_) => return Err("field \"label\" is not a string".into()),
            None => return Err("missing field \"label\"".into()),
        };
        let label =
            Label::parse(label_name).ok_or_else(|| format!("unknown label {label_name:?}"))?;
        let text = match map.get("text") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err("field \"text\" is not a string".into()),
            None => return Err("missing field \"text\"".into()),
        };
        let mut themes: Vec<String> = Vec::new();
        match map.get("themes") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    let id = item.as_str().ok_or("field \"themes\" holds a non-string")?;
                    if !themes.iter().any(|t| t == id) {
                        themes.push(id.to_string());
                    }
                }
            }
            Some(_) => return Err("field \"themes\" is not a list".into()),
        }
        let score = map
            .get("scores")
            .and_then(|s| s.get(label.as_str()))
            .and_then(Value::as_f64);
        let group = match map.get(by) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        let source = match map.get("doc").and_then(Value::as_str) {
            Some(doc) => {
                let num = |k: &str| {
                    map.get(k)
                        .and_then(Value::as_u64)
                        .map_or("?".into(), |n| n.to_string())
                };
                format!("{doc}:{}:{}", num("record"), num("sentence"))
            }
            None => location.to_string(),
        };
        Ok(LabelledRecord {
            group,
            label,
            score,
            themes,
            text,
            source,
        })
    }
}

/// An example sentence of a group and theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Its label (`call_to_action` or `commitment`).
    pub label: Label,
    /// The probability of its label, when known.
    pub score: Option<f64>,
    /// The sentence.
    pub text: String,
    /// Where it comes from.
    pub source: String,
}

#[derive(Debug, Default)]
struct GroupTally {
    labels: [u64; 3],
    theme_calls: Vec<u64>,
    theme_commitments: Vec<u64>,
    words: HashMap<u32, u64>,
    examples: Vec<Vec<Example>>,
}

/// Accumulates records, one at a time, for a comparison.
#[derive(Debug)]
pub struct Tally {
    options: CompareOptions,
    groups: BTreeMap<String, GroupTally>,
    theme_ids: Vec<String>,
    theme_index: HashMap<String, usize>,
    vocabulary: Vec<String>,
    word_index: HashMap<String, u32>,
    records: u64,
    skipped_unknown: u64,
}

impl Tally {
    /// An empty tally.
    pub fn new(options: CompareOptions) -> Tally {
        Tally {
            options,
            groups: BTreeMap::new(),
            theme_ids: Vec::new(),
            theme_index: HashMap::new(),
            vocabulary: Vec::new(),
            word_index: HashMap::new(),
            records: 0,
            skipped_unknown: 0,
        }
    }

    /// Adds one record.
    pub fn add(&mut self, record: LabelledRecord) {
        let name = match record.group {
            Some(g) => g,
            None if self.options.skip_unknown => {
                self.skipped_unknown += 1;
                return;
            }
            None => UNKNOWN_GROUP.to_string(),
        };
        self.records += 1;
        let theme_indices: Vec<usize> = record.themes.iter().map(|t| self.theme_slot(t)).collect();
        let word_ids: Vec<u32> = if record.label == Label::Context {
            Vec::new()
        } else {
            words(&record.text).map(|w| self.word_slot(w)).collect()
        };
        let keep = self.options.examples;
        let group = self.groups.entry(name).or_default();
        group.labels[record.label.index()] += 1;
        if record.label == Label::Context {
            return;
        }
        for id in word_ids {
            *group.words.entry(id).or_default() += 1;
        }
        for &t in &theme_indices {
            let counts = if record.label == Label::CallToAction {
                &mut group.theme_calls
            } else {
                &mut group.theme_commitments
            };
            grow(counts, t + 1)[t] += 1;
            if keep == 0 {
                continue;
            }
            if group.examples.len() <= t {
                group.examples.resize_with(t + 1, Vec::new);
            }
            let kept = &mut group.examples[t];
            let score = record.score.unwrap_or(f64::NEG_INFINITY);
            let at = kept.partition_point(|e| e.score.unwrap_or(f64::NEG_INFINITY) >= score);
            if at < keep {
                kept.insert(
                    at,
                    Example {
                        label: record.label,
                        score: record.score,
                        text: record.text.clone(),
                        source: record.source.clone(),
                    },
                );
                kept.truncate(keep);
            }
        }
    }

    /// Reads `label` output (JSONL, gzip-compressed or not) from `input`, named
    /// `name` in messages. Each bad line or read error is passed to `on_error` and
    /// the rest is still read (a read error ends this input). Returns the number
    /// of failures.
    pub fn read(&mut self, input: impl Read, name: &str, on_error: &mut dyn FnMut(Error)) -> usize {
        let mut reader = BufReader::with_capacity(1 << 16, input);
        let gzip = matches!(reader.fill_buf(), Ok(head) if head.starts_with(&[0x1f, 0x8b]));
        if gzip {
            let decoder = flate2::read::MultiGzDecoder::new(reader);
            self.read_lines(BufReader::with_capacity(1 << 16, decoder), name, on_error)
        } else {
            self.read_lines(reader, name, on_error)
        }
    }

    fn read_lines(
        &mut self,
        mut reader: impl BufRead,
        name: &str,
        on_error: &mut dyn FnMut(Error),
    ) -> usize {
        let mut failures = 0;
        let mut buf = Vec::new();
        let mut line_no = 0;
        loop {
            buf.clear();
            line_no += 1;
            let bad = |message: String| Error::BadRecord {
                path: name.to_string(),
                line: line_no,
                message,
            };
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => return failures,
                Ok(_) => {}
                Err(e) => {
                    on_error(bad(format!("read error: {e}")));
                    return failures + 1;
                }
            }
            let parsed = std::str::from_utf8(&buf)
                .map_err(|e| format!("not UTF-8: {e}"))
                .and_then(|line| {
                    let line = line.trim();
                    if line.is_empty() {
                        return Ok(None);
                    }
                    LabelledRecord::parse(line, &self.options.by, &format!("{name}:{line_no}"))
                        .map(Some)
                });
            match parsed {
                Ok(Some(record)) => self.add(record),
                Ok(None) => {}
                Err(message) => {
                    failures += 1;
                    on_error(bad(message));
                }
            }
        }
    }

    fn theme_slot(&mut self, id: &str) -> usize {
        if let Some(&i) = self.theme_index.get(id) {
            return i;
        }
        self.theme_ids.push(id.to_string());
        self.theme_index
            .insert(id.to_string(), self.theme_ids.len() - 1);
        self.theme_ids.len() - 1
    }

    fn word_slot(&mut self, word: String) -> u32 {
        if let Some(&i) = self.word_index.get(&word) {
            return i;
        }
        let id = self.vocabulary.len() as u32;
        self.vocabulary.push(word.clone());
        self.word_index.insert(word, id);
        id
    }

    /// Computes the comparison; `theme_order` (taxonomy ids) orders the themes,
    /// others follow alphabetically. Only themes seen in the records appear.
    pub fn finish(self, theme_order: &[String]) -> Comparison {
        let Tally {
            options,
            groups,
            theme_ids,
            vocabulary,
            records,
            skipped_unknown,
            ..
        } = self;
        // Final theme order: taxonomy order, then unknown ids alphabetically.
        let mut order: Vec<usize> = (0..theme_ids.len()).collect();
        let rank = |id: &str| {
            theme_order
                .iter()
                .position(|t| t == id)
                .unwrap_or(usize::MAX)
        };
        order.sort_by(|&a, &b| {
            rank(&theme_ids[a])
                .cmp(&rank(&theme_ids[b]))
                .then(theme_ids[a].cmp(&theme_ids[b]))
        });
        let themes: Vec<String> = order.iter().map(|&i| theme_ids[i].clone()).collect();
        let reorder = |v: &[u64]| -> Vec<u64> {
            order
                .iter()
                .map(|&i| v.get(i).copied().unwrap_or(0))
                .collect()
        };

        let names: Vec<String> = groups.keys().cloned().collect();
        let mut tallies: Vec<GroupTally> = groups.into_values().collect();
        let calls: Vec<Vec<u64>> = tallies.iter().map(|g| reorder(&g.theme_calls)).collect();
        let commitments: Vec<Vec<u64>> = tallies
            .iter()
            .map(|g| reorder(&g.theme_commitments))
            .collect();
        let theme_counts: Vec<Vec<u64>> = calls
            .iter()
            .zip(&commitments)
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x + y).collect())
            .collect();
        let sum_columns = |rows: &[Vec<u64>]| -> Vec<u64> {
            (0..themes.len())
                .map(|t| rows.iter().map(|r| r[t]).sum())
                .collect()
        };
        let corpus_calls = sum_columns(&calls);
        let corpus_commitments = sum_columns(&commitments);
        let corpus_themes = sum_columns(&theme_counts);
        let mut corpus_labels = [0u64; 3];
        for g in &tallies {
            for (c, x) in corpus_labels.iter_mut().zip(g.labels) {
                *c += x;
            }
        }
        let theme_prior = Prior::new(&corpus_themes, names.len(), options.prior_strength);

        // Word counts of the corpus, for the words' prior.
        let mut corpus_words = vec![0u64; vocabulary.len()];
        for g in &tallies {
            for (&w, &c) in &g.words {
                corpus_words[w as usize] += c;
            }
        }
        let word_prior = Prior::new(&corpus_words, names.len(), options.prior_strength);

        let mut out_groups = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let tally = &mut tallies[i];
            let actions =
                tally.labels[Label::CallToAction.index()] + tally.labels[Label::Commitment.index()];
            let rest: Vec<u64> = corpus_themes
                .iter()
                .zip(&theme_counts[i])
                .map(|(c, g)| c - g)
                .collect();
            let theme_log_odds = theme_prior.log_odds(&theme_counts[i], &rest);
            let mut word_scores: Vec<WordScore> = Vec::new();
            let group_words: u64 = tally.words.values().sum();
            for (&w, &count) in &tally.words {
                let corpus = corpus_words[w as usize];
                if corpus < options.min_word_count {
                    continue;
                }
                let counts = ItemCounts {
                    focal: count as f64,
                    focal_total: group_words as f64,
                    other: (corpus - count) as f64,
                    other_total: (word_prior.total_count - group_words) as f64,
                };
                if let Some(lo) =
                    log_odds_dirichlet(counts, word_prior.alpha(corpus), word_prior.alpha_total)
                {
                    word_scores.push(WordScore {
                        word: vocabulary[w as usize].clone(),
                        count,
                        log_odds: lo,
                    });
                }
            }
            word_scores.sort_by(|a, b| {
                b.log_odds
                    .z
                    .total_cmp(&a.log_odds.z)
                    .then_with(|| a.word.cmp(&b.word))
            });
            word_scores.truncate(options.top_words);
            let examples = order
                .iter()
                .map(|&t| {
                    tally
                        .examples
                        .get_mut(t)
                        .map(std::mem::take)
                        .unwrap_or_default()
                })
                .collect();
            out_groups.push(GroupStats {
                name: name.clone(),
                sentences: tally.labels.iter().sum(),
                labels: label_shares(tally.labels),
                theme_calls: calls[i].clone(),
                theme_commitments: commitments[i].clone(),
                theme_shares: theme_counts[i]
                    .iter()
                    .map(|&c| Share::new(c, actions))
                    .collect(),
                theme_log_odds,
                similarity_to_rest: cosine(&to_f64(&theme_counts[i]), &to_f64(&rest)),
                words: word_scores,
                word_total: group_words,
                examples,
            });
        }
        let similarity = theme_counts
            .iter()
            .map(|a| {
                theme_counts
                    .iter()
                    .map(|b| cosine(&to_f64(a), &to_f64(b)))
                    .collect()
            })
            .collect();
        let corpus_actions =
            corpus_labels[Label::CallToAction.index()] + corpus_labels[Label::Commitment.index()];
        let all = GroupStats {
            name: ALL_GROUP.to_string(),
            sentences: records,
            labels: label_shares(corpus_labels),
            theme_shares: corpus_themes
                .iter()
                .map(|&c| Share::new(c, corpus_actions))
                .collect(),
            theme_calls: corpus_calls,
            theme_commitments: corpus_commitments,
            theme_log_odds: vec![None; themes.len()],
            similarity_to_rest: None,
            words: Vec::new(),
            word_total: word_prior.total_count,
            examples: vec![Vec::new(); themes.len()],
        };
        Comparison {
            by: options.by,
            themes,
            groups: out_groups,
            all,
            similarity,
            records,
            skipped_unknown,
        }
    }
}

fn grow(v: &mut Vec<u64>, len: usize) -> &mut Vec<u64> {
    if v.len() < len {
        v.resize(len, 0);
    }
    v
}

fn to_f64(v: &[u64]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

fn label_shares(counts: [u64; 3]) -> [Share; 3] {
    let n = counts.iter().sum();
    counts.map(|c| Share::new(c, n))
}

/// The informative Dirichlet prior of the corpus: α_w = α₀ · (corpus share of w).
struct Prior {
    total_count: u64,
    alpha_total: f64,
}

impl Prior {
    fn new(corpus: &[u64], groups: usize, strength: Option<f64>) -> Prior {
        let total_count: u64 = corpus.iter().sum();
        let alpha_total = strength.unwrap_or(total_count as f64 / groups.max(1) as f64);
        Prior {
            total_count,
            alpha_total,
        }
    }

    fn alpha(&self, corpus_count: u64) -> f64 {
        if self.total_count == 0 {
            return 0.0;
        }
        self.alpha_total * corpus_count as f64 / self.total_count as f64
    }

    /// Log-odds of each item of `focal` against `rest` (corpus = focal + rest).
    fn log_odds(&self, focal: &[u64], rest: &[u64]) -> Vec<Option<LogOdds>> {
        let focal_total: u64 = focal.iter().sum();
        let rest_total: u64 = rest.iter().sum();
        focal
            .iter()
            .zip(rest)
            .map(|(&y, &r)| {
                let counts = ItemCounts {
                    focal: y as f64,
                    focal_total: focal_total as f64,
                    other: r as f64,
                    other_total: rest_total as f64,
                };
                log_odds_dirichlet(counts, self.alpha(y + r), self.alpha_total)
            })
            .collect()
    }
}

/// A word that distinguishes a group, with its count in the group.
#[derive(Debug, Clone, PartialEq)]
pub struct WordScore {
    /// The word (lowercase).
    pub word: String,
    /// Its count in the group's calls and commitments.
    pub count: u64,
    /// Its log-odds against the rest of the corpus.
    pub log_odds: LogOdds,
}

/// The statistics of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStats {
    /// The group's name (value of the grouping field).
    pub name: String,
    /// Number of sentences.
    pub sentences: u64,
    /// Share of each label ([`Label::ALL`] order) with its Wilson interval.
    pub labels: [Share; 3],
    /// Calls to action per theme ([`Comparison::themes`] order).
    pub theme_calls: Vec<u64>,
    /// Commitments per theme.
    pub theme_commitments: Vec<u64>,
    /// Share of the group's calls and commitments that carry each theme.
    pub theme_shares: Vec<Share>,
    /// Log-odds of each theme against the rest of the corpus (theme tags as tokens).
    pub theme_log_odds: Vec<Option<LogOdds>>,
    /// Cosine of the group's theme profile with the rest of the corpus's.
    pub similarity_to_rest: Option<f64>,
    /// The most distinctive words of its calls and commitments, by z, highest first.
    pub words: Vec<WordScore>,
    /// Number of words counted in its calls and commitments.
    pub word_total: u64,
    /// Example sentences per theme, highest score first.
    pub examples: Vec<Vec<Example>>,
}

/// The comparison of all groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The grouping field.
    pub by: String,
    /// Theme ids seen, in taxonomy order, then others alphabetically.
    pub themes: Vec<String>,
    /// The groups, sorted by name.
    pub groups: Vec<GroupStats>,
    /// The whole corpus as one group (no log-odds, words or examples).
    pub all: GroupStats,
    /// Cosine of theme profiles between groups (`None` where a group has no themes).
    pub similarity: Vec<Vec<Option<f64>>>,
    /// Records counted.
    pub records: u64,
    /// Records skipped for lacking the grouping field.
    pub skipped_unknown: u64,
}

/// The columns of [`Comparison::table`].
pub const COLUMNS: [&str; 11] = [
    "table", "group", "key", "measure", "value", "lower", "upper", "count", "n", "text", "source",
];

/// The names of the tables of [`Comparison::table`], in output order.
pub const TABLES: [&str; 8] = [
    "sentences",
    "label_share",
    "theme_count",
    "theme_share",
    "distinctive_theme",
    "distinctive_word",
    "similarity",
    "example",
];

struct RowBuilder<'a> {
    table: &'static str,
    group: &'a str,
    key: String,
    measure: &'a str,
    value: Cell,
    lower: Option<f64>,
    upper: Option<f64>,
    count: Option<u64>,
    n: Option<u64>,
    text: Option<String>,
    source: Option<String>,
}

impl<'a> RowBuilder<'a> {
    fn new(
        table: &'static str,
        group: &'a str,
        key: impl Into<String>,
        measure: &'a str,
        value: Cell,
    ) -> Self {
        RowBuilder {
            table,
            group,
            key: key.into(),
            measure,
            value,
            lower: None,
            upper: None,
            count: None,
            n: None,
            text: None,
            source: None,
        }
    }

    fn share(mut self, s: &Share) -> Self {
        self.lower = s.interval.map(|i| i.lower);
        self.upper = s.interval.map(|i| i.upper);
        self.count = Some(s.count);
        self.n = Some(s.n);
        self
    }

    fn build(self) -> Vec<Cell> {
        let text = |s: Option<String>| s.map_or(Cell::Null, Cell::Text);
        vec![
            Cell::Text(self.table.into()),
            Cell::Text(self.group.into()),
            Cell::Text(self.key),
            Cell::Text(self.measure.into()),
            self.value,
            Cell::opt_float(self.lower),
            Cell::opt_float(self.upper),
            self.count.map_or(Cell::Null, Cell::Int),
            self.n.map_or(Cell::Null, Cell::Int),
            text(self.text),
            text(self.source),
        ]
    }
}

impl Comparison {
    /// The tidy table of the comparison, one row per group × key × measure, with
    /// the tables named in `tables` (all of [`TABLES`] when empty), in [`TABLES`] order:
    ///
    /// - `sentences`: `measure` `sentences` (all) and `actions` (calls + commitments).
    /// - `label_share`: `key` a label; `value` its share, `lower`/`upper` the 95%
    ///   Wilson interval, `count` of `n` sentences.
    /// - `theme_count`: `key` a theme, `measure` `call_to_action` or `commitment`,
    ///   `value` the number of such sentences with the theme.
    /// - `theme_share`: share of the group's calls and commitments that carry the theme,
    ///   with Wilson interval.
    /// - `distinctive_theme`, `distinctive_word`: `measure` `log_odds_ratio` (value,
    ///   95% interval; `count` in the group of `n` tags or words) and `z`.
    /// - `similarity`: `key` another group or `(rest)`, `measure` `cosine` of theme profiles.
    /// - `example`: `key` a theme, `measure` the label, `value` its score, `text`, `source`.
    ///
    /// The `(all)` group (the whole corpus) appears in the first four tables.
    pub fn table(&self, tables: &[String]) -> Table {
        let wanted = |t: &str| tables.is_empty() || tables.iter().any(|x| x == t);
        let mut out = Table::new(&COLUMNS);
        let everyone = || self.groups.iter().chain([&self.all]);
        let rows = &mut out.rows;
        if wanted("sentences") {
            for g in everyone() {
                let actions = g.labels[0].count + g.labels[1].count;
                for (measure, v) in [("sentences", g.sentences), ("actions", actions)] {
                    rows.push(
                        RowBuilder::new("sentences", &g.name, "", measure, Cell::Int(v)).build(),
                    );
                }
            }
        }
        if wanted("label_share") {
            for g in everyone() {
                for (label, share) in Label::ALL.iter().zip(&g.labels) {
                    let value = Cell::opt_float(share.value);
                    rows.push(
                        RowBuilder::new("label_share", &g.name, label.as_str(), "share", value)
                            .share(share)
                            .build(),
                    );
                }
            }
        }
        if wanted("theme_count") {
            for g in everyone() {
                for (t, theme) in self.themes.iter().enumerate() {
                    for (label, counts) in [
                        (Label::CallToAction, &g.theme_calls),
                        (Label::Commitment, &g.theme_commitments),
                    ] {
                        let row = RowBuilder::new(
                            "theme_count",
                            &g.name,
                            theme,
                            label.as_str(),
                            Cell::Int(counts[t]),
                        );
                        rows.push(row.build());
                    }
                }
            }
        }
        if wanted("theme_share") {
            for g in everyone() {
                for (theme, share) in self.themes.iter().zip(&g.theme_shares) {
                    let value = Cell::opt_float(share.value);
                    rows.push(
                        RowBuilder::new("theme_share", &g.name, theme, "share", value)
                            .share(share)
                            .build(),
                    );
                }
            }
        }
        if wanted("distinctive_theme") {
            for g in &self.groups {
                let tags: u64 = g.theme_calls.iter().chain(&g.theme_commitments).sum();
                for (t, theme) in self.themes.iter().enumerate() {
                    let count = g.theme_calls[t] + g.theme_commitments[t];
                    push_log_odds(
                        rows,
                        "distinctive_theme",
                        &g.name,
                        theme,
                        g.theme_log_odds[t],
                        count,
                        tags,
                    );
                }
            }
        }
        if wanted("distinctive_word") {
            for g in &self.groups {
                for w in &g.words {
                    push_log_odds(
                        rows,
                        "distinctive_word",
                        &g.name,
                        &w.word,
                        Some(w.log_odds),
                        w.count,
                        g.word_total,
                    );
                }
            }
        }
        if wanted("similarity") {
            for (i, g) in self.groups.iter().enumerate() {
                let rest = RowBuilder::new(
                    "similarity",
                    &g.name,
                    REST_GROUP,
                    "cosine",
                    Cell::opt_float(g.similarity_to_rest),
                );
                rows.push(rest.build());
                for (j, other) in self.groups.iter().enumerate() {
                    if i != j {
                        let value = Cell::opt_float(self.similarity[i][j]);
                        rows.push(
                            RowBuilder::new(
                                "similarity",
                                &g.name,
                                other.name.as_str(),
                                "cosine",
                                value,
                            )
                            .build(),
                        );
                    }
                }
            }
        }
        if wanted("example") {
            for g in &self.groups {
                for (theme, examples) in self.themes.iter().zip(&g.examples) {
                    for e in examples {
                        let mut row = RowBuilder::new(
                            "example",
                            &g.name,
                            theme,
                            e.label.as_str(),
                            Cell::opt_float(e.score),
                        );
                        row.text = Some(e.text.clone());
                        row.source = Some(e.source.clone());
                        rows.push(row.build());
                    }
                }
            }
        }
        out
    }
}

fn push_log_odds(
    rows: &mut Vec<Vec<Cell>>,
    table: &'static str,
    group: &str,
    key: &str,
    log_odds: Option<LogOdds>,
    count: u64,
    n: u64,
) {
    let mut delta = RowBuilder::new(
        table,
        group,
        key,
        "log_odds_ratio",
        Cell::opt_float(log_odds.map(|l| l.delta)),
    );
    delta.lower = log_odds.map(|l| l.interval().lower);
    delta.upper = log_odds.map(|l| l.interval().upper);
    delta.count = Some(count);
    delta.n = (n > 0).then_some(n);
    rows.push(delta.build());
    rows.push(
        RowBuilder::new(
            table,
            group,
            key,
            "z",
            Cell::opt_float(log_odds.map(|l| l.z)),
        )
        .build(),
    );
}

/// Function words left out of the distinctive-word counts.
const STOPWORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "although",
    "among",
    "and",
    "any",
    "are",
    "because",
    "been",
    "before",
    "being",
    "both",
    "but",
    "can",
    "could",
    "did",
    "does",
    "doing",
    "during",
    "each",
    "either",
    "every",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "her",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "into",
    "its",
    "itself",
    "just",
    "may",
    "might",
    "more",
    "most",
    "much",
    "must",
    "myself",
    "nor",
    "not",
    "now",
    "off",
    "once",
    "only",
    "other",
    "others",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "shall",
    "she",
    "should",
    "since",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "thus",
    "too",
    "under",
    "until",
    "upon",
    "very",
    "was",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "yet",
    "you",
    "your",
    "yours",
];

/// The words of a sentence for the distinctive-word counts: lowercase runs of
/// letters, digits, inner hyphens and apostrophes, of at least three characters with
/// a letter, without a final `'s` and without function words.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\'' || c == '’'))
        .map(|w| {
            let w = w
                .trim_matches(|c| c == '-' || c == '\'' || c == '’')
                .to_lowercase();
            match w.strip_suffix("'s").or_else(|| w.strip_suffix("’s")) {
                Some(stem) => stem.to_string(),
                None => w,
            }
        })
        .filter(|w| {
            w.chars().count() >= 3
                && w.chars().any(char::is_alphabetic)
                && !STOPWORDS.contains(&w.as_str())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(
        group: Option<&str>,
        label: Label,
        themes: &[&str],
        text: &str,
        score: f64,
    ) -> LabelledRecord {
        LabelledRecord {
            group: group.map(str::to_string),
            label,
            score: Some(score),
            themes: themes.iter().map(|s| s.to_string()).collect(),
            text: text.into(),
            source: "x".into(),
        }
    }

    #[test]
    fn parse_takes_fields_and_rejects_bad_records() {
        let line = r#"{"doc":"a.txt","record":2,"sentence":5,"delegation":"Chile","iso3":"CHL","year":2020,
            "text":"We must act.","label":"call_to_action","scores":{"call_to_action":0.9,"commitment":0.05,"context":0.05},
            "themes":["oceans","oceans","health"]}"#
            .replace('\n', " ");
        let r = LabelledRecord::parse(&line, "delegation", "f:1").unwrap();
        assert_eq!(r.group.as_deref(), Some("Chile"));
        assert_eq!(r.themes, vec!["oceans", "health"]);
        assert_eq!(r.score, Some(0.9));
        assert_eq!(r.source, "a.txt:2:5");
        assert_eq!(
            LabelledRecord::parse(&line, "year", "f:1")
                .unwrap()
                .group
                .as_deref(),
            Some("2020")
        );
        assert_eq!(
            LabelledRecord::parse(&line, "region", "f:1").unwrap().group,
            None
        );

        let no_doc = r#"{"text":"x","label":"context","delegation":""}"#;
        let r = LabelledRecord::parse(no_doc, "delegation", "f:7").unwrap();
        assert_eq!(
            (r.group, r.source.as_str(), r.themes.len()),
            (None, "f:7", 0)
        );

        for (bad, why) in [
            ("{", "not a JSON object"),
            ("[1]", "not a JSON object"),
            (r#"{"text":"x"}"#, "missing field \"label\""),
            (
                r#"{"text":"x","label":"question"}"#,
                "unknown label \"question\"",
            ),
            (r#"{"label":"context"}"#, "missing field \"text\""),
            (
                r#"{"text":"x","label":"context","themes":"oceans"}"#,
                "not a list",
            ),
        ] {
            let e = LabelledRecord::parse(bad, "delegation", "f:1").unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn tally_counts_themes_only_on_calls_and_commitments() {
        let mut t = Tally::new(CompareOptions::default());
        t.add(rec(
            Some("A"),
            Label::CallToAction,
            &["x"],
            "protect oceans",
            0.9,
        ));
        t.add(rec(
            Some("A"),
            Label::Commitment,
            &["x", "y"],
            "we fund oceans",
            0.8,
        ));
        t.add(rec(
            Some("A"),
            Label::Context,
            &["y"],
            "oceans are big",
            0.7,
        ));
        t.add(rec(None, Label::Context, &[], "hello", 0.7));
        let c = t.finish(&["y".to_string(), "x".to_string()]);
        assert_eq!(c.themes, vec!["y", "x"]);
        assert_eq!(c.groups.len(), 2);
        assert_eq!(c.groups[0].name, UNKNOWN_GROUP);
        let a = &c.groups[1];
        assert_eq!((a.name.as_str(), a.sentences), ("A", 3));
        assert_eq!(a.theme_calls, vec![0, 1]);
        assert_eq!(a.theme_commitments, vec![1, 1]);
        assert_eq!(a.theme_shares[1].value, Some(1.0));
        assert_eq!(a.examples[1].len(), 2);
        assert_eq!(a.examples[1][0].score, Some(0.9));
        assert_eq!(c.all.sentences, 4);
    }

    #[test]
    fn skip_unknown_drops_and_counts() {
        let mut t = Tally::new(CompareOptions {
            skip_unknown: true,
            ..CompareOptions::default()
        });
        t.add(rec(None, Label::Context, &[], "hello", 0.7));
        t.add(rec(Some("B"), Label::Context, &[], "hello", 0.7));
        let c = t.finish(&[]);
        assert_eq!((c.records, c.skipped_unknown, c.groups.len()), (1, 1, 1));
    }

    #[test]
    fn examples_keep_the_highest_scores_in_order() {
        let mut t = Tally::new(CompareOptions {
            examples: 2,
            ..CompareOptions::default()
        });
        for (i, s) in [0.5, 0.9, 0.7, 0.95, 0.6].iter().enumerate() {
            t.add(rec(
                Some("A"),
                Label::CallToAction,
                &["x"],
                &format!("s{i}"),
                *s,
            ));
        }
        let c = t.finish(&[]);
        let texts: Vec<&str> = c.groups[0].examples[0]
            .iter()
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(texts, vec!["s3", "s1"]);
    }

    #[test]
    fn words_are_lowercase_content_words() {
        let w: Vec<String> =
            words("The Council's anti-money-laundering rules, 2030 — we ALL must act!").collect();
        assert_eq!(w, vec!["council", "anti-money-laundering", "rules", "act"]);
    }
}
