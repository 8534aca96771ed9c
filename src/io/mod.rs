//! Reading inputs and writing outputs, and the `label` command that joins them
//! through the [`pipeline`](crate::pipeline).
//!
//! - [`source`]: which inputs (files, walked directories, standard input) and their formats;
//! - [`decode`]: opening them (gzip, binary files) and decoding UTF-8 with offsets kept;
//! - [`reader`]: their records (whole text, lines, JSONL, CSV/TSV rows);
//! - [`record`] and [`writer`]: output records as JSONL, CSV or TSV;
//! - [`shard`] and [`resume`]: `--shard K/N` and `--resume`;
//! - [`diagnostics`]: errors and warnings naming file and line;
//! - [`label`]: the `label` command.

pub mod decode;
pub mod diagnostics;
pub mod label;
pub mod reader;
pub mod record;
pub mod resume;
pub mod shard;
pub mod source;
pub mod writer;

pub use label::{LabelArgs, Summary};
pub use record::OutputRecord;
