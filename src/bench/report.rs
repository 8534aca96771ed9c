//! What `polrec bench` reports: throughput, stages, start-up, memory and settings, as
//! a table or as JSON.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::{BenchArgs, OverlappedRun, StagedRun};

/// The figures of a bench: medians over the runs.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The corpus read.
    pub corpus: String,
    /// Input records (units) read.
    pub units: usize,
    /// Sentences labelled.
    pub sentences: usize,
    /// Sentences given to the classifier: the distinct texts of each chunk.
    pub distinct_sentences: usize,
    /// Tokens of the sentences (special tokens included, padding not).
    pub tokens: usize,
    /// Output records written (sentences less failures).
    pub records_written: usize,
    /// Inputs, records or sentences that failed (reported on stderr).
    pub failures: usize,
    /// Sentences per second of the pipeline run as `label` runs it.
    pub sentences_per_sec: f64,
    /// Tokens (not padding) per second of the pipeline run as `label` runs it.
    pub tokens_per_sec: f64,
    /// Seconds of that run (the median).
    pub seconds: f64,
    /// Seconds of each run, in order.
    pub run_seconds: Vec<f64>,
    /// Loading the model, in milliseconds.
    pub model_load_ms: f64,
    /// From the start of the command (model loading included) to the first output
    /// record flushed, in the first run, in milliseconds.
    pub time_to_first_label_ms: Option<f64>,
    /// The stages run one after another, in milliseconds.
    pub stages_ms: Stages,
    /// Bytes of output (counted, not kept).
    pub output_bytes: u64,
    /// Peak resident memory of the process (`VmHWM`), in bytes; `None` where unknown.
    pub peak_rss_bytes: Option<u64>,
    /// How the bench ran.
    pub settings: Settings,
}

/// Time of each stage when the stages run one after another, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Stages {
    /// Reading all records, then segmenting them.
    pub read_segment: f64,
    /// Tokenizing the distinct sentences.
    pub tokenize: f64,
    /// Encoding and classifying them.
    pub encode_classify: f64,
    /// Writing the output records.
    pub write: f64,
    /// The rest: handing units over, sorting, fanning out labels.
    pub other: f64,
    /// The whole sequence.
    pub total: f64,
}

/// How the bench ran.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Threads of the pool.
    pub threads: usize,
    /// Sentences per classifier batch.
    pub batch_size: u32,
    /// Runs made.
    pub repeat: u32,
    /// Whether units were split into sentences.
    pub split: bool,
    /// The input format asked for.
    pub input_format: String,
    /// The output format written.
    pub format: String,
    /// The model (`embedded` for the one inside the binary).
    pub model: String,
    /// CPU features found at run time that matter to the encoder.
    pub cpu_features: Vec<&'static str>,
    /// Vector instructions and libraries candle says it uses (its `with_avx` and
    /// `with_f16c` detect at run time; `mkl` and `accelerate` are build features).
    pub candle_uses: Vec<&'static str>,
}

