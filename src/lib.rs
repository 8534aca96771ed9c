//! polrec labels every sentence of diplomatic statements as a call to action, a
//! commitment or context, tags the policy themes of what is asked and promised, and
//! compares delegations.
//!
//! Data flows one way:
//! [`text`] (read, normalise, segment, speakers) → [`model`] (tokenizer, encoder,
//! head, loading) → [`pipeline`] (batching, threads, ordering) → [`io`] (readers,
//! writers) → [`analysis`] (themes, compare, report). [`bench`](mod@bench) measures the
//! pipeline end to end.

#![warn(missing_docs)]

pub mod analysis;
pub mod bench;
pub mod error;
pub mod io;
pub mod model;
pub mod pipeline;
pub mod text;

pub use error::{Error, Result};
pub use model::{Classifier, Label, Prediction, Scores};
pub use text::Sentence;
