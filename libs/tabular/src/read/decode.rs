//! Encoding detection and streaming transcoding to UTF-8.
//!
//! Chinese users mostly upload one of two things: "CSV UTF-8" from modern
//! Excel (with a BOM) or a plain "CSV" saved by Excel/WPS on a Chinese
//! Windows, which is GBK. Both must import without the user knowing what
//! an encoding is. Decoding is strict: a byte sequence that is invalid in
//! the chosen encoding stops the import with the row number, because
//! replacement characters (`�`) in a customer name are a silent change.

use std::fmt;
use std::io::{self, Read};

use encoding_rs::{DecoderResult, Encoding, GB18030, GBK, UTF_8, UTF_16BE, UTF_16LE};

/// How many bytes are examined to detect encoding and delimiter. Big enough
/// to see many rows of a typical file, small enough to be a fixed cost.
pub(crate) const SNIFF_BYTES: usize = 64 * 1024;

/// A text encoding this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8, with or without BOM.
    Utf8,
    /// GBK. Decoded with the GB18030 decoder, which is a strict superset,
    /// so every valid GBK file decodes identically.
    Gbk,
    /// GB18030 (also what auto-detection reports for non-UTF-8 files, since
    /// it is the superset of GBK and GB2312).
    Gb18030,
    /// UTF-16 little endian (Excel's "Unicode Text" export), BOM required.
    Utf16Le,
    /// UTF-16 big endian, BOM required.
    Utf16Be,
}

impl TextEncoding {
    /// Resolves a label such as `"utf-8"`, `"GBK"`, `"gb2312"`.
    pub fn from_label(label: &str) -> Option<Self> {
        match label.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Self::Utf8),
            "gbk" | "cp936" | "gb2312" => Some(Self::Gbk),
            "gb18030" => Some(Self::Gb18030),
            "utf-16le" | "utf-16" => Some(Self::Utf16Le),
            "utf-16be" => Some(Self::Utf16Be),
            _ => None,
        }
    }

    /// The canonical lower-case name (`"utf-8"`, `"gbk"`, `"gb18030"`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Gbk => "gbk",
            Self::Gb18030 => "gb18030",
            Self::Utf16Le => "utf-16le",
            Self::Utf16Be => "utf-16be",
        }
    }

    fn encoding(self) -> &'static Encoding {
        match self {
            Self::Utf8 => UTF_8,
            Self::Gbk => GBK,
            Self::Gb18030 => GB18030,
            Self::Utf16Le => UTF_16LE,
            Self::Utf16Be => UTF_16BE,
        }
    }
}

impl fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Outcome of looking at the head of a file.
pub(crate) struct Detected {
    pub encoding: TextEncoding,
    /// Length of the byte-order mark to skip.
    pub bom_len: usize,
}

/// Detects the encoding from the first bytes.
///
/// `at_eof` says whether `head` is the whole file; if not, the head may end
/// in the middle of a multi-byte character, which must not be mistaken for
/// invalid UTF-8.
pub(crate) fn detect(head: &[u8], at_eof: bool) -> Result<Detected, String> {
    if head.starts_with(b"\xEF\xBB\xBF") {
        return Ok(detected(TextEncoding::Utf8, 3));
    }
    if head.starts_with(b"\xFF\xFE") {
        return Ok(detected(TextEncoding::Utf16Le, 2));
    }
    if head.starts_with(b"\xFE\xFF") {
        return Ok(detected(TextEncoding::Utf16Be, 2));
    }
    if head.contains(&0) {
        // NUL never occurs in real CSV text; it means UTF-16 without a BOM
        // or a binary file, and "decoding" either would produce garbage.
        return Err(
            "the file contains NUL bytes, so it is not CSV text (UTF-16 without a byte-order mark, \
             or a binary file); save it as \"CSV UTF-8\" and upload again"
                .into(),
        );
    }
    match std::str::from_utf8(head) {
        Ok(_) => return Ok(detected(TextEncoding::Utf8, 0)),
        // Cut inside a character at the chunk boundary: valid so far.
        Err(e) if e.error_len().is_none() && !at_eof => {
            return Ok(detected(TextEncoding::Utf8, 0));
        }
        Err(_) => {}
    }
    let mut decoder = GB18030.new_decoder_without_bom_handling();
    let mut out = vec![0u8; head.len() * 3 / 2 + 16];
    let (result, _, _) = decoder.decode_to_utf8_without_replacement(head, &mut out, at_eof);
    match result {
        DecoderResult::Malformed(_, _) => Err(
            "the file is neither UTF-8 nor GBK/GB18030 text; save it as \"CSV UTF-8\" and upload again"
                .into(),
        ),
        _ => Ok(detected(TextEncoding::Gb18030, 0)),
    }
}

fn detected(encoding: TextEncoding, bom_len: usize) -> Detected {
    Detected { encoding, bom_len }
}

/// Checks a caller-declared encoding against the file's BOM. A UTF-8 BOM
/// on a file declared as UTF-8 is skipped; a BOM that contradicts the
/// declaration is an error rather than a guess about who is right.
pub(crate) fn declared(head: &[u8], enc: TextEncoding) -> Result<Detected, String> {
    let bom = if head.starts_with(b"\xEF\xBB\xBF") {
        Some((TextEncoding::Utf8, 3))
    } else if head.starts_with(b"\xFF\xFE") {
        Some((TextEncoding::Utf16Le, 2))
    } else if head.starts_with(b"\xFE\xFF") {
        Some((TextEncoding::Utf16Be, 2))
    } else {
        None
    };
    match bom {
        Some((bom_enc, len)) if bom_enc == enc => Ok(detected(enc, len)),
        Some((bom_enc, _)) => Err(format!(
            "the file starts with a {bom_enc} byte-order mark but {enc} was declared"
        )),
        None => Ok(detected(enc, 0)),
    }
}

