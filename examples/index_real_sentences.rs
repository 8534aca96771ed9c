//! Builds an index of labelled real sentences (the form of `datasets/*.index.jsonl`):
//! each sentence located in its statement of the UN General Debate Corpus, so that the
//! index keeps offsets, labels and a hash, and no text.
//!
//! ```text
//! cargo run --release --example index_real_sentences -- LABELLED.jsonl CORPUS.jsonl.gz OUT.index.jsonl
//! ```
//!
//! `LABELLED.jsonl` holds one sentence a line with the fields of the labelled real-train
//! file (`id`, `iso3`, `session`, `year`, `text`, `label`, `both_confident`). Sentences
//! not found in the corpus are listed and left out. Takes about 5 s for 2,000 sentences.

use std::path::PathBuf;

use anyhow::{bail, Context};
use polrec::model::train_data::{build_real_train_index, write_index, MatchKind};

fn main() -> anyhow::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [labelled, corpus, output] = args.as_slice() else {
        bail!("usage: index_real_sentences LABELLED.jsonl CORPUS.jsonl[.gz] OUT.index.jsonl");
    };
    let build = build_real_train_index(labelled, corpus)
        .with_context(|| format!("indexing {} in {}", labelled.display(), corpus.display()))?;
    write_index(output, &build.entries).with_context(|| format!("writing {}", output.display()))?;
    eprintln!(
        "{}: {} sentences indexed (verbatim {}, whitespace {}, folded {}); {} not found{}",
        output.display(),
        build.entries.len(),
        build.count(MatchKind::Verbatim),
        build.count(MatchKind::Whitespace),
        build.count(MatchKind::Folded),
        build.not_found.len(),
        if build.not_found.is_empty() {
            String::new()
        } else {
            format!(": {}", build.not_found.join(", "))
        }
    );
    Ok(())
}
