//! Writing output records as JSONL, CSV or TSV.

use std::borrow::Cow;
use std::io::{self, Write};

use serde_json::value::RawValue;

use super::record::{OutputRecord, CORE_FIELDS, META_FIELDS, SCORE_COLUMNS, TRUNCATED_FIELD};

/// How output records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One JSON object a line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
}

impl OutputFormat {
    /// The cell separator of a table format; `None` for JSONL.
    pub fn delimiter(self) -> Option<u8> {
        match self {
            OutputFormat::Jsonl => None,
            OutputFormat::Csv => Some(b','),
            OutputFormat::Tsv => Some(b'\t'),
        }
    }
}

/// The csv writer settings of table output (shared with resuming, which must
/// write records byte for byte alike).
pub fn table_writer_builder(delimiter: u8) -> csv::WriterBuilder {
    let mut builder = csv::WriterBuilder::new();
    builder
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'));
    builder
}

/// The fixed columns of table output, before the carried ones: the core fields with
/// `scores` flattened, then `iso3`, `session`, `year` (always present, empty where
/// unknown), then `truncated` (`true` or empty; last, so that the older columns keep
/// their places).
pub fn fixed_columns() -> Vec<&'static str> {
    let mut columns = Vec::with_capacity(CORE_FIELDS.len() + 6);
    for field in CORE_FIELDS {
        if field == "scores" {
            columns.extend(SCORE_COLUMNS);
        } else {
            columns.push(field);
        }
    }
    columns.extend(META_FIELDS);
    columns.push(TRUNCATED_FIELD);
    columns
}

/// Writes output records in one of the formats.
pub struct RecordWriter {
    inner: Inner,
}

enum Inner {
    Jsonl(io::BufWriter<Box<dyn Write>>),
    Table(Box<Table>),
}

/// Table output: the header is fixed by the first record written.
struct Table {
    writer: csv::Writer<Box<dyn Write>>,
    /// Carried columns after the fixed ones; `None` until the header is written.
    carried: Option<Vec<String>>,
}

impl RecordWriter {
    /// A writer of `format` into `out`, starting a new output.
    pub fn new(format: OutputFormat, out: Box<dyn Write>) -> Self {
        Self::appending(format, out, None)
    }

    /// A writer of `format` into `out`, going on with an output whose table header
    /// was already written with these carried columns (`None`: no header yet).
    pub fn appending(
        format: OutputFormat,
        out: Box<dyn Write>,
        carried_columns: Option<Vec<String>>,
    ) -> Self {
        let inner = match format.delimiter() {
            None => Inner::Jsonl(io::BufWriter::with_capacity(1 << 16, out)),
            Some(delimiter) => Inner::Table(Box::new(Table {
                writer: table_writer_builder(delimiter).from_writer(out),
                carried: carried_columns,
            })),
        };
        RecordWriter { inner }
    }

    /// Writes one record. For tables, returns the carried fields of the record that
    /// have no column (the columns are those of the first record written) and so were
    /// left out; JSONL keeps every field.
    pub fn write(&mut self, record: &OutputRecord) -> io::Result<Vec<String>> {
        match &mut self.inner {
            Inner::Jsonl(out) => {
                serde_json::to_writer(&mut *out, record)?;
                out.write_all(b"\n")?;
                Ok(Vec::new())
            }
            Inner::Table(table) => table.write(record),
        }
    }

    /// Hands everything written so far to the operating system.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Jsonl(out) => out.flush(),
            Inner::Table(table) => table.writer.flush(),
        }
    }

    /// Ends the output: a table that got no record still gets its header.
    pub fn finish(mut self) -> io::Result<()> {
        if let Inner::Table(table) = &mut self.inner {
            if table.carried.is_none() {
                table.write_header(Vec::new())?;
            }
        }
        self.flush()
    }
}

impl Table {
    fn write_header(&mut self, carried: Vec<String>) -> io::Result<()> {
        let fixed = fixed_columns();
        self.writer.write_record(
            fixed
                .iter()
                .copied()
                .chain(carried.iter().map(String::as_str)),
        )?;
        self.carried = Some(carried);
        Ok(())
    }

