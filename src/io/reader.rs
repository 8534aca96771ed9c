//! Reading the records of an input: a whole text file, the lines of a text file,
//! JSONL records or table rows.
//!
//! Problems are reported to [`Diagnostics`] with the input's name and line, and the
//! reader goes on with the next record when it can: a malformed JSONL line, a row of
//! the wrong length or a record without text costs only that record; a file that
//! cannot be opened or read, or looks binary, costs the rest of that file.

use std::fmt;
use std::io::BufRead;

use indicatif::ProgressBar;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::decode::{self, Decoded, OffsetMap};
use super::diagnostics::Diagnostics;
use super::record::{carried_name, Carried};
use super::shard::Shard;
use super::source::{Format, Source};

/// One record of an input.
#[derive(Debug)]
pub struct InputRecord {
    /// 0-based index of the record in its input: the JSONL record (blank lines do
    /// not count), the table row (the header does not count), the line of a text file
    /// read line by line, or 0 for a whole text file.
    pub index: usize,
    /// 1-based line of the input where the record starts.
    pub line: usize,
    /// The record's text.
    pub text: String,
    /// From byte offsets in `text` to byte offsets in the input's bytes for that
    /// record (they differ only where invalid UTF-8 was replaced or a byte order mark dropped).
    pub offsets: OffsetMap,
    /// The record's other fields.
    pub carried: Carried,
}

/// How records are read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The JSONL field or table column holding the text.
    pub text_field: String,
    /// Reject invalid UTF-8 instead of replacing it.
    pub strict: bool,
    /// Read text inputs line by line, one record a line (`--no-split`).
    pub text_lines: bool,
    /// Read only the records of this slice (`--shard`).
    pub shard: Option<Shard>,
}

impl ReadOptions {
    /// Whether record `index` of `source` is to be read.
    fn selects(&self, source: &Source, index: usize) -> bool {
        self.shard
            .is_none_or(|shard| shard.contains(&source.shard_name, index))
    }
}

/// Reads the records of `source` in the shard of `options`.
///
/// Records of other shards are not parsed (nor reported if malformed); a whole text
/// file whose only record is in another shard is not even opened.
pub fn records<'a>(
    source: &'a Source,
    options: &'a ReadOptions,
    diagnostics: &'a Diagnostics,
    progress: Option<&ProgressBar>,
) -> Box<dyn Iterator<Item = InputRecord> + Send + 'a> {
    let whole_text = source.format == Format::Text && !options.text_lines;
    if whole_text && !options.selects(source, 0) {
        if let (Some(bar), Some(path)) = (progress, &source.path) {
            bar.inc(std::fs::metadata(path).map_or(0, |m| m.len()));
        }
        return Box::new(std::iter::empty());
    }
    let input = match decode::open(source, progress) {
        Ok(input) => input,
        Err(error) => {
            diagnostics.fail(&error);
            return Box::new(std::iter::empty());
        }
    };
    let ctx = Context {
        source,
        options,
        diagnostics,
    };
    match source.format {
        Format::Text if whole_text => Box::new(read_whole(ctx, input).into_iter()),
        Format::Text => Box::new(Lines {
            ctx,
            input,
            line: 0,
            index: 0,
            offset: 0,
            jsonl: false,
        }),
        Format::Jsonl => Box::new(Lines {
            ctx,
            input,
            line: 0,
            index: 0,
            offset: 0,
            jsonl: true,
        }),
        Format::Table(delimiter) => {
            Box::new(Table::new(ctx, input, delimiter).into_iter().flatten())
        }
    }
}

/// What every reader needs at hand.
#[derive(Clone, Copy)]
struct Context<'a> {
    source: &'a Source,
    options: &'a ReadOptions,
    diagnostics: &'a Diagnostics,
}

