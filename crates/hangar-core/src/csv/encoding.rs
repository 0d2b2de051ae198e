//! Text encodings of import files, detected while streaming.
//!
//! [`DecodingReader`] turns the raw bytes of a file into UTF-8 in fixed-size chunks, so memory does
//! not grow with the file. The encoding is decided from the byte-order mark, or, without one, at the
//! first non-ASCII byte: if the bytes from there to the end of the buffered chunk are valid UTF-8
//! the file is UTF-8, otherwise it is Windows-1252 ("ANSI"). A file with no non-ASCII byte at all
//! is [`Encoding::Ascii`], which every reader (Intune included) agrees on.

use encoding_rs::{Decoder, UTF_16BE, UTF_16LE, WINDOWS_1252};
use serde::Serialize;
use std::io::{self, Read};

/// The encoding of an import file as detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// No byte-order mark and no byte above 0x7F: valid as ANSI and as UTF-8.
    Ascii,
    /// UTF-8 without a byte-order mark, with non-ASCII characters (PowerShell 7).
    Utf8,
    /// UTF-8 with a byte-order mark.
    Utf8Bom,
    /// UTF-16 little-endian with a byte-order mark (Windows PowerShell 5.1 `Out-File`).
    Utf16Le,
    /// UTF-16 big-endian with a byte-order mark.
    Utf16Be,
    /// No byte-order mark and not valid UTF-8: the Windows "ANSI" code page 1252.
    Windows1252,
}

impl Encoding {
    /// A short human name.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Ascii => "ASCII",
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 with BOM",
            Encoding::Utf16Le => "UTF-16LE with BOM",
            Encoding::Utf16Be => "UTF-16BE with BOM",
            Encoding::Windows1252 => "Windows-1252 (ANSI)",
        }
    }

    /// Whether Intune accepts it: ANSI text without a byte-order mark.
    pub fn is_ansi(self) -> bool {
        matches!(self, Encoding::Ascii | Encoding::Windows1252)
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

const IN_CAPACITY: usize = 64 * 1024;
/// Room for the worst expansion of one input chunk (Windows-1252 and UTF-16 to UTF-8 grow at most 3x).
const OUT_CAPACITY: usize = 3 * IN_CAPACITY + 16;
/// U+FFFD in UTF-8.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

enum Mode {
    /// Nothing read yet: the byte-order mark decides.
    Start,
    /// Bytes pass through while they are ASCII.
    Ascii,
    /// Bytes pass through after UTF-8 validation; invalid sequences become U+FFFD.
    Utf8,
    /// Transcoded by encoding_rs (UTF-16, Windows-1252); malformed input becomes U+FFFD.
    Decode(Box<Decoder>),
}

/// Why the stream stopped early: kept so the reader above can report it precisely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A NUL character at this offset of the raw file: not a text file.
    Nul { offset: u64, utf16_hint: bool },
    /// The current record grew past the limit: an unclosed quotation mark, or not a CSV file.
    RecordTooLong,
}

/// Decodes any supported encoding to UTF-8 in chunks, as a [`Read`] for the `csv` crate.
pub(crate) struct DecodingReader<R> {
    inner: R,
    input: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    output: Box<[u8]>,
    out_start: usize,
    out_end: usize,
    mode: Mode,
    detected: Encoding,
    /// Raw bytes taken from `inner`.
    pub(crate) bytes_in: u64,
    /// UTF-8 bytes handed out.
    pub(crate) bytes_out: u64,
    /// Where the record being read began, in UTF-8 bytes; set by the reader after each record.
    pub(crate) record_start: u64,
    /// The longest record allowed, in UTF-8 bytes.
    pub(crate) max_record: u64,
    pub(crate) stop: Option<Stop>,
    first_two: [u8; 2],
    /// The last UTF-8 byte handed out.
    pub(crate) last_byte: Option<u8>,
    /// The decoder has been told the input ended (it must not be used again).
    flushed: bool,
}

