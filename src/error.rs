//! The library's typed errors.

use std::path::PathBuf;

/// Everything that can go wrong inside the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input or output file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A record of an input could not be parsed; the rest of the input is still read.
    #[error("{path}:{line}: {message}")]
    BadRecord {
        /// The input file (`-` for standard input).
        path: String,
        /// 1-based line number of the record.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A model directory, hub id or embedded model could not be loaded.
    #[error("model: {0}")]
    Model(String),
    /// The tensor library failed.
    #[error("tensor: {0}")]
    Candle(#[from] candle_core::Error),
    /// The tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A training checkpoint cannot be resumed.
    #[error("{path}: {message}")]
    Checkpoint {
        /// The checkpoint file concerned.
        path: PathBuf,
        /// Why it cannot be resumed.
        message: String,
    },
    /// A configuration file (themes, model config) is invalid.
    #[error("{path}: {message}")]
    Config {
        /// The file concerned.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
