use serde_json::value::RawValue;

use super::*;
use crate::io::record::OutputRecord;
use crate::io::writer::RecordWriter;

/// Writes records as `format` the way `label` does, returning the bytes and the
/// byte offset after each record (the first entry: after the header, if any).
fn written(format: OutputFormat) -> (Vec<u8>, Vec<u64>, Vec<RecordKey>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let carried: Vec<(String, Box<RawValue>)> = vec![(
        "note".into(),
        RawValue::from_string("\"two\\nlines, \\\"quoted\\\"\"".into()).unwrap(),
    )];
    let texts = ["First, \"quoted\".", "Second\tone.", "Third.", "Third."];
    let docs = ["a.txt", "b, c.txt", "a.txt", "a.txt"];
    let mut ends = Vec::new();
    let mut keys = Vec::new();
    let mut writer = RecordWriter::new(format, Box::new(std::fs::File::create(&path).unwrap()));
    for (i, text) in texts.iter().enumerate() {
        let sentence = if i == 3 { 1 } else { 0 };
        let record = OutputRecord {
            doc: docs[i],
            record: i % 3,
            sentence,
            start: 0,
            end: text.len(),
            speaker: None,
            delegation: None,
            text,
            prediction: None,
            truncated: i == 1,
            themes: &[],
            meta: None,
            carried: &carried,
        };
        writer.write(&record).unwrap();
        writer.flush().unwrap();
        ends.push(std::fs::metadata(&path).unwrap().len());
        keys.push((docs[i].to_string(), i % 3, sentence));
    }
    writer.finish().unwrap();
    (std::fs::read(&path).unwrap(), ends, keys)
}

/// Cuts the output after every byte and checks that resuming finds the last whole
/// record and cuts off exactly the partial one.
fn check_every_cut(format: OutputFormat) {
    let (bytes, ends, keys) = written(format);
    let header_end = if format == OutputFormat::Jsonl {
        0
    } else {
        bytes.iter().position(|&b| b == b'\n').unwrap() as u64 + 1
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    for cut in 0..=bytes.len() {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let resumed = prepare(&path, format).unwrap().unwrap();
        let whole = ends.iter().filter(|&&e| e <= cut as u64).count();
        let expected_len = match whole {
            0 if (cut as u64) < header_end => 0,
            0 => header_end,
            n => ends[n - 1],
        };
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            expected_len,
            "{format:?} cut at {cut}"
        );
        assert_eq!(resumed.records, whole, "{format:?} cut at {cut}");
        assert_eq!(resumed.cut, cut as u64 - expected_len);
        assert_eq!(
            resumed.last.as_ref().map(|p| &p.key),
            whole.checked_sub(1).map(|n| &keys[n]),
            "cut at {cut}"
        );
        if format != OutputFormat::Jsonl {
            let header_whole = cut as u64 >= header_end;
            assert_eq!(
                resumed.carried_columns.is_some(),
                header_whole,
                "cut at {cut}"
            );
            if header_whole {
                assert_eq!(
                    resumed.carried_columns.as_deref(),
                    Some(&["note".to_string()][..])
                );
            }
        }
    }
}

#[test]
fn jsonl_every_cut() {
    check_every_cut(OutputFormat::Jsonl);
}

#[test]
fn csv_every_cut() {
    check_every_cut(OutputFormat::Csv);
}

#[test]
fn tsv_every_cut() {
    check_every_cut(OutputFormat::Tsv);
}

#[test]
fn repeated_keys_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.jsonl");
    let line = |r: usize, s: usize| format!("{{\"doc\":\"x\",\"record\":{r},\"sentence\":{s}}}\n");
    let content = [line(0, 0), line(0, 1), line(0, 0), line(0, 1)].concat();
    std::fs::write(&path, content).unwrap();
    let resumed = prepare(&path, OutputFormat::Jsonl).unwrap().unwrap();
    assert_eq!(
        resumed.last,
        Some(ResumePoint {
            key: ("x".into(), 0, 1),
            occurrences: 2
        })
    );
}

#[test]
fn a_missing_output_starts_afresh_and_a_foreign_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        prepare(&dir.path().join("none"), OutputFormat::Jsonl).unwrap(),
        None
    );
    let path = dir.path().join("other");
    std::fs::write(&path, "name,age\nx,1\n").unwrap();
    for format in [OutputFormat::Jsonl, OutputFormat::Csv] {
        let error = prepare(&path, format).unwrap_err().to_string();
        assert!(
            error.contains("line 1 is not a record of `polrec label"),
            "{error}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "name,age\nx,1\n",
        "a refused file is left alone"
    );
}