impl<R: Read> DecodingReader<R> {
    pub(crate) fn new(inner: R, max_record: u64) -> DecodingReader<R> {
        DecodingReader {
            inner,
            input: vec![0; IN_CAPACITY].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            output: vec![0; OUT_CAPACITY].into_boxed_slice(),
            out_start: 0,
            out_end: 0,
            mode: Mode::Start,
            detected: Encoding::Ascii,
            bytes_in: 0,
            bytes_out: 0,
            record_start: 0,
            max_record,
            stop: None,
            first_two: [0xFF; 2],
            last_byte: None,
            flushed: false,
        }
    }

    /// Every byte of the input has been handed out.
    pub(crate) fn drained(&self) -> bool {
        self.eof && self.start == self.end && self.out_start == self.out_end
    }

    /// The encoding as far as the bytes read so far tell.
    pub(crate) fn encoding(&self) -> Encoding {
        self.detected
    }

    /// Moves unread input to the front and reads more; at least one byte unless at the end.
    fn refill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while !self.eof && self.end < self.input.len() {
            match self.inner.read(&mut self.input[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.end += n;
                    self.bytes_in += n as u64;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn sniff(&mut self) -> io::Result<()> {
        while self.end - self.start < 3 && !self.eof {
            self.refill()?;
        }
        let head = &self.input[self.start..self.end];
        if head.len() >= 2 {
            self.first_two = [head[0], head[1]];
        }
        let (encoding, skip, mode) = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            (Encoding::Utf8Bom, 3, Mode::Utf8)
        } else if head.starts_with(&[0xFF, 0xFE]) {
            (
                Encoding::Utf16Le,
                2,
                Mode::Decode(Box::new(UTF_16LE.new_decoder_without_bom_handling())),
            )
        } else if head.starts_with(&[0xFE, 0xFF]) {
            (
                Encoding::Utf16Be,
                2,
                Mode::Decode(Box::new(UTF_16BE.new_decoder_without_bom_handling())),
            )
        } else {
            (Encoding::Ascii, 0, Mode::Ascii)
        };
        self.detected = encoding;
        self.start += skip;
        self.mode = mode;
        Ok(())
    }

    /// Decides between UTF-8 and Windows-1252 at the first non-ASCII byte (at `self.start`).
    fn decide(&mut self) -> io::Result<()> {
        // Enough look-ahead to judge a multi-byte sequence.
        while self.end - self.start < 4 && !self.eof {
            self.refill()?;
        }
        let window = &self.input[self.start..self.end];
        let utf8 = match std::str::from_utf8(window) {
            Ok(_) => true,
            // Valid so far, cut short by the end of the buffered chunk.
            Err(e) => e.error_len().is_none() && !self.eof && e.valid_up_to() > 0,
        };
        if utf8 {
            self.detected = Encoding::Utf8;
            self.mode = Mode::Utf8;
        } else {
            self.detected = Encoding::Windows1252;
            self.mode = Mode::Decode(Box::new(WINDOWS_1252.new_decoder_without_bom_handling()));
        }
        Ok(())
    }

    /// Produces the next chunk of UTF-8 into `output`; leaves it empty only at the end of input.
    fn produce(&mut self) -> io::Result<()> {
        self.out_start = 0;
        self.out_end = 0;
        loop {
            if let Mode::Start = self.mode {
                self.sniff()?;
            }
            if self.start == self.end {
                if self.eof {
                    if self.flushed {
                        return Ok(());
                    }
                    self.flushed = true;
                    if let Mode::Decode(decoder) = &mut self.mode {
                        // Flush a dangling half of a UTF-16 code unit as U+FFFD.
                        let (_, _, written, _) =
                            decoder.decode_to_utf8(&[], &mut self.output, true);
                        self.out_end = written;
                    }
                    return Ok(());
                }
                self.refill()?;
                continue;
            }
            let avail = &self.input[self.start..self.end];
            match &mut self.mode {
                Mode::Start => {}
                Mode::Ascii => {
                    let n = ascii_prefix(avail);
                    if n == 0 {
                        self.decide()?;
                        continue;
                    }
                    self.output[..n].copy_from_slice(&avail[..n]);
                    self.start += n;
                    self.out_end = n;
                    return Ok(());
                }
                Mode::Utf8 => match std::str::from_utf8(avail) {
                    Ok(_) => {
                        let n = avail.len();
                        self.output[..n].copy_from_slice(avail);
                        self.start += n;
                        self.out_end = n;
                        return Ok(());
                    }
                    Err(e) if e.valid_up_to() > 0 => {
                        let n = e.valid_up_to();
                        self.output[..n].copy_from_slice(&avail[..n]);
                        self.start += n;
                        self.out_end = n;
                        return Ok(());
                    }
                    Err(e) => match e.error_len() {
                        Some(bad) => {
                            self.output[..REPLACEMENT.len()].copy_from_slice(REPLACEMENT);
                            self.start += bad;
                            self.out_end = REPLACEMENT.len();
                            return Ok(());
                        }
                        None if self.eof => {
                            self.output[..REPLACEMENT.len()].copy_from_slice(REPLACEMENT);
                            self.start = self.end;
                            self.out_end = REPLACEMENT.len();
                            return Ok(());
                        }
                        None => {
                            self.refill()?;
                            continue;
                        }
                    },
                },
                Mode::Decode(decoder) => {
                    let (_, read, written, _) =
                        decoder.decode_to_utf8(avail, &mut self.output, false);
                    self.start += read;
                    self.out_end = written;
                    if written > 0 {
                        return Ok(());
                    }
                }
            }
        }
    }

    fn check_output(&mut self) -> io::Result<()> {
        let chunk = &self.output[self.out_start..self.out_end];
        if let Some(at) = first_nul(chunk) {
            // An offset in the decoded text: exact for single-byte encodings.
            let offset = self.bytes_out + at as u64;
            let utf16_hint = self.first_two[0] != 0 && self.first_two[1] == 0
                || self.first_two[0] == 0 && self.first_two[1] != 0;
            self.stop = Some(Stop::Nul { offset, utf16_hint });
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "NUL byte: not a text file",
            ));
        }
        Ok(())
    }
}

