//! Record splitting on top of `csv-core`, with exact line numbers.
//!
//! The `csv` crate's record positions are off for CRLF files (every record
//! after the first reports the previous line) and after blank lines (it
//! reports the first blank line). Import errors must point at the row the
//! user sees, so this layer drives `csv-core` itself: it skips blank lines
//! explicitly and counts line breaks in exactly the bytes each record
//! consumed (`\r\n`, `\n` and a lone `\r` each count once).

use std::io::{self, BufRead, BufReader, Read};

use csv_core::{ReadRecordResult, Reader as CoreReader, ReaderBuilder};

/// Records larger than this are refused: the usual cause is a quote that is
/// never closed, which would otherwise swallow the rest of the file into
/// one field and defeat the bounded-memory promise.
pub(crate) const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// Why [`RecordReader::next_record`] stopped.
pub(crate) enum RecordError {
    /// The source failed (including decoding errors), while reading the
    /// record that starts on `line`.
    Io { line: u64, error: io::Error },
    /// A record exceeded [`MAX_RECORD_BYTES`].
    TooLarge { line: u64 },
    /// A field was not valid UTF-8 (cannot happen with the decoding
    /// reader, but never assumed).
    Utf8 { line: u64 },
}

/// Line-counting state carried across buffer refills, so a `\r\n` split
/// between two reads still counts once.
#[derive(Default)]
struct Lines {
    line: u64,
    prev_cr: bool,
}

impl Lines {
    fn count(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\r' || (b == b'\n' && !self.prev_cr) {
                self.line += 1;
            }
            self.prev_cr = b == b'\r';
        }
    }
}

/// Splits a UTF-8 byte stream into records of owned strings.
pub(crate) struct RecordReader<R> {
    src: BufReader<R>,
    core: CoreReader,
    lines: Lines,
    fields: Vec<u8>,
    ends: Vec<usize>,
}

impl<R: Read> RecordReader<R> {
    pub(crate) fn new(src: R, delimiter: u8) -> Self {
        Self {
            src: BufReader::with_capacity(64 * 1024, src),
            core: ReaderBuilder::new().delimiter(delimiter).build(),
            lines: Lines {
                line: 1,
                prev_cr: false,
            },
            fields: vec![0; 4096],
            ends: vec![0; 64],
        }
    }

    /// The 1-based line the reader is at (where the next record would
    /// start, before skipping blank lines).
    pub(crate) fn line(&self) -> u64 {
        self.lines.line
    }

    /// Reads the next non-blank record and the line it starts on.
    pub(crate) fn next_record(&mut self) -> Result<Option<(u64, Vec<String>)>, RecordError> {
        // Skip blank lines ourselves so the record's line is where its
        // content starts.
        loop {
            let buf = self.src.fill_buf().map_err(|error| RecordError::Io {
                line: self.lines.line,
                error,
            })?;
            if buf.is_empty() {
                return Ok(None);
            }
            let n = buf
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            self.lines.count(&buf[..n]);
            let more = n < buf.len();
            self.src.consume(n);
            if more {
                break;
            }
        }
        let start = self.lines.line;
        let (mut out_len, mut ends_len) = (0, 0);
        loop {
            let buf = self
                .src
                .fill_buf()
                .map_err(|error| RecordError::Io { line: start, error })?;
            let (res, nin, nout, nend) =
                self.core
                    .read_record(buf, &mut self.fields[out_len..], &mut self.ends[ends_len..]);
            self.lines.count(&buf[..nin]);
            self.src.consume(nin);
            out_len += nout;
            ends_len += nend;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    if self.fields.len() >= MAX_RECORD_BYTES {
                        return Err(RecordError::TooLarge { line: start });
                    }
                    let len = self.fields.len() * 2;
                    self.fields.resize(len, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len() * 2;
                    self.ends.resize(len, 0);
                }
                ReadRecordResult::Record => break,
                ReadRecordResult::End => {
                    if ends_len == 0 {
                        return Ok(None);
                    }
                    break;
                }
            }
        }
        let mut cells = Vec::with_capacity(ends_len);
        let mut from = 0;
        for &end in &self.ends[..ends_len] {
            let s = std::str::from_utf8(&self.fields[from..end])
                .map_err(|_| RecordError::Utf8 { line: start })?;
            cells.push(s.to_owned());
            from = end;
        }
        Ok(Some((start, cells)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &str) -> Vec<(u64, Vec<String>)> {
        let mut r = RecordReader::new(input.as_bytes(), b',');
        let mut out = Vec::new();
        while let Ok(Some(rec)) = r.next_record() {
            out.push(rec);
        }
        out
    }

    fn lines(input: &str) -> Vec<u64> {
        all(input).into_iter().map(|(l, _)| l).collect()
    }

    #[test]
    fn line_numbers_for_every_terminator() {
        assert_eq!(lines("a\nb\n\nc\n"), [1, 2, 4]);
        assert_eq!(lines("a\r\nb\r\n\r\nc\r\n"), [1, 2, 4]);
        assert_eq!(lines("a\nb\n\nc"), [1, 2, 4]);
        assert_eq!(lines("a\rb\r\rc\r"), [1, 2, 4]);
        assert_eq!(lines("\n\na\r\n\"x\r\ny\"\r\n\r\nc"), [3, 4, 7]);
    }

    #[test]
    fn fields() {
        let recs = all("a,\"b,\"\"c\"\"\",\nx");
        assert_eq!(recs[0].1, ["a", "b,\"c\"", ""]);
        assert_eq!(recs[1].1, ["x"]);
    }

    #[test]
    fn unclosed_quote_is_bounded() {
        let mut input = String::from("a,\"");
        input.push_str(&"x".repeat(MAX_RECORD_BYTES + 10));
        let mut r = RecordReader::new(input.as_bytes(), b',');
        assert!(matches!(
            r.next_record(),
            Err(RecordError::TooLarge { line: 1 })
        ));
    }
}
