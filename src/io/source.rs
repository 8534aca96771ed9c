//! Finding the inputs: files named on the command line, directories walked
//! recursively in path order, and standard input.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::diagnostics::Diagnostics;

/// How an input is read, as chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// By extension: `.jsonl`/`.ndjson` JSONL, `.csv` CSV, `.tsv` TSV, anything else
    /// text; standard input is text.
    Auto,
    /// Plain text: the whole file is one record.
    Text,
    /// One JSON object a line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
}

/// The format an input is actually read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain text.
    Text,
    /// One JSON object a line.
    Jsonl,
    /// A table with a header row, cells separated by the given byte.
    Table(u8),
}

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The input's name in output records and messages: the path as given (or as
    /// found under a directory as given), `-` for standard input.
    pub doc: String,
    /// The file to open; `None` for standard input.
    pub path: Option<PathBuf>,
    /// The name that decides the input's shard: the path relative to the directory
    /// it was found under, or the file name of a file given directly, so that the
    /// same corpus shards alike wherever it lies.
    pub shard_name: String,
    /// How to read it.
    pub format: Format,
    /// Whether the file is gzip-compressed (its name ends in `.gz`).
    pub gzip: bool,
}

impl Source {
    /// The source reading standard input.
    pub fn stdin(format: InputFormat) -> Source {
        Source {
            doc: "-".into(),
            path: None,
            shard_name: "-".into(),
            format: resolve(format, None),
            gzip: false,
        }
    }

    /// The source reading the file `path`, named `doc`.
    pub fn file(path: PathBuf, shard_name: String, format: InputFormat) -> Source {
        let gzip = has_extension(&path, "gz");
        let inner = if gzip {
            path.with_extension("")
        } else {
            path.clone()
        };
        Source {
            doc: path.to_string_lossy().into_owned(),
            format: resolve(format, Some(&inner)),
            path: Some(path),
            shard_name,
            gzip,
        }
    }
}

/// Whether `path`'s extension is `ext`, ignoring case.
fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// The format of an input named `path` (`None`: standard input).
fn resolve(format: InputFormat, path: Option<&Path>) -> Format {
    match format {
        InputFormat::Text => Format::Text,
        InputFormat::Jsonl => Format::Jsonl,
        InputFormat::Csv => Format::Table(b','),
        InputFormat::Tsv => Format::Table(b'\t'),
        InputFormat::Auto => match path {
            Some(p) if has_extension(p, "jsonl") || has_extension(p, "ndjson") => Format::Jsonl,
            Some(p) if has_extension(p, "csv") => Format::Table(b','),
            Some(p) if has_extension(p, "tsv") => Format::Table(b'\t'),
            _ => Format::Text,
        },
    }
}

/// The inputs named by `inputs` (none, or `-`: standard input), in order.
///
/// Directories are walked recursively, following symbolic links, in path order;
/// hidden entries (names starting with `.`) inside them are left out, as most
/// search tools do. Files given directly are always read. Paths that do not exist,
/// cannot be listed or loop back on themselves are reported to `diagnostics` and left out.
pub fn discover(inputs: &[String], format: InputFormat, diagnostics: &Diagnostics) -> Vec<Source> {
    if inputs.is_empty() {
        return vec![Source::stdin(format)];
    }
    let mut sources = Vec::new();
    for input in inputs {
        if input == "-" {
            sources.push(Source::stdin(format));
            continue;
        }
        let path = PathBuf::from(input);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(&path, format, diagnostics, &mut sources),
            Ok(_) => {
                let name = path
                    .file_name()
                    .map_or_else(|| input.clone(), |n| n.to_string_lossy().into_owned());
                sources.push(Source::file(path, name, format));
            }
            Err(source) => diagnostics.fail(&crate::Error::Io { path, source }),
        }
    }
    sources
}

/// Adds the files under the directory `root` to `sources`.
fn walk(root: &Path, format: InputFormat, diagnostics: &Diagnostics, sources: &mut Vec<Source>) {
    let entries = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in entries {
        match entry {
            Ok(entry) if entry.file_type().is_file() => {
                let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
                let shard_name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                sources.push(Source::file(entry.into_path(), shard_name, format));
            }
            Ok(_) => {}
            Err(err) => {
                let path = err.path().unwrap_or(root).to_path_buf();
                let source = match err.loop_ancestor() {
                    Some(ancestor) => std::io::Error::other(format!(
                        "symbolic link loop: points back to {}",
                        ancestor.display()
                    )),
                    None => err.into(),
                };
                diagnostics.fail(&crate::Error::Io { path, source });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_extensions_unless_told() {
        let f = |name: &str, fmt| Source::file(name.into(), name.into(), fmt).format;
        assert_eq!(f("a.jsonl", InputFormat::Auto), Format::Jsonl);
        assert_eq!(f("a.NDJSON", InputFormat::Auto), Format::Jsonl);
        assert_eq!(f("a.csv", InputFormat::Auto), Format::Table(b','));
        assert_eq!(f("a.tsv", InputFormat::Auto), Format::Table(b'\t'));
        assert_eq!(f("a.txt", InputFormat::Auto), Format::Text);
        assert_eq!(f("README", InputFormat::Auto), Format::Text);
        assert_eq!(f("a.jsonl.gz", InputFormat::Auto), Format::Jsonl);
        assert!(Source::file("a.jsonl.gz".into(), String::new(), InputFormat::Auto).gzip);
        assert_eq!(f("a.txt", InputFormat::Jsonl), Format::Jsonl);
        assert_eq!(Source::stdin(InputFormat::Auto).format, Format::Text);
        assert_eq!(Source::stdin(InputFormat::Csv).format, Format::Table(b','));
    }
}