impl<R: Read> Read for DecodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "reading stopped",
            ));
        }
        if self.out_start == self.out_end {
            self.produce()?;
            self.check_output()?;
        }
        if self.bytes_out.saturating_sub(self.record_start) > self.max_record {
            self.stop = Some(Stop::RecordTooLong);
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "record too long",
            ));
        }
        let n = buf.len().min(self.out_end - self.out_start);
        buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        self.bytes_out += n as u64;
        if n > 0 {
            self.last_byte = Some(buf[n - 1]);
        }
        Ok(n)
    }
}

/// Length of the ASCII prefix, in blocks the compiler can vectorise.
fn ascii_prefix(bytes: &[u8]) -> usize {
    let mut at = 0;
    for block in bytes.chunks(64) {
        if block.is_ascii() {
            at += block.len();
        } else {
            return at
                + block
                    .iter()
                    .position(|b| !b.is_ascii())
                    .unwrap_or(block.len());
        }
    }
    at
}

fn first_nul(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for block in bytes.chunks(64) {
        if block.iter().fold(false, |acc, &b| acc | (b == 0)) {
            return block.iter().position(|&b| b == 0).map(|i| at + i);
        }
        at += block.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> (String, Encoding) {
        let mut r = DecodingReader::new(bytes, u64::MAX);
        let mut out = Vec::new();
        r.read_to_end(&mut out).expect("decodes");
        (String::from_utf8(out).expect("UTF-8 out"), r.encoding())
    }

    /// A reader that hands out one byte per call, to cross every chunk boundary.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn detects_each_encoding() {
        assert_eq!(decode_all(b"a,b\r\n"), ("a,b\r\n".into(), Encoding::Ascii));
        assert_eq!(
            decode_all("x,Café\n".as_bytes()),
            ("x,Café\n".into(), Encoding::Utf8)
        );
        assert_eq!(
            decode_all(b"\xEF\xBB\xBFa\n"),
            ("a\n".into(), Encoding::Utf8Bom)
        );
        assert_eq!(
            decode_all(b"x,Caf\xE9\n"),
            ("x,Café\n".into(), Encoding::Windows1252)
        );
        assert_eq!(
            decode_all(b"\xFF\xFEa\x00\xE9\x00"),
            ("aé".into(), Encoding::Utf16Le)
        );
        assert_eq!(
            decode_all(b"\xFE\xFF\x00a\x00\xE9"),
            ("aé".into(), Encoding::Utf16Be)
        );
        assert_eq!(decode_all(b""), (String::new(), Encoding::Ascii));
    }

    #[test]
    fn one_byte_reads_decode_the_same() {
        for input in [
            "Device,Tag\r\nA,Café 東京\r\n".as_bytes().to_vec(),
            b"Device,Tag\r\nA,Caf\xE9\r\n".to_vec(),
            [
                &[0xFF, 0xFE][..],
                &"Café,x"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect::<Vec<_>>(),
            ]
            .concat(),
        ] {
            let mut whole = String::new();
            DecodingReader::new(&input[..], u64::MAX)
                .read_to_string(&mut whole)
                .expect("decodes");
            let mut trickled = String::new();
            DecodingReader::new(Trickle(&input), u64::MAX)
                .read_to_string(&mut trickled)
                .expect("decodes");
            assert_eq!(whole, trickled);
            assert!(whole.contains("Café"), "{whole}");
        }
    }

    #[test]
    fn invalid_utf8_within_the_look_ahead_means_ansi() {
        let (text, enc) = decode_all(b"\xC3\xA9,\xFF,x");
        assert_eq!(enc, Encoding::Windows1252);
        assert_eq!(text, "Ã©,ÿ,x");
    }

    #[test]
    fn invalid_utf8_beyond_the_look_ahead_becomes_replacement() {
        let mut input = "é,".as_bytes().to_vec();
        input.extend(std::iter::repeat_n(b'a', IN_CAPACITY + 10));
        input.extend(b",\xFF,x");
        let (text, enc) = decode_all(&input);
        assert_eq!(enc, Encoding::Utf8);
        assert!(text.starts_with("é,aaa"));
        assert!(
            text.ends_with("a,\u{FFFD},x"),
            "{}",
            &text[text.len() - 10..]
        );
    }

    #[test]
    fn reading_past_the_end_again_is_fine() {
        for input in [&b"\xFF\xFEa\x00b"[..], b"\xFF\xFEa", b"x\xE9", b"plain"] {
            let mut r = DecodingReader::new(input, u64::MAX);
            let mut out = Vec::new();
            r.read_to_end(&mut out).expect("decodes");
            let mut buf = [0u8; 8];
            assert_eq!(r.read(&mut buf).expect("still fine"), 0);
            assert_eq!(r.read(&mut buf).expect("still fine"), 0);
        }
    }

    #[test]
    fn nul_stops_with_offset() {
        let mut r = DecodingReader::new(&b"abc\0def"[..], u64::MAX);
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).is_err());
        assert_eq!(
            r.stop,
            Some(Stop::Nul {
                offset: 3,
                utf16_hint: false
            })
        );
        let mut r = DecodingReader::new(&b"a\0b\0"[..], u64::MAX);
        assert!(r.read_to_end(&mut out).is_err());
        assert_eq!(
            r.stop,
            Some(Stop::Nul {
                offset: 1,
                utf16_hint: true
            })
        );
    }
}
