//! Opening inputs as bytes (files, standard input, gzip), telling binary files
//! apart, and decoding UTF-8 while keeping track of the original byte offsets.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::PathBuf;

use flate2::read::MultiGzDecoder;
use indicatif::ProgressBar;

use super::source::Source;

/// Bytes at the start of an input looked at to tell a binary file.
const SNIFF_BYTES: usize = 8192;
/// The UTF-8 byte order mark, dropped at the start of an input.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Opens `source` for reading, counting the bytes read on `progress`.
///
/// Fails when the file cannot be opened or read, or when it looks binary: a NUL
/// byte in its first 8 KiB (after decompression), as `grep` and `git` judge.
pub fn open(
    source: &Source,
    progress: Option<&ProgressBar>,
) -> crate::Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn Read + Send> = match &source.path {
        None => Box::new(std::io::stdin()),
        Some(path) => Box::new(File::open(path).map_err(|e| crate::Error::Io {
            path: path.clone(),
            source: e,
        })?),
    };
    let raw: Box<dyn Read + Send> = match progress {
        Some(bar) => Box::new(bar.wrap_read(raw)),
        None => raw,
    };
    let mut reader: Box<dyn Read + Send> = if source.gzip {
        Box::new(MultiGzDecoder::new(raw))
    } else {
        raw
    };
    let prefix = sniff(&mut reader, source.path.is_some()).map_err(|e| crate::Error::Io {
        path: PathBuf::from(&source.doc),
        source: e,
    })?;
    if prefix.is_empty() && source.path.is_some() {
        // In a corpus an empty file is most often a failed conversion: name it.
        return Err(crate::Error::BadRecord {
            path: source.doc.clone(),
            line: 1,
            message: "empty file, nothing to label".to_string(),
        });
    }
    if let Some(at) = prefix.iter().position(|&b| b == 0) {
        return Err(crate::Error::BadRecord {
            path: source.doc.clone(),
            line: line_of(&prefix, at),
            message: format!("binary file (NUL byte at byte offset {at}), skipped"),
        });
    }
    Ok(Box::new(BufReader::with_capacity(
        1 << 16,
        Cursor::new(prefix).chain(reader),
    )))
}

/// The first bytes of `reader`, to look at: up to 8 KiB of a file (`fill`), or
/// only what one read gives of standard input, so that a live stream is not held up.
fn sniff(reader: &mut dyn Read, fill: bool) -> std::io::Result<Vec<u8>> {
    let mut prefix = vec![0; SNIFF_BYTES];
    let mut len = 0;
    while len < SNIFF_BYTES {
        match reader.read(&mut prefix[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if !fill {
            break;
        }
    }
    prefix.truncate(len);
    Ok(prefix)
}

/// The 1-based line holding byte `offset` of `bytes`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Maps byte offsets in decoded text back to byte offsets in the original bytes.
///
/// Decoding changes lengths only where a byte order mark was dropped or invalid
/// UTF-8 was replaced by U+FFFD; elsewhere offsets are the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OffsetMap {
    /// `(decoded, original)` pairs after each change, in increasing order.
    anchors: Vec<(usize, usize)>,
}

impl Decoded {
    /// How many lines into the text (0 for the first) the first invalid sequence is.
    pub fn lines_before_invalid(&self) -> usize {
        self.first_invalid
            .map_or(0, |i| line_of(self.text.as_bytes(), i.decoded) - 1)
    }
}

impl OffsetMap {
    /// The original offset of the decoded offset `decoded`.
    pub fn original(&self, decoded: usize) -> usize {
        let i = self.anchors.partition_point(|&(d, _)| d <= decoded);
        match i {
            0 => decoded,
            _ => {
                let (d, o) = self.anchors[i - 1];
                o + (decoded - d)
            }
        }
    }
}

/// Text decoded from bytes that may not be valid UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The text, invalid sequences replaced by U+FFFD.
    pub text: String,
    /// From offsets in `text` to offsets in the original bytes.
    pub offsets: OffsetMap,
    /// Where the first invalid sequence is, if any.
    pub first_invalid: Option<Invalid>,
    /// How many invalid sequences were replaced.
    pub invalid: usize,
}

