//! Analysis of labelled sentences: policy themes ([`themes`]), the comparison of
//! groups ([`compare`], statistics in [`stats`]), tidy tables ([`tables`]) and the
//! HTML report ([`report`]).
//!
//! The command-line entry points are here: [`CompareArgs`] with [`run_compare`] for
//! `polrec compare`, [`ThemesArgs`] with [`run_themes_list`] and [`run_calibrate`]
//! for `polrec themes list|calibrate`.

pub mod compare;
pub mod report;
pub mod stats;
pub mod tables;
pub mod themes;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub use compare::{CompareOptions, Comparison, LabelledRecord, Tally};
pub use tables::{Cell, Table, TableFormat};
pub use themes::{
    calibrate, Calibration, CalibrationGrid, Embed, TagRule, Taxonomy, Theme, ThemeTagger,
};

use crate::{Error, Result};

/// Arguments of `polrec compare`.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct CompareArgs {
    /// `polrec label` output (JSONL, gzip-compressed or not); none or `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The field whose values form the groups (any carried field: iso3, year, …).
    /// Records where it is missing, null or empty form the group "(unknown)".
    #[arg(long, value_name = "FIELD", default_value = "delegation")]
    pub by: String,
    /// Leave out records without the --by field instead of grouping them as "(unknown)".
    #[arg(long)]
    pub skip_unknown: bool,
    /// Format of the tables [default: table]. With --html and neither --format nor
    /// --output, no tables are written.
    #[arg(long, value_enum)]
    pub format: Option<TableFormat>,
    /// Write the tables to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write a self-contained HTML report with charts to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Only these tables (repeatable; default all).
    #[arg(long = "table", value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(compare::TABLES))]
    pub tables: Vec<String>,
    /// Theme taxonomy giving theme names and order (default: the built-in one).
    #[arg(long, value_name = "FILE")]
    pub themes: Option<PathBuf>,
    /// Example sentences kept per group and theme (highest label score first).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub examples: usize,
    /// Distinctive words reported per group.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top_words: usize,
    /// Words seen fewer times in the whole corpus are not scored.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub min_word_count: u64,
    /// Total pseudo-count of the Dirichlet prior of the log-odds
    /// [default: the mean count per group, so the prior weighs as much as one average group].
    #[arg(long, value_name = "ALPHA0")]
    pub prior_strength: Option<f64>,
}

impl CompareArgs {
    /// The comparison settings these arguments ask for.
    pub fn options(&self) -> CompareOptions {
        CompareOptions {
            by: self.by.clone(),
            skip_unknown: self.skip_unknown,
            examples: self.examples,
            top_words: self.top_words,
            min_word_count: self.min_word_count,
            prior_strength: self.prior_strength,
        }
    }
}

/// What a `compare` run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareOutcome {
    /// Sentences counted.
    pub records: u64,
    /// Bad lines and unreadable inputs (each named on the error stream).
    pub failures: usize,
}

impl CompareOutcome {
    /// The process exit status: 0, or 1 when some input failed.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.failures > 0)
    }
}

/// `polrec compare` with the process's standard streams.
pub fn run_compare(args: &CompareArgs) -> Result<CompareOutcome> {
    run_compare_with(
        args,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr(),
    )
}

/// `polrec compare` reading `-` from `stdin`, writing tables to `out` (unless
/// `--output`) and naming each bad line (`FILE:LINE: message`) on `err`.
///
/// Bad lines and unreadable files are counted in the outcome and the rest is
/// processed; an unreadable taxonomy or an unwritable output is an error.
pub fn run_compare_with(
    args: &CompareArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<CompareOutcome> {
    if args
        .prior_strength
        .is_some_and(|a| !(a > 0.0 && a.is_finite()))
    {
        return Err(Error::Config {
            path: "--prior-strength".into(),
            message: "must be a positive number".into(),
        });
    }
    let taxonomy = Taxonomy::load(args.themes.as_deref())?;
    let mut tally = Tally::new(args.options());
    let mut failures = 0;
    let mut report = |e: Error| {
        let _ = writeln!(err, "polrec compare: {e}");
    };
    let stdin_only = [PathBuf::from("-")];
    let inputs: &[PathBuf] = if args.files.is_empty() {
        &stdin_only
    } else {
        &args.files
    };
    for path in inputs {
        if path.as_os_str() == "-" {
            failures += tally.read(&mut *stdin, "-", &mut report);
            continue;
        }
        match std::fs::File::open(path) {
            Ok(file) => failures += tally.read(file, &path.display().to_string(), &mut report),
            Err(source) => {
                failures += 1;
                report(Error::Io {
                    path: path.clone(),
                    source,
                });
            }
        }
    }
    let theme_order: Vec<String> = taxonomy.themes.iter().map(|t| t.id.clone()).collect();
    let comparison = tally.finish(&theme_order);

    if args.html.is_none() || args.format.is_some() || args.output.is_some() {
        let table = comparison.table(&args.tables);
        let format = args.format.unwrap_or(TableFormat::Table);
        write_to(args.output.as_deref(), out, |w| table.write(w, format))?;
    }
    if let Some(path) = &args.html {
        let info = report::ReportInfo {
            inputs: inputs.iter().map(|p| p.display().to_string()).collect(),
            failures,
        };
        let page = report::render(&comparison, &taxonomy, &info);
        std::fs::write(path, page).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(CompareOutcome {
        records: comparison.records,
        failures,
    })
}

/// Runs `write` on the file `path` (created), or on `out` when `None`.
fn write_to(
    path: Option<&Path>,
    out: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    match path {
        Some(p) => {
            let file = std::fs::File::create(p).map_err(io_error(p))?;
            let mut w = std::io::BufWriter::new(file);
            write(&mut w).and_then(|()| w.flush()).map_err(io_error(p))
        }
        None => {
            let mut w = std::io::BufWriter::new(out);
            write(&mut w)
                .and_then(|()| w.flush())
                .map_err(io_error(Path::new("-")))
        }
    }
}

/// Arguments of `polrec themes`.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ThemesArgs {
    /// What to do with the taxonomy.
    #[command(subcommand)]
    pub command: ThemesCommand,
}

/// The subcommands of `polrec themes`.
#[derive(Debug, Clone, PartialEq, clap::Subcommand)]
pub enum ThemesCommand {
    /// Print the themes of the taxonomy and its tagging rule.
    List(ThemesListArgs),
    /// Sweep the tagging threshold on a theme-labelled set and pick the best.
    Calibrate(CalibrateArgs),
}

/// Arguments of `polrec themes list`.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ThemesListArgs {
    /// Taxonomy file (default: the built-in one).
    #[arg(long, value_name = "FILE")]
    pub themes: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// Arguments of `polrec themes calibrate`.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct CalibrateArgs {
    /// Calibration set: JSONL with `text` and `themes` (list of correct theme ids).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Taxonomy file (default: the built-in one).
    #[arg(long, value_name = "FILE")]
    pub themes: Option<PathBuf>,
    /// Model whose embeddings are used (as for `polrec label`; default: built-in).
    #[arg(long, value_name = "PATH_OR_HUB_ID")]
    pub model: Option<String>,
    /// Output format of the sweep.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
    /// Write the best threshold and margin into the `[tagging]` table of this taxonomy file.
    #[arg(long, value_name = "THEMES_TOML")]
    pub update: Option<PathBuf>,
}

