//! Streaming CSV reading with encoding and delimiter detection.
//!
//! Memory is bounded by the 64 KiB sniffing window, the decoder's buffers,
//! a 64 KiB read buffer and the largest record (capped at 16 MiB); the file
//! is never loaded whole.

use std::fmt;
use std::io::{Chain, Cursor, Read};

use super::decode::{self, DecodeError, DecodeReader, SNIFF_BYTES, TextEncoding};
use super::records::{MAX_RECORD_BYTES, RecordError, RecordReader};
use super::{ReadError, Row};

/// Overrides for [`csv_rows`]. Leave both `None` to auto-detect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// Field delimiter byte; detected among `,` `;` `\t` `|` if `None`.
    pub delimiter: Option<u8>,
    /// Encoding label: `"utf-8"`, `"gbk"` or `"gb18030"` (also `"gb2312"`,
    /// `"utf-16le"`, `"utf-16be"`); detected if `None`.
    pub encoding: Option<String>,
}

/// Delimiters considered by detection, in tie-break order: a comma wins a
/// tie because it is what "CSV" means to most users.
const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Records examined per candidate delimiter.
const SNIFF_RECORDS: usize = 100;

type Source<R> = DecodeReader<Chain<Cursor<Vec<u8>>, R>>;

/// Iterator over the rows of a CSV stream. The header is the first row
/// yielded; see the [module conventions](super).
pub struct CsvRows<R> {
    reader: RecordReader<Source<R>>,
    encoding: TextEncoding,
    delimiter: u8,
    finished: bool,
}

impl<R> fmt::Debug for CsvRows<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvRows")
            .field("encoding", &self.encoding)
            .field("delimiter", &char::from(self.delimiter))
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<R> CsvRows<R> {
    /// The encoding in use (detected or declared). Auto-detection reports
    /// non-UTF-8 Chinese text as GB18030, the superset of GBK.
    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// The delimiter in use (detected or declared).
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }
}

/// Starts reading CSV from `reader`.
///
/// The first 64 KiB are read up front to detect the encoding (UTF-8 BOM →
/// UTF-8 with the BOM stripped; valid UTF-8 → UTF-8, reading up to three
/// more bytes when the 64 KiB edge cuts a character so the judgement is on
/// whole characters; otherwise GB18030/GBK, which must itself decode
/// cleanly) and the delimiter (the candidate whose field count is most
/// consistent across the first records, quote-aware). Then the stream is
/// decoded incrementally.
///
/// A file that is UTF-8 in its first 64 KiB but has GBK bytes later fails
/// at the first bad row with an [`ReadError::Encoding`] error instead of
/// producing replacement characters.
pub fn csv_rows<R: Read>(mut reader: R, opts: &CsvOptions) -> Result<CsvRows<R>, ReadError> {
    let (mut head, mut at_eof) = read_head(&mut reader)?;
    if opts.encoding.is_none() {
        complete_last_char(&mut head, &mut reader, &mut at_eof)?;
    }
    let detected = match &opts.encoding {
        Some(label) => {
            let enc = TextEncoding::from_label(label)
                .ok_or_else(|| ReadError::UnknownEncoding(label.clone()))?;
            decode::declared(&head, enc)
        }
        None => decode::detect(&head, at_eof),
    }
    .map_err(|message| ReadError::Encoding { row: 1, message })?;
    head.drain(..detected.bom_len);
    let encoding = detected.encoding;
    let delimiter = match opts.delimiter {
        Some(d) => check_delimiter(d)?,
        None => sniff_delimiter(&decode::decode_head(&head, encoding, at_eof), at_eof),
    };
    let head_was_ascii = opts.encoding.is_none() && head.is_ascii();
    let source = DecodeReader::new(Cursor::new(head).chain(reader), encoding, head_was_ascii);
    Ok(CsvRows {
        reader: RecordReader::new(source, delimiter),
        encoding,
        delimiter,
        finished: false,
    })
}

