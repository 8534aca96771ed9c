//! `--resume`: finding where an interrupted output stops, and cutting off a record
//! that was only partly written.
//!
//! Records are written whole and flushed after every chunk, so a run killed at any
//! moment leaves complete records followed by at most one partial one. A JSONL
//! record is complete when its line ends in a newline (JSON strings cannot hold
//! one); a CSV/TSV record when its bytes up to the end of the file are exactly what
//! the writer writes for the values read back (an unfinished quoted cell reads back
//! as different values). The partial record is cut off, and the run goes on after
//! the last complete record, identified by its `(doc, record, sentence)` and by how
//! often that key occurs in the output (an input given twice repeats its keys).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::Deserialize;

use super::writer::{fixed_columns, table_writer_builder, OutputFormat};

/// The `(doc, record, sentence)` that identifies an output record.
pub type RecordKey = (String, usize, usize);

/// The last complete record of an interrupted output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumePoint {
    /// Its `(doc, record, sentence)`.
    pub key: RecordKey,
    /// How many records of the output have this key (it is the last of them).
    pub occurrences: usize,
}

/// What an interrupted output holds, once its partial record is cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumed {
    /// Where to go on after; `None` when no record is complete.
    pub last: Option<ResumePoint>,
    /// For tables, the carried columns of the header, if the header is complete.
    pub carried_columns: Option<Vec<String>>,
    /// How many complete records the output holds.
    pub records: usize,
    /// Bytes of a partial record cut off the end.
    pub cut: u64,
}

/// Reads the output at `path` written as `format`, cuts off a trailing partial
/// record, and tells where to go on. `Ok(None)` when there is no such file yet.
pub fn prepare(path: &Path, format: OutputFormat) -> crate::Result<Option<Resumed>> {
    let file = match File::options().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, e)),
    };
    let len = file.metadata().map_err(|e| io_error(path, e))?.len();
    let output = Output {
        file: &file,
        path,
        format,
    };
    let scan = match format.delimiter() {
        None => output.scan_jsonl()?,
        Some(delimiter) => output.scan_table(delimiter, len)?,
    };
    if scan.complete_end < len {
        file.set_len(scan.complete_end)
            .map_err(|e| io_error(path, e))?;
    }
    let last = match scan.last {
        Some(key) => {
            let mut occurrences = 0;
            output.for_each_key(scan.complete_end, |k| occurrences += usize::from(k == &key))?;
            Some(ResumePoint { key, occurrences })
        }
        None => None,
    };
    Ok(Some(Resumed {
        last,
        carried_columns: scan.carried_columns,
        records: scan.records,
        cut: len - scan.complete_end,
    }))
}

fn io_error(path: &Path, source: std::io::Error) -> crate::Error {
    crate::Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The complete part of an output.
struct Scan {
    /// Key of the last complete record.
    last: Option<RecordKey>,
    /// Complete records.
    records: usize,
    /// For tables, the carried columns of a complete header.
    carried_columns: Option<Vec<String>>,
    /// Where the complete part ends.
    complete_end: u64,
}

/// The fields of a JSONL output record that identify it.
#[derive(Deserialize)]
struct JsonKey {
    doc: String,
    record: usize,
    sentence: usize,
}

/// An output file being resumed.
struct Output<'a> {
    file: &'a File,
    path: &'a Path,
    format: OutputFormat,
}