/// The place of an invalid UTF-8 sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    /// Byte offset in the original bytes.
    pub original: usize,
    /// Byte offset of its U+FFFD in the decoded text.
    pub decoded: usize,
}

/// Decodes `bytes` as UTF-8, replacing invalid sequences by U+FFFD; a leading byte
/// order mark is dropped when `drop_bom` is set.
pub fn decode(bytes: Vec<u8>, drop_bom: bool) -> Decoded {
    let skip = if drop_bom && bytes.starts_with(BOM) {
        BOM.len()
    } else {
        0
    };
    let mut offsets = OffsetMap::default();
    if skip > 0 {
        offsets.anchors.push((0, skip));
    }
    let body = &bytes[skip..];
    if std::str::from_utf8(body).is_ok() {
        let mut bytes = bytes;
        bytes.drain(..skip);
        let text = String::from_utf8(bytes).unwrap_or_default();
        return Decoded {
            text,
            offsets,
            first_invalid: None,
            invalid: 0,
        };
    }
    let mut text = String::with_capacity(body.len() + 16);
    let mut original = skip;
    let mut first_invalid = None;
    let mut invalid = 0;
    for chunk in body.utf8_chunks() {
        text.push_str(chunk.valid());
        original += chunk.valid().len();
        if !chunk.invalid().is_empty() {
            first_invalid.get_or_insert(Invalid {
                original,
                decoded: text.len(),
            });
            invalid += 1;
            text.push(char::REPLACEMENT_CHARACTER);
            original += chunk.invalid().len();
            offsets.anchors.push((text.len(), original));
        }
    }
    Decoded {
        text,
        offsets,
        first_invalid,
        invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_text_keeps_offsets() {
        let d = decode("Ünïcode text.".as_bytes().to_vec(), true);
        assert_eq!(d.text, "Ünïcode text.");
        assert_eq!(d.offsets.original(5), 5);
        assert_eq!(d.first_invalid, None);
    }

    #[test]
    fn bom_is_dropped_and_offsets_shift() {
        let d = decode(b"\xEF\xBB\xBFHello.".to_vec(), true);
        assert_eq!(d.text, "Hello.");
        assert_eq!(d.offsets.original(0), 3);
        assert_eq!(d.offsets.original(6), 9);
        let kept = decode(b"\xEF\xBB\xBFHello.".to_vec(), false);
        assert_eq!(kept.text, "\u{FEFF}Hello.");
    }

    #[test]
    fn invalid_sequences_are_replaced_and_mapped_back() {
        // "ab", one invalid byte, "cd", two invalid bytes forming one bad sequence, "e"
        let bytes = b"ab\xFFcd\xE2\x82e".to_vec();
        let d = decode(bytes.clone(), true);
        assert_eq!(d.text, "ab\u{FFFD}cd\u{FFFD}e");
        assert_eq!(
            d.first_invalid,
            Some(Invalid {
                original: 2,
                decoded: 2
            })
        );
        assert_eq!(d.invalid, 2);
        for (decoded, original) in [(0, 0), (2, 2), (5, 3), (6, 4), (7, 5), (10, 7), (11, 8)] {
            assert_eq!(
                d.offsets.original(decoded),
                original,
                "decoded offset {decoded}"
            );
        }
        assert_eq!(&bytes[d.offsets.original(5)..d.offsets.original(7)], b"cd");
    }

    #[test]
    fn lines_are_counted_from_one() {
        assert_eq!(line_of(b"a\nb\nc", 0), 1);
        assert_eq!(line_of(b"a\nb\nc", 2), 2);
        assert_eq!(line_of(b"a\nb\nc", 4), 3);
    }
}