impl Report {
    /// The report of `runs`, made with `args` on `threads` threads.
    pub(super) fn new(
        args: &BenchArgs,
        corpus: String,
        threads: usize,
        model_load: Duration,
        runs: &[(OverlappedRun, StagedRun)],
        failures: usize,
    ) -> Report {
        let first = &runs[0].0; // `measure` makes at least one run
        let stats = &first.stats;
        let seconds = median(runs.iter().map(|(o, _)| o.elapsed.as_secs_f64()));
        let per_sec = |n: usize| match seconds > 0.0 {
            true => n as f64 / seconds,
            false => 0.0,
        };
        let ms = |f: &dyn Fn(&StagedRun) -> Duration| {
            median(runs.iter().map(|(_, s)| f(s).as_secs_f64() * 1e3))
        };
        let read_segment = ms(&|s| s.read + s.stats.segment);
        let tokenize = ms(&|s| s.stats.tokenize);
        let encode_classify = ms(&|s| s.stats.classify);
        let write = ms(&|s| s.stats.sink);
        let total = ms(&|s| s.elapsed);
        Report {
            corpus,
            units: stats.units,
            sentences: stats.sentences,
            distinct_sentences: stats.classified,
            tokens: stats.tokens,
            records_written: first.output.records,
            failures,
            sentences_per_sec: per_sec(stats.sentences),
            tokens_per_sec: per_sec(stats.tokens),
            seconds,
            run_seconds: runs.iter().map(|(o, _)| o.elapsed.as_secs_f64()).collect(),
            model_load_ms: model_load.as_secs_f64() * 1e3,
            time_to_first_label_ms: first.output.first_label.map(|d| d.as_secs_f64() * 1e3),
            stages_ms: Stages {
                read_segment,
                tokenize,
                encode_classify,
                write,
                other: (total - read_segment - tokenize - encode_classify - write).max(0.0),
                total,
            },
            output_bytes: first.output.bytes,
            peak_rss_bytes: peak_rss_bytes(),
            settings: Settings {
                threads,
                batch_size: args.batch_size,
                repeat: args.repeat,
                split: !args.no_split,
                input_format: value_name(args.input_format),
                format: value_name(args.format),
                model: args.model.clone().unwrap_or_else(|| "embedded".into()),
                cpu_features: cpu_features(),
                candle_uses: candle_uses(),
            },
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stages_ms;
        let settings = &self.settings;
        let runs = match self.run_seconds.len() {
            1 => "1 run".to_string(),
            n => format!("median of {n} runs"),
        };
        writeln!(
            f,
            "corpus       {}: {} units, {} sentences ({} distinct in their chunks), {} tokens",
            self.corpus, self.units, self.sentences, self.distinct_sentences, self.tokens
        )?;
        writeln!(
            f,
            "throughput   {:.1} sentences/s, {:.0} tokens/s ({:.2} s, {runs})",
            self.sentences_per_sec, self.tokens_per_sec, self.seconds
        )?;
        let first = self
            .time_to_first_label_ms
            .map_or("no label written".into(), |t| {
                format!("first label after {}", millis(t))
            });
        writeln!(
            f,
            "start-up     model load {}, {first}",
            millis(self.model_load_ms)
        )?;
        writeln!(
            f,
            "stages       read+segment {}, tokenize {}, encode+classify {}, write {}, other {} \
             (one after another: {})",
            millis(s.read_segment),
            millis(s.tokenize),
            millis(s.encode_classify),
            millis(s.write),
            millis(s.other),
            millis(s.total)
        )?;
        writeln!(
            f,
            "output       {} records, {} bytes of {} (counted, not kept); {} failures",
            self.records_written, self.output_bytes, settings.format, self.failures
        )?;
        match self.peak_rss_bytes {
            Some(b) => writeln!(
                f,
                "peak memory  {:.1} MiB (VmHWM)",
                b as f64 / (1 << 20) as f64
            )?,
            None => writeln!(f, "peak memory  unknown")?,
        }
        writeln!(
            f,
            "settings     {} threads, batch size {}, {}, model {}, CPU {}, candle uses {}",
            settings.threads,
            settings.batch_size,
            if settings.split {
                "split into sentences"
            } else {
                "no split"
            },
            settings.model,
            list(&settings.cpu_features),
            list(&settings.candle_uses)
        )
    }
}

/// Milliseconds as `812 ms` or `15.31 s`.
fn millis(ms: f64) -> String {
    match ms < 1000.0 {
        true => format!("{ms:.0} ms"),
        false => format!("{:.2} s", ms / 1e3),
    }
}

/// Names joined by spaces, or `none`.
fn list(names: &[&str]) -> String {
    match names.is_empty() {
        true => "none".into(),
        false => names.join(" "),
    }
}

/// The median of some numbers (0 for none).
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() % 2 {
        1 => v[mid],
        _ => (v[mid - 1] + v[mid]) / 2.0,
    }
}

/// The name of a command-line value, as typed.
fn value_name(value: impl clap::ValueEnum) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

/// Peak resident memory of this process from `/proc/self/status` (Linux).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU features found at run time that matter to the encoder's arithmetic.
fn cpu_features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut found = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! detect {
            ($($f:tt),*) => {
                $(if std::arch::is_x86_feature_detected!($f) { found.push($f); })*
            };
        }
        detect!(
            "sse4.2",
            "avx",
            "avx2",
            "fma",
            "f16c",
            "avx512f",
            "avx512bw",
            "avx512vnni"
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        macro_rules! detect {
            ($($f:tt),*) => {
                $(if std::arch::is_aarch64_feature_detected!($f) { found.push($f); })*
            };
        }
        detect!("neon", "fp16", "dotprod", "i8mm");
    }
    found
}

/// Vector instructions and libraries candle says it uses.
fn candle_uses() -> Vec<&'static str> {
    use candle_core::utils;
    [
        (utils::with_avx(), "avx"),
        (utils::with_f16c(), "f16c"),
        (utils::with_neon(), "neon"),
        (utils::with_simd128(), "simd128"),
        (utils::has_mkl(), "mkl"),
        (utils::has_accelerate(), "accelerate"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median([4.0, 1.0, 3.0, 2.0].into_iter()), 2.5);
        assert_eq!(median(std::iter::empty()), 0.0);
    }

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes().is_some_and(|b| b > 0));
        }
    }

    #[test]
    fn millis_switch_to_seconds() {
        assert_eq!(millis(812.4), "812 ms");
        assert_eq!(millis(15_310.0), "15.31 s");
    }
}
