//! Tidy tables and their three renderings: an aligned text view, CSV and JSON.

use std::io::{self, Write};

use serde_json::{Map, Value};

/// How a table is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    /// Human-readable aligned text, one section per value of the first column.
    Table,
    /// CSV with a header row; empty cells for missing values.
    Csv,
    /// A JSON array of row objects; `null` for missing values.
    Json,
}

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A string.
    Text(String),
    /// A real number (non-finite numbers are written as missing).
    Float(f64),
    /// A count.
    Int(u64),
    /// A flag.
    Bool(bool),
    /// A missing value.
    Null,
}

impl Cell {
    /// `Float(v)` or `Null`.
    pub fn opt_float(v: Option<f64>) -> Cell {
        v.map_or(Cell::Null, Cell::Float)
    }

    /// Missing, non-finite or empty text: shown as an empty cell.
    fn is_null(&self) -> bool {
        match self {
            Cell::Null => true,
            Cell::Float(f) => !f.is_finite(),
            Cell::Text(s) => s.is_empty(),
            Cell::Int(_) | Cell::Bool(_) => false,
        }
    }

    /// The cell as CSV field text (shortest round-trip form of numbers).
    fn plain(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Float(f) if f.is_finite() => f.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Float(_) | Cell::Null => String::new(),
        }
    }

    /// The cell as shown in the aligned view: 4 decimals, long text cut.
    fn shown(&self) -> String {
        const MAX_TEXT: usize = 100;
        match self {
            Cell::Float(f) if f.is_finite() => format!("{f:.4}"),
            Cell::Text(s) if s.chars().count() > MAX_TEXT => {
                let cut: String = s.chars().take(MAX_TEXT - 1).collect();
                format!("{cut}…")
            }
            _ => self.plain(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Cell::Int(i) => Value::from(*i),
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Null => Value::Null,
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Cell::Float(_) | Cell::Int(_))
    }
}

/// A tidy table: named columns, rows of cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Column names.
    pub columns: Vec<&'static str>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[&'static str]) -> Table {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Writes the table in `format`.
    pub fn write(&self, out: &mut dyn Write, format: TableFormat) -> io::Result<()> {
        match format {
            TableFormat::Table => self.write_aligned(out),
            TableFormat::Csv => self.write_csv(out),
            TableFormat::Json => self.write_json(out),
        }
    }

    fn write_csv(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(&self.columns)?;
        for row in &self.rows {
            w.write_record(row.iter().map(Cell::plain))?;
        }
        w.flush()
    }

    fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(b"[")?;
        for (i, row) in self.rows.iter().enumerate() {
            let object: Map<String, Value> = self
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| (c.to_string(), v.json()))
                .collect();
            out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut *out, &object)?;
        }
        out.write_all(if self.rows.is_empty() {
            b"]\n"
        } else {
            b"\n]\n"
        })
    }

    /// Aligned text; when the first column is `table`, one section per table, each
    /// without the columns that are empty throughout it.
    fn write_aligned(&self, out: &mut dyn Write) -> io::Result<()> {
        let sectioned = self.columns.first() == Some(&"table");
        let mut start = 0;
        let mut first = true;
        while start < self.rows.len() || (first && self.rows.is_empty()) {
            let end = if sectioned {
                let key = &self.rows[start][0];
                start
                    + self.rows[start..]
                        .iter()
                        .take_while(|r| &r[0] == key)
                        .count()
            } else {
                self.rows.len()
            };
            if !first {
                writeln!(out)?;
            }
            first = false;
            self.write_section(out, &self.rows[start..end])?;
            start = end;
        }
        Ok(())
    }

    fn write_section(&self, out: &mut dyn Write, rows: &[Vec<Cell>]) -> io::Result<()> {
        let keep: Vec<usize> = (0..self.columns.len())
            .filter(|&c| rows.is_empty() || rows.iter().any(|r| !r[c].is_null()))
            .collect();
        let shown: Vec<Vec<String>> = rows
            .iter()
            .map(|r| keep.iter().map(|&c| r[c].shown()).collect())
            .collect();
        let widths: Vec<usize> = keep
            .iter()
            .enumerate()
            .map(|(k, &c)| {
                shown
                    .iter()
                    .map(|r| r[k].chars().count())
                    .chain([self.columns[c].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let numeric: Vec<bool> = keep
            .iter()
            .map(|&c| rows.iter().all(|r| r[c].is_numeric() || r[c].is_null()) && !rows.is_empty())
            .collect();
        let line = |cells: Vec<String>| -> String {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .zip(&numeric)
                .map(|((s, &w), &num)| {
                    if num {
                        format!("{s:>w$}")
                    } else {
                        format!("{s:<w$}")
                    }
                })
                .collect();
            padded.join("  ").trim_end().to_string()
        };
        writeln!(
            out,
            "{}",
            line(keep.iter().map(|&c| self.columns[c].to_string()).collect())
        )?;
        for r in shown {
            writeln!(out, "{}", line(r))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&["table", "group", "value", "text"]);
        t.rows.push(vec![
            Cell::Text("a".into()),
            Cell::Text("x,y".into()),
            Cell::Float(0.5),
            Cell::Null,
        ]);
        t.rows.push(vec![
            Cell::Text("b".into()),
            Cell::Text("z".into()),
            Cell::Int(3),
            Cell::Text("t".into()),
        ]);
        t
    }

    fn written(t: &Table, f: TableFormat) -> String {
        let mut v = Vec::new();
        t.write(&mut v, f).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn csv_quotes_and_leaves_missing_empty() {
        assert_eq!(
            written(&sample(), TableFormat::Csv),
            "table,group,value,text\na,\"x,y\",0.5,\nb,z,3,t\n"
        );
    }

    #[test]
    fn json_is_an_array_of_objects_with_nulls() {
        let v: Value = serde_json::from_str(&written(&sample(), TableFormat::Json)).unwrap();
        assert_eq!(v[0]["text"], Value::Null);
        assert_eq!(v[1]["value"], 3);
        assert_eq!(written(&Table::new(&["a"]), TableFormat::Json), "[]\n");
    }

    #[test]
    fn aligned_view_has_one_section_per_table_without_empty_columns() {
        assert_eq!(
            written(&sample(), TableFormat::Table),
            "table  group   value\na      x,y    0.5000\n\ntable  group  value  text\nb      z          3  t\n"
        );
    }
}