    fn write(&mut self, record: &OutputRecord) -> io::Result<Vec<String>> {
        if self.carried.is_none() {
            let names = record
                .carried
                .iter()
                .map(|(n, _)| n)
                .filter(|n| !META_FIELDS.contains(&n.as_str()));
            self.write_header(names.cloned().collect())?;
        }
        let columns = self.carried.as_deref().unwrap_or_default();
        let number = |n: usize| Cow::Owned(n.to_string());
        let text = |s: Option<&str>| Cow::Owned(s.unwrap_or_default().to_string());
        let score = |f: fn(&crate::model::Scores) -> f32| {
            Cow::Owned(
                record
                    .prediction
                    .map(|p| f(&p.scores).to_string())
                    .unwrap_or_default(),
            )
        };
        let mut row: Vec<Cow<str>> = vec![
            Cow::Borrowed(record.doc),
            number(record.record),
            number(record.sentence),
            number(record.start),
            number(record.end),
            text(record.speaker),
            text(record.delegation),
            Cow::Borrowed(record.text),
            text(record.prediction.map(|p| p.label.as_str())),
            score(|s| s.call_to_action),
            score(|s| s.commitment),
            score(|s| s.context),
            Cow::Owned(record.themes.join(";")),
        ];
        let carried = |name: &str| {
            record
                .carried
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| cell(v))
        };
        let meta = record.meta;
        row.push(carried("iso3").unwrap_or_else(|| text(meta.map(|m| m.iso3.as_str()))));
        row.push(carried("session").unwrap_or_else(|| {
            Cow::Owned(meta.map(|m| m.session.to_string()).unwrap_or_default())
        }));
        row.push(
            carried("year").unwrap_or_else(|| {
                Cow::Owned(meta.map(|m| m.year.to_string()).unwrap_or_default())
            }),
        );
        row.push(Cow::Borrowed(if record.truncated { "true" } else { "" }));
        row.extend(columns.iter().map(|c| carried(c).unwrap_or_default()));
        self.writer.write_record(row.iter().map(|c| c.as_bytes()))?;
        Ok(record
            .carried
            .iter()
            .map(|(n, _)| n)
            .filter(|n| !META_FIELDS.contains(&n.as_str()) && !columns.contains(n))
            .cloned()
            .collect())
    }
}

/// A carried JSON value as a table cell: strings as they are, `null` empty, other
/// values as their JSON text.
fn cell(value: &RawValue) -> Cow<'_, str> {
    let raw = value.get();
    if raw.starts_with('"') {
        serde_json::from_str::<String>(raw).map_or(Cow::Borrowed(raw), Cow::Owned)
    } else if raw == "null" {
        Cow::Borrowed("")
    } else {
        Cow::Borrowed(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Label, Prediction, Scores};
    use crate::text::DocMeta;
    use std::sync::{Arc, Mutex};

    /// A `Write` whose bytes can be read after the writer is gone.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.into()).unwrap()
    }

    fn record<'a>(
        carried: &'a [(String, Box<RawValue>)],
        prediction: Option<&'a Prediction>,
    ) -> OutputRecord<'a> {
        OutputRecord {
            doc: "in.jsonl",
            record: 3,
            sentence: 0,
            start: 0,
            end: 9,
            speaker: None,
            delegation: Some("Chile"),
            text: "Hi, \"all\".",
            prediction,
            truncated: false,
            themes: &[],
            meta: None,
            carried,
        }
    }

    #[test]
    fn csv_header_from_first_record_and_cells() {
        let out = Shared::default();
        let mut writer = RecordWriter::new(OutputFormat::Csv, Box::new(out.clone()));
        let first = vec![
            ("id".to_string(), raw("\"a,1\"")),
            ("n".into(), raw("[1, 2]")),
            ("iso3".into(), raw("\"CHL\"")),
        ];
        let p = Prediction {
            label: Label::Context,
            scores: Scores {
                call_to_action: 0.1,
                commitment: 0.2,
                context: 0.7,
            },
        };
        let cut = OutputRecord {
            truncated: true,
            ..record(&first, Some(&p))
        };
        assert!(writer.write(&cut).unwrap().is_empty());
        let second = vec![
            ("extra".to_string(), raw("true")),
            ("n".into(), raw("null")),
        ];
        assert_eq!(writer.write(&record(&second, None)).unwrap(), ["extra"]);
        writer.finish().unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "doc,record,sentence,start,end,speaker,delegation,text,label,score_call_to_action,score_commitment,score_context,themes,iso3,session,year,truncated,id,n\n\
             in.jsonl,3,0,0,9,,Chile,\"Hi, \"\"all\"\".\",context,0.1,0.2,0.7,,CHL,,,true,\"a,1\",\"[1, 2]\"\n\
             in.jsonl,3,0,0,9,,Chile,\"Hi, \"\"all\"\".\",,,,,,,,,,,\n"
        );
    }

    #[test]
    fn tsv_with_meta_and_no_records_gets_a_header() {
        let out = Shared::default();
        let writer = RecordWriter::new(OutputFormat::Tsv, Box::new(out.clone()));
        writer.finish().unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, fixed_columns().join("\t") + "\n");

        let out = Shared::default();
        let mut writer = RecordWriter::new(OutputFormat::Tsv, Box::new(out.clone()));
        let meta = DocMeta {
            iso3: "FJI".into(),
            session: 76,
            year: 2021,
        };
        let mut r = record(&[], None);
        r.meta = Some(&meta);
        writer.write(&r).unwrap();
        writer.finish().unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(text.ends_with("\tFJI\t76\t2021\t\n"), "{text}");
    }
}