/// `polrec themes list`: one row per theme with its id, name, number of examples
/// and description, after a line with the rule (table format only).
pub fn run_themes_list(args: &ThemesListArgs, out: &mut dyn Write) -> Result<()> {
    let taxonomy = Taxonomy::load(args.themes.as_deref())?;
    let mut table = Table::new(&["id", "name", "examples", "description"]);
    for t in &taxonomy.themes {
        table.rows.push(vec![
            Cell::Text(t.id.clone()),
            Cell::Text(t.name.clone()),
            Cell::Int(t.examples.len() as u64),
            Cell::Text(t.description.clone()),
        ]);
    }
    let stdout_error = |source| Error::Io {
        path: PathBuf::from("-"),
        source,
    };
    if args.format == TableFormat::Table {
        let r = taxonomy.rule;
        let margin = r.margin.map_or("none".to_string(), |m| format!("{m:.2}"));
        writeln!(
            out,
            "{} themes; threshold {:.2}, margin {margin}, at most {} per sentence\n",
            taxonomy.themes.len(),
            r.threshold,
            r.max_themes
        )
        .map_err(stdout_error)?;
    }
    table.write(out, args.format).map_err(stdout_error)
}

/// `polrec themes calibrate`: embeds the taxonomy and the calibration set with
/// `embed` (the classifier's embeddings, loaded by the caller from `--model`),
/// writes the sweep to `out` (column `best` marks the chosen row), a summary to
/// `err`, and with `--update` the chosen rule into that taxonomy file.
pub fn run_calibrate(
    args: &CalibrateArgs,
    embed: &Embed<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Calibration> {
    let taxonomy = Taxonomy::load(args.themes.as_deref())?;
    let examples = themes::read_calibration(&args.file, &taxonomy)?;
    let tagger = ThemeTagger::new(&taxonomy, embed)?;
    let result = calibrate(&tagger, &examples, embed, &CalibrationGrid::default())?;
    let mut table = Table::new(&[
        "threshold",
        "margin",
        "max_themes",
        "precision",
        "recall",
        "f1",
        "tp",
        "fp",
        "fn",
        "best",
    ]);
    for row in &result.rows {
        table.rows.push(vec![
            Cell::Float(f64::from(row.rule.threshold)),
            Cell::opt_float(row.rule.margin.map(f64::from)),
            Cell::Int(row.rule.max_themes as u64),
            Cell::Float(row.precision),
            Cell::Float(row.recall),
            Cell::Float(row.f1),
            Cell::Int(row.confusion.tp),
            Cell::Int(row.confusion.fp),
            Cell::Int(row.confusion.fn_),
            Cell::Bool(row == &result.best),
        ]);
    }
    let stdout_error = |source| Error::Io {
        path: PathBuf::from("-"),
        source,
    };
    table.write(out, args.format).map_err(stdout_error)?;
    let b = &result.best;
    let margin = b
        .rule
        .margin
        .map_or("none".to_string(), |m| format!("{m:.2}"));
    let _ = writeln!(
        err,
        "best on {} sentences: threshold {:.2}, margin {margin}: precision {:.3}, recall {:.3}, F1 {:.3}",
        result.sentences, b.rule.threshold, b.precision, b.recall, b.f1
    );
    if let Some(path) = &args.update {
        let io_error = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(io_error)?;
        let updated = themes::set_rule_in_toml(&text, b.rule.threshold, b.rule.margin);
        Taxonomy::parse(&updated, &path.display().to_string())?;
        std::fs::write(path, updated).map_err(io_error)?;
        let _ = writeln!(err, "wrote threshold and margin to {}", path.display());
    }
    Ok(result)
}