impl Context<'_> {
    /// Reports a bad record at `line`.
    fn bad(&self, line: usize, message: impl Into<String>) {
        self.diagnostics.fail(&crate::Error::BadRecord {
            path: self.source.doc.clone(),
            line,
            message: message.into(),
        });
    }

    /// Reports a read error; the rest of the input is lost.
    fn read_failed(&self, source: std::io::Error) {
        self.diagnostics.fail(&crate::Error::Io {
            path: self.source.doc.clone().into(),
            source,
        });
    }

    /// Decodes the bytes of a record, found at `place` on `line`; invalid UTF-8 is
    /// replaced with a warning, or rejects the record under `--strict`.
    fn decode(&self, bytes: Vec<u8>, place: Place, line: usize, drop_bom: bool) -> Option<Decoded> {
        let decoded = decode::decode(bytes, drop_bom);
        let Some(first) = decoded.first_invalid else {
            return Some(decoded);
        };
        let at = line + decoded.lines_before_invalid();
        let what = match place {
            Place::Offset(offset) => {
                format!("invalid UTF-8 at byte offset {}", offset + first.original)
            }
            Place::Column(name) => format!("invalid UTF-8 in column `{name}`"),
        };
        if self.options.strict {
            self.bad(at, format!("{what}; record rejected (--strict)"));
            return None;
        }
        let more = match decoded.invalid {
            1 => String::new(),
            n => format!(" ({n} invalid sequences in this record)"),
        };
        self.diagnostics.altered(
            &self.source.doc,
            at,
            format!("{what} replaced by U+FFFD{more}"),
        );
        Some(decoded)
    }

    /// The carried name for the input field `name`, warning once when it changes.
    fn carry_as(&self, name: &str, line: usize) -> String {
        let carried = carried_name(name);
        if carried != name {
            self.diagnostics.warn_once(
                &format!("rename {name}"),
                &self.source.doc,
                line,
                format!(
                    "input field `{name}` is carried as `{carried}` (`{name}` is an output field)"
                ),
            );
        }
        carried
    }
}

/// Where the bytes being decoded come from, for messages.
#[derive(Clone, Copy)]
enum Place<'a> {
    /// At this byte offset of the input.
    Offset(usize),
    /// In this table column.
    Column(&'a str),
}

/// A whole text file as one record.
fn read_whole(ctx: Context, mut input: Box<dyn BufRead + Send>) -> Option<InputRecord> {
    let mut bytes = Vec::new();
    if let Err(e) = input.read_to_end(&mut bytes) {
        ctx.read_failed(e);
        return None;
    }
    let decoded = ctx.decode(bytes, Place::Offset(0), 1, true)?;
    Some(InputRecord {
        index: 0,
        line: 1,
        text: decoded.text,
        offsets: decoded.offsets,
        carried: Vec::new(),
    })
}

/// Records one a line: the lines of a text file, or JSONL records.
struct Lines<'a> {
    ctx: Context<'a>,
    input: Box<dyn BufRead + Send>,
    /// Lines read so far.
    line: usize,
    /// Index of the next record.
    index: usize,
    /// Bytes read so far.
    offset: usize,
    /// JSONL (blank lines are not records) rather than text lines (each line is).
    jsonl: bool,
}

impl Iterator for Lines<'_> {
    type Item = InputRecord;

    fn next(&mut self) -> Option<InputRecord> {
        loop {
            let mut bytes = Vec::new();
            match self.input.read_until(b'\n', &mut bytes) {
                Ok(0) => return None,
                Ok(n) => {
                    self.line += 1;
                    self.offset += n;
                }
                Err(e) => {
                    self.ctx.read_failed(e);
                    return None;
                }
            }
            let start = self.offset - bytes.len();
            while bytes.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                bytes.pop();
            }
            if self.jsonl && bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let index = self.index;
            self.index += 1;
            if !self.ctx.options.selects(self.ctx.source, index) {
                continue;
            }
            let Some(decoded) =
                self.ctx
                    .decode(bytes, Place::Offset(start), self.line, self.line == 1)
            else {
                continue;
            };
            let record = if self.jsonl {
                self.json_record(index, decoded.text)
            } else if decoded.text.trim().is_empty() {
                None
            } else {
                Some(InputRecord {
                    index,
                    line: self.line,
                    text: decoded.text,
                    offsets: decoded.offsets,
                    carried: Vec::new(),
                })
            };
            if record.is_some() {
                return record;
            }
        }
    }
}

impl Lines<'_> {
    /// Parses one JSONL line into a record, reporting what is wrong with it.
    fn json_record(&self, index: usize, line_text: String) -> Option<InputRecord> {
        let line = self.line;
        let fields = match serde_json::from_str::<JsonObject>(&line_text) {
            Ok(JsonObject(fields)) => fields,
            Err(e) => {
                self.ctx
                    .bad(line, format!("malformed JSON: {}", json_message(&e)));
                return None;
            }
        };
        let field = &self.ctx.options.text_field;
        let mut text = None;
        let mut carried = Vec::with_capacity(fields.len());
        for (name, value) in fields {
            if name == *field {
                text = Some(value);
            } else {
                carried.push((self.ctx.carry_as(&name, line), value));
            }
        }
        let Some(value) = text else {
            self.ctx.bad(
                line,
                format!("no field `{field}` (choose the text field with --text-field)"),
            );
            return None;
        };
        match serde_json::from_str::<String>(value.get()) {
            Ok(text) => Some(InputRecord {
                index,
                line,
                text,
                offsets: OffsetMap::default(),
                carried,
            }),
            Err(_) => {
                self.ctx.bad(
                    line,
                    format!("field `{field}` is not a string: {}", value.get()),
                );
                None
            }
        }
    }
}