/// Decodes the complete characters of `head` for delimiter sniffing.
/// Malformed input is not an error here; the streaming decoder reports it
/// with a row number later.
pub(crate) fn decode_head(head: &[u8], enc: TextEncoding, at_eof: bool) -> String {
    let mut decoder = enc.encoding().new_decoder_without_bom_handling();
    let mut out = String::with_capacity(head.len() * 3 / 2 + 16);
    let _ = decoder.decode_to_string_without_replacement(head, &mut out, at_eof);
    out
}

/// The payload of the `io::Error` the [`DecodeReader`] returns, so the CSV
/// reader can turn it back into a [`super::ReadError::Encoding`].
#[derive(Debug)]
pub(crate) struct DecodeError {
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

/// A `Read` adapter that transcodes to UTF-8 in fixed-size chunks.
///
/// Output produced before a malformed sequence is handed out first and the
/// error is returned on the following call, so the CSV parser has consumed
/// every good row before the failure and its line counter points at the
/// bad row.
pub(crate) struct DecodeReader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    encoding: TextEncoding,
    /// Whether the encoding was detected from an ASCII-only head, in which
    /// case a later failure probably means the guess (UTF-8) was wrong.
    head_was_ascii: bool,
    input: Box<[u8]>,
    in_pos: usize,
    in_len: usize,
    eof: bool,
    output: Box<[u8]>,
    out_pos: usize,
    out_len: usize,
    done: bool,
    pending: Option<DecodeError>,
    consumed: u64,
}

impl<R: Read> DecodeReader<R> {
    pub(crate) fn new(inner: R, encoding: TextEncoding, head_was_ascii: bool) -> Self {
        Self {
            inner,
            decoder: encoding.encoding().new_decoder_without_bom_handling(),
            encoding,
            head_was_ascii,
            input: vec![0u8; SNIFF_BYTES].into_boxed_slice(),
            in_pos: 0,
            in_len: 0,
            eof: false,
            // UTF-16 → UTF-8 can grow 1.5×; keep room for any chunk.
            output: vec![0u8; SNIFF_BYTES * 2].into_boxed_slice(),
            out_pos: 0,
            out_len: 0,
            done: false,
            pending: None,
            consumed: 0,
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        loop {
            if let Some(err) = self.pending.take() {
                self.done = true;
                return Err(io::Error::new(io::ErrorKind::InvalidData, err));
            }
            if self.done {
                return Ok(());
            }
            if self.in_pos == self.in_len && !self.eof {
                self.in_pos = 0;
                self.in_len = loop {
                    match self.inner.read(&mut self.input) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                };
                self.eof = self.in_len == 0;
            }
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.in_pos..self.in_len],
                &mut self.output,
                self.eof,
            );
            self.in_pos += read;
            self.consumed += read as u64;
            self.out_pos = 0;
            self.out_len = written;
            match result {
                DecoderResult::InputEmpty => {
                    if self.eof {
                        self.done = true;
                    }
                }
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(bad, after) => {
                    let offset = self
                        .consumed
                        .saturating_sub(u64::from(bad) + u64::from(after));
                    self.pending = Some(self.malformed(offset));
                }
            }
            if written > 0 {
                return Ok(());
            }
        }
    }

    fn malformed(&self, offset: u64) -> DecodeError {
        let hint = if self.head_was_ascii {
            "; the file may be GBK: declare its encoding or save it as \"CSV UTF-8\""
        } else {
            "; save the file as \"CSV UTF-8\" and upload again"
        };
        DecodeError {
            message: format!(
                "invalid {} text at byte {} of the decoded stream{hint}",
                self.encoding, offset
            ),
        }
    }
}

impl<R: Read> Read for DecodeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.out_pos == self.out_len {
            self.fill()?;
            if self.out_pos == self.out_len {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out_len - self.out_pos);
        buf[..n].copy_from_slice(&self.output[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], enc: TextEncoding) -> io::Result<String> {
        let mut s = String::new();
        DecodeReader::new(bytes, enc, false).read_to_string(&mut s)?;
        Ok(s)
    }

    #[test]
    fn detects() {
        assert_eq!(
            detect(b"\xEF\xBB\xBFa", true).map(|d| (d.encoding, d.bom_len)),
            Ok((TextEncoding::Utf8, 3))
        );
        let (gbk, _, _) = GBK.encode("张三,李四");
        assert_eq!(
            detect(&gbk, true).map(|d| d.encoding),
            Ok(TextEncoding::Gb18030)
        );
        assert!(detect(b"a\0b\0", true).is_err());
        // "张" is E5 BC A0; cut after two bytes.
        let cut = "ab张".as_bytes();
        assert_eq!(
            detect(&cut[..cut.len() - 1], false).map(|d| d.encoding),
            Ok(TextEncoding::Utf8)
        );
    }

    #[test]
    fn streams_gbk() {
        let (gbk, _, _) = GBK.encode("姓名,电话\n张三,138");
        assert_eq!(
            decode_all(&gbk, TextEncoding::Gbk).ok().as_deref(),
            Some("姓名,电话\n张三,138")
        );
    }

    #[test]
    fn malformed_is_an_error_after_good_output() {
        let bytes = b"ok\n\xFF\xFE\xFDbad";
        let mut r = DecodeReader::new(&bytes[..], TextEncoding::Utf8, true);
        let mut buf = [0u8; 16];
        assert_eq!(r.read(&mut buf).ok(), Some(3));
        assert!(r.read(&mut buf).is_err());
    }
}