fn read_head<R: Read>(reader: &mut R) -> Result<(Vec<u8>, bool), ReadError> {
    let mut head = vec![0u8; SNIFF_BYTES];
    let mut filled = 0;
    while filled < head.len() {
        match reader.read(&mut head[filled..]) {
            Ok(0) => {
                head.truncate(filled);
                return Ok((head, true));
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((head, false))
}

/// If the window ends inside what could be a UTF-8 character, reads up to
/// three more bytes so detection judges whole characters. Without this, a
/// GBK lead byte at the window's last position looks like a truncated UTF-8
/// character and an ASCII-headed GBK file would be detected as UTF-8.
fn complete_last_char<R: Read>(
    head: &mut Vec<u8>,
    reader: &mut R,
    at_eof: &mut bool,
) -> Result<(), ReadError> {
    for _ in 0..3 {
        if *at_eof {
            break;
        }
        match std::str::from_utf8(head) {
            Err(e) if e.error_len().is_none() => {}
            _ => break,
        }
        let mut byte = [0u8; 1];
        match reader.read(&mut byte) {
            Ok(0) => *at_eof = true,
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn check_delimiter(d: u8) -> Result<u8, ReadError> {
    if d.is_ascii() && !matches!(d, b'"' | b'\n' | b'\r') {
        Ok(d)
    } else {
        Err(ReadError::BadDelimiter(char::from(d)))
    }
}

/// Picks the delimiter whose records agree most with the header's field
/// count. Parsing with the csv crate makes this quote-aware: a comma inside
/// `"Beijing, China"` does not count. A file with a single column detects
/// as `,`, which reads it correctly.
pub(crate) fn sniff_delimiter(text: &str, complete: bool) -> u8 {
    let mut best = (b',', 0usize, 0usize);
    for d in CANDIDATES {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(d)
            .from_reader(text.as_bytes());
        let mut counts: Vec<usize> = Vec::new();
        for rec in rdr.records().take(SNIFF_RECORDS) {
            match rec {
                Ok(r) => counts.push(r.len()),
                Err(_) => break,
            }
        }
        // The last record may have been cut by the sniffing window.
        if !complete && counts.len() > 1 && counts.len() < SNIFF_RECORDS {
            counts.pop();
        }
        let Some(&fields) = counts.first() else {
            continue;
        };
        if fields < 2 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == fields).count();
        if (consistent, fields) > (best.1, best.2) {
            best = (d, consistent, fields);
        }
    }
    best.0
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<Row, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        loop {
            match self.reader.next_record() {
                Ok(None) => {
                    self.finished = true;
                    return None;
                }
                // A line of only delimiters (",,,") is blank too.
                Ok(Some((_, cells))) if cells.iter().all(String::is_empty) => {}
                Ok(Some((number, cells))) => return Some(Ok(Row { number, cells })),
                Err(e) => {
                    self.finished = true;
                    return Some(Err(map_error(e)));
                }
            }
        }
    }
}

impl<R: Read> CsvRows<R> {
    /// The 1-based line the reader has reached; useful for progress
    /// reporting.
    pub fn line(&self) -> u64 {
        self.reader.line()
    }
}

fn map_error(e: RecordError) -> ReadError {
    match e {
        RecordError::Io { line, error } => {
            let decode = error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<DecodeError>())
                .map(|d| d.message.clone());
            match decode {
                Some(message) => ReadError::Encoding { row: line, message },
                None => ReadError::Io(error),
            }
        }
        RecordError::TooLarge { line } => ReadError::Csv {
            row: line,
            message: format!(
                "row is larger than {} MiB; a quote is probably never closed",
                MAX_RECORD_BYTES / (1024 * 1024)
            ),
        },
        RecordError::Utf8 { line } => ReadError::Csv {
            row: line,
            message: "row is not valid text".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n", true), b',');
        assert_eq!(sniff_delimiter("a;b;c\n1,5;2;3\n", true), b';');
        assert_eq!(sniff_delimiter("a\tb\n\"x,y\"\t2\n", true), b'\t');
        assert_eq!(sniff_delimiter("a|b|c\n1|2|3\n", true), b'|');
        assert_eq!(sniff_delimiter("only\none\n", true), b',');
        // Quote-aware: the commas are inside quotes.
        assert_eq!(
            sniff_delimiter("\"a,1\";\"b,2\";c\n\"c,3\";\"d,4\";e\n", true),
            b';'
        );
    }
}