/// A serde_json error without its position (the line is named separately; the
/// column is kept).
fn json_message(error: &serde_json::Error) -> String {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match full.strip_suffix(&suffix) {
        Some(message) => format!("{message} (column {})", error.column()),
        None => full,
    }
}

/// A JSON object with its fields in order and their values as written; a repeated
/// key keeps its first place and its last value.
struct JsonObject(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = JsonObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonObject, A::Error> {
                let mut fields: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    match fields.iter_mut().find(|(n, _)| *n == name) {
                        Some(slot) => slot.1 = value,
                        None => fields.push((name, value)),
                    }
                }
                Ok(JsonObject(fields))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// Rows of a CSV or TSV table with a header row.
struct Table<'a> {
    ctx: Context<'a>,
    reader: csv::Reader<Box<dyn BufRead + Send>>,
    /// Carried names of the columns; `None` for the text column and for columns
    /// left out (a repeated name).
    columns: Vec<Option<String>>,
    /// Names of the columns as in the header.
    names: Vec<String>,
    /// Position of the text column.
    text_column: usize,
    /// Index of the next row.
    index: usize,
}

impl<'a> Table<'a> {
    /// Reads the header row; `None` (reported) when the table cannot be read.
    fn new(ctx: Context<'a>, input: Box<dyn BufRead + Send>, delimiter: u8) -> Option<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(input);
        let header = match reader.byte_headers() {
            Ok(header) => header.clone(),
            Err(e) => {
                report_csv_error(&ctx, e);
                return None;
            }
        };
        if header.is_empty() {
            return None; // an empty file: no rows
        }
        let field = &ctx.options.text_field;
        let mut names: Vec<String> = Vec::with_capacity(header.len());
        for cell in header.iter() {
            names.push(ctx.decode(cell.to_vec(), Place::Offset(0), 1, false)?.text);
        }
        let Some(text_column) = names.iter().position(|n| n == field) else {
            ctx.bad(
                1,
                format!(
                    "no column `{field}` in the header (choose the text column with --text-field)"
                ),
            );
            return None;
        };
        let mut columns = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let repeated = names[..i].contains(name);
            if repeated && i != text_column {
                ctx.diagnostics.warn(
                    &ctx.source.doc,
                    1,
                    format!("column `{name}` appears more than once; only the first is carried"),
                );
            }
            columns.push((i != text_column && !repeated).then(|| ctx.carry_as(name, 1)));
        }
        Some(Table {
            ctx,
            reader,
            columns,
            names,
            text_column,
            index: 0,
        })
    }
}

/// Reports an error of the csv reader.
fn report_csv_error(ctx: &Context, error: csv::Error) {
    let line = error.position().map_or(1, |p| p.line() as usize);
    match error.into_kind() {
        csv::ErrorKind::Io(e) => ctx.read_failed(e),
        other => ctx.bad(line, format!("{other:?}")),
    }
}

impl Iterator for Table<'_> {
    type Item = InputRecord;

    fn next(&mut self) -> Option<InputRecord> {
        let mut row = csv::ByteRecord::new();
        loop {
            match self.reader.read_byte_record(&mut row) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    report_csv_error(&self.ctx, e);
                    return None;
                }
            }
            let index = self.index;
            self.index += 1;
            if !self.ctx.options.selects(self.ctx.source, index) {
                continue;
            }
            let line = row.position().map_or(0, |p| p.line() as usize);
            if row.len() != self.columns.len() {
                self.ctx.bad(
                    line,
                    format!(
                        "expected {} fields, found {}",
                        self.columns.len(),
                        row.len()
                    ),
                );
                continue;
            }
            if let Some(record) = self.row_record(&row, index, line) {
                return Some(record);
            }
        }
    }
}

impl Table<'_> {
    /// The record of one well-formed row.
    fn row_record(&self, row: &csv::ByteRecord, index: usize, line: usize) -> Option<InputRecord> {
        let mut text = None;
        let mut carried = Vec::with_capacity(self.columns.len());
        for (i, cell) in row.iter().enumerate() {
            let decoded =
                self.ctx
                    .decode(cell.to_vec(), Place::Column(&self.names[i]), line, false)?;
            if i == self.text_column {
                text = Some(decoded);
            } else if let Some(name) = &self.columns[i] {
                let value = serde_json::value::to_raw_value(&decoded.text).ok()?;
                carried.push((name.clone(), value));
            }
        }
        let text = text?;
        Some(InputRecord {
            index,
            line,
            text: text.text,
            offsets: text.offsets,
            carried,
        })
    }
}

#[cfg(test)]
mod tests;