impl Output<'_> {
    /// The error for an output that `polrec label` did not write in this format.
    fn not_ours(&self, line: u64) -> crate::Error {
        let format = match self.format {
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Csv => "csv",
            OutputFormat::Tsv => "tsv",
        };
        crate::Error::Config {
            path: self.path.display().to_string(),
            message: format!(
                "line {line} is not a record of `polrec label --format {format}` output; \
                 cannot resume (check --format, or run without --resume to start afresh)"
            ),
        }
    }

    /// A reader from the start of the file.
    fn reader(&self) -> crate::Result<BufReader<&File>> {
        let mut file = self.file;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| io_error(self.path, e))?;
        Ok(BufReader::with_capacity(1 << 16, file))
    }

    fn json_key(&self, line: &[u8], number: u64) -> crate::Result<RecordKey> {
        let key: JsonKey = serde_json::from_slice(line).map_err(|_| self.not_ours(number))?;
        Ok((key.doc, key.record, key.sentence))
    }

    fn scan_jsonl(&self) -> crate::Result<Scan> {
        let mut reader = self.reader()?;
        let mut line = Vec::new();
        let (mut complete_end, mut records, mut number) = (0u64, 0usize, 0u64);
        let mut last_line = Vec::new();
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| io_error(self.path, e))?;
            if n == 0 || line.last() != Some(&b'\n') {
                break; // the end, or a partial last line
            }
            number += 1;
            if number == 1 {
                self.json_key(&line, number)?; // fail early on a file of another kind
            }
            complete_end += n as u64;
            records += 1;
            std::mem::swap(&mut line, &mut last_line);
        }
        let last = if records > 0 {
            Some(self.json_key(&last_line, number)?)
        } else {
            None
        };
        Ok(Scan {
            last,
            records,
            carried_columns: None,
            complete_end,
        })
    }

    fn table_reader(&self, delimiter: u8) -> crate::Result<csv::Reader<BufReader<&File>>> {
        Ok(csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(self.reader()?))
    }

    fn scan_table(&self, delimiter: u8, len: u64) -> crate::Result<Scan> {
        let mut reader = self.table_reader(delimiter)?;
        let mut row = csv::ByteRecord::new();
        // Rows read: the header first; of the others, the last two (start, values).
        let mut rows = 0usize;
        let mut header: Option<(u64, csv::ByteRecord)> = None;
        let mut previous: Option<(u64, csv::ByteRecord)> = None;
        let mut last: Option<(u64, csv::ByteRecord)> = None;
        let mut complete_end = len;
        loop {
            let start = reader.position().byte();
            match reader.read_byte_record(&mut row) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => {
                    complete_end = start; // only a partial last row fails to read
                    break;
                }
            }
            rows += 1;
            if header.is_none() {
                header = Some((start, row.clone()));
            } else {
                previous = last.replace((start, row.clone()));
            }
        }
        // The last row read is the only one that may be partial: check it.
        let tail = last.as_ref().or(header.as_ref());
        if let Some((start, values)) = tail.filter(|_| complete_end == len) {
            if !self.written_alike(*start, values, delimiter)? {
                complete_end = *start;
                rows -= 1;
                if last.is_some() {
                    last = previous;
                } else {
                    header = None;
                }
            }
        }
        let Some((_, header)) = header else {
            return Ok(Scan {
                last: None,
                records: 0,
                carried_columns: None,
                complete_end: 0,
            });
        };
        let names: Vec<String> = header
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let fixed = fixed_columns();
        if names.len() < fixed.len() || names[..fixed.len()] != fixed[..] {
            return Err(self.not_ours(1));
        }
        let last = match last {
            Some((_, values)) => {
                Some(table_key(&values).ok_or_else(|| self.not_ours(rows as u64))?)
            }
            None => None,
        };
        Ok(Scan {
            last,
            records: rows.saturating_sub(1),
            carried_columns: Some(names[fixed.len()..].to_vec()),
            complete_end,
        })
    }

    /// Whether the bytes from `start` to the end of the file are exactly how the
    /// writer writes `values`.
    fn written_alike(
        &self,
        start: u64,
        values: &csv::ByteRecord,
        delimiter: u8,
    ) -> crate::Result<bool> {
        let mut expected = table_writer_builder(delimiter).from_writer(Vec::new());
        expected
            .write_byte_record(values)
            .map_err(|e| io_error(self.path, e.into()))?;
        let expected = expected
            .into_inner()
            .map_err(|e| io_error(self.path, e.into_error()))?;
        let mut file = self.file;
        file.seek(SeekFrom::Start(start))
            .map_err(|e| io_error(self.path, e))?;
        let mut actual = Vec::with_capacity(expected.len());
        file.take(expected.len() as u64 + 1)
            .read_to_end(&mut actual)
            .map_err(|e| io_error(self.path, e))?;
        Ok(actual == expected)
    }

    /// Calls `f` with the key of every record in the first `end` bytes.
    fn for_each_key(&self, end: u64, mut f: impl FnMut(&RecordKey)) -> crate::Result<()> {
        match self.format.delimiter() {
            None => {
                let mut reader = self.reader()?.take(end);
                let mut line = Vec::new();
                for number in 1.. {
                    line.clear();
                    if reader
                        .read_until(b'\n', &mut line)
                        .map_err(|e| io_error(self.path, e))?
                        == 0
                    {
                        break;
                    }
                    f(&self.json_key(&line, number)?);
                }
            }
            Some(delimiter) => {
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .flexible(true)
                    .from_reader(self.reader()?.take(end));
                let mut row = csv::ByteRecord::new();
                let mut number = 1;
                while reader
                    .read_byte_record(&mut row)
                    .map_err(|_| self.not_ours(number + 1))?
                {
                    number += 1;
                    f(&table_key(&row).ok_or_else(|| self.not_ours(number))?);
                }
            }
        }
        Ok(())
    }
}

/// The key of a table output row: its first three cells.
fn table_key(row: &csv::ByteRecord) -> Option<RecordKey> {
    let cell = |i| row.get(i).and_then(|c| std::str::from_utf8(c).ok());
    Some((
        String::from_utf8_lossy(row.get(0)?).into_owned(),
        cell(1)?.parse().ok()?,
        cell(2)?.parse().ok()?,
    ))
}

#[cfg(test)]
mod tests;
