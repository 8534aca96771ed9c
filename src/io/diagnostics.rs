//! Messages to the user about the inputs: errors (an input or record left out),
//! warnings (something read differently than written) and notes. Errors and the
//! warnings that say a text was altered (bytes replaced, a sentence cut at the model's
//! input limit) count for the exit status.

use std::collections::HashSet;
use std::fmt::Display;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Where messages go: a function given each finished line.
type Line = Box<dyn Fn(&str) + Send + Sync>;

/// Reports problems with the inputs as they are found, and counts them.
pub struct Diagnostics {
    print: Line,
    quiet: bool,
    failures: AtomicUsize,
    altered: AtomicUsize,
    warnings: AtomicUsize,
    said: Mutex<HashSet<String>>,
}

impl Diagnostics {
    /// Messages printed by `print`, one line at a time; `quiet` drops notes.
    pub fn new(print: impl Fn(&str) + Send + Sync + 'static, quiet: bool) -> Self {
        Diagnostics {
            print: Box::new(print),
            quiet,
            failures: AtomicUsize::new(0),
            altered: AtomicUsize::new(0),
            warnings: AtomicUsize::new(0),
            said: Mutex::default(),
        }
    }

    /// Messages kept in memory, for tests; read them back with the returned handle.
    #[cfg(test)]
    pub fn capture() -> (Self, std::sync::Arc<Mutex<Vec<String>>>) {
        let lines = std::sync::Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let diagnostics = Diagnostics::new(
            move |line| {
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(line.to_string())
            },
            false,
        );
        (diagnostics, lines)
    }

    /// An input or a record of one failed and was left out.
    pub fn fail(&self, error: &crate::Error) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        (self.print)(&format!("error: {error}"));
    }

    /// Something in `path` at `line` was read, but not exactly as written.
    pub fn warn(&self, path: &str, line: usize, message: impl Display) {
        self.warnings.fetch_add(1, Ordering::Relaxed);
        (self.print)(&format!("warning: {path}:{line}: {message}"));
    }

    /// A text in `path` at `line` was labelled, but altered from what was written
    /// (invalid bytes replaced, cut at the model's input limit): a warning that
    /// counts for the exit status, since the label is not that of the whole text.
    pub fn altered(&self, path: &str, line: usize, message: impl Display) {
        self.altered.fetch_add(1, Ordering::Relaxed);
        self.warn(path, line, message);
    }

    /// Information the user may want (dropped with `--quiet`).
    pub fn note(&self, message: impl Display) {
        if !self.quiet {
            (self.print)(&format!("note: {message}"));
        }
    }

    /// Like [`Diagnostics::warn`], but only the first time for a given `key` in a run.
    pub fn warn_once(&self, key: &str, path: &str, line: usize, message: impl Display) {
        if self
            .said
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string())
        {
            self.warn(path, line, message);
        }
    }

    /// How many failures were reported.
    pub fn failures(&self) -> usize {
        self.failures.load(Ordering::Relaxed)
    }

    /// How many texts were reported altered (each also counted as a warning).
    pub fn altered_texts(&self) -> usize {
        self.altered.load(Ordering::Relaxed)
    }

    /// How many warnings were reported.
    pub fn warnings(&self) -> usize {
        self.warnings.load(Ordering::Relaxed)
    }
}
