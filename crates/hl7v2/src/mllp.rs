//! MLLP framing: `0x0B` message `0x1C 0x0D`.
//!
//! [`encode`] frames a message; [`Decoder`] takes bytes in whatever chunks
//! they arrive and yields whole frames, without doing any I/O itself (the
//! caller feeds it). [`MllpReader`] and [`MllpWriter`] adapt it to
//! [`Read`]/[`Write`]. Bytes outside a frame and frames over the size limit
//! are reported as errors, never dropped silently; the decoder then
//! resynchronises on the next start block.
//!
//! ```
//! use carecodec_hl7v2::mllp::{encode, Decoder};
//!
//! let mut wire = Vec::new();
//! encode(b"MSH|^~\\&|A\r", &mut wire);
//! encode(b"MSH|^~\\&|B\r", &mut wire);
//! let mut dec = Decoder::new();
//! let mut frames = Vec::new();
//! for chunk in wire.chunks(5) {
//!     dec.feed(chunk);
//!     while let Some(frame) = dec.next_frame() {
//!         frames.push(frame.unwrap());
//!     }
//! }
//! assert_eq!(frames, [b"MSH|^~\\&|A\r".to_vec(), b"MSH|^~\\&|B\r".to_vec()]);
//! ```

use std::fmt;
use std::io::{self, Read, Write};

/// Start block.
///
/// ```
/// use carecodec_hl7v2::mllp::{encode, START};
///
/// let mut wire = Vec::new();
/// encode(b"MSH|^~\\&\r", &mut wire);
/// assert_eq!(wire.first(), Some(&START));
/// assert_eq!(START, 0x0b);
/// ```
pub const START: u8 = 0x0b;
/// End block (followed by [`CR`]).
///
/// ```
/// use carecodec_hl7v2::mllp::{encode, CR, END};
///
/// let mut wire = Vec::new();
/// encode(b"MSH|^~\\&\r", &mut wire);
/// assert_eq!(wire[wire.len() - 2..], [END, CR]);
/// assert_eq!(END, 0x1c);
/// ```
pub const END: u8 = 0x1c;
/// Carriage return closing a frame.
///
/// ```
/// use carecodec_hl7v2::mllp::CR;
///
/// assert_eq!(CR, b'\r');
/// ```
pub const CR: u8 = 0x0d;

/// Appends the framed `message` to `out`.
///
/// The message is not checked: one holding 0x0B or 0x1C would be cut by
/// the receiver ([`MllpWriter::write_frame`] refuses it).
///
/// ```
/// use carecodec_hl7v2::mllp::encode;
///
/// let mut wire = b"already here".to_vec();
/// encode(b"MSH|^~\\&|A\r", &mut wire);
/// assert_eq!(wire, b"already here\x0bMSH|^~\\&|A\r\x1c\r");
/// ```
pub fn encode(message: &[u8], out: &mut Vec<u8>) {
    out.reserve(message.len() + 3);
    out.push(START);
    out.extend_from_slice(message);
    out.push(END);
    out.push(CR);
}

/// A framing fault, with the stream offset where it starts.
///
/// ```
/// use carecodec_hl7v2::mllp::{Decoder, MllpError};
///
/// let mut dec = Decoder::new();
/// dec.feed(b"xx\x0bMSH|^~\\&\r\x1c\r");
/// assert_eq!(dec.next_frame(), Some(Err(MllpError::Junk { offset: 0, len: 2 })));
/// assert_eq!(dec.next_frame(), Some(Ok(b"MSH|^~\\&\r".to_vec())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MllpError {
    /// Bytes outside any frame were skipped.
    #[error("{len} byte(s) outside a frame at stream offset {offset}")]
    Junk {
        /// Stream offset of the first skipped byte.
        offset: u64,
        /// How many bytes were skipped.
        len: usize,
    },
    /// A frame grew past the limit; it was discarded up to its end block.
    #[error("frame at stream offset {offset} exceeds {limit} bytes")]
    TooLarge {
        /// Stream offset of the frame's start block.
        offset: u64,
        /// The limit in force.
        limit: usize,
    },
    /// The end block was not followed by CR; the frame is returned anyway.
    #[error("end block at stream offset {offset} not followed by CR")]
    BadTrailer {
        /// Stream offset of the end block.
        offset: u64,
        /// The frame's payload.
        frame: Vec<u8>,
    },
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame that started at offset {offset}")]
    Truncated {
        /// Stream offset of the frame's start block.
        offset: u64,
        /// The partial payload.
        partial: Vec<u8>,
    },
}

/// Incremental MLLP decoder over byte buffers.
///
/// ```
/// use carecodec_hl7v2::mllp::Decoder;
///
/// let mut dec = Decoder::new();
/// dec.feed(b"\x0bMSH|^~\\&|A\r\x1c");
/// assert_eq!(dec.next_frame(), None); // the CR after the end block is still to come
/// dec.feed(b"\r");
/// assert_eq!(dec.next_frame(), Some(Ok(b"MSH|^~\\&|A\r".to_vec())));
/// ```
pub struct Decoder {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Bytes of `buf` already consumed.
    pos: usize,
    max_frame: usize,
    skipping_oversize: bool,
    /// Bytes after the start block at `pos` already searched for an end or
    /// start block without finding one: a frame arriving in many small
    /// reads is searched once, not once per read (linear, not quadratic).
    scanned: usize,
    /// Bytes handed to the end-block search so far (the linearity test).
    #[cfg(test)]
    searched: u64,
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("buffered", &(self.buf.len() - self.pos))
            .field("offset", &(self.base + self.pos as u64))
            .field("max_frame", &self.max_frame)
            .finish()
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder with a 64 MiB frame limit.
    ///
    /// ```
    /// use carecodec_hl7v2::mllp::Decoder;
    ///
    /// let mut dec = Decoder::new();
    /// assert_eq!(dec.buffered(), 0);
    /// assert_eq!(dec.next_frame(), None);
    /// ```
    pub fn new() -> Decoder {
        Decoder::with_max_frame(64 << 20)
    }

    /// A decoder rejecting frames larger than `max_frame` bytes (the
    /// payload between the start and end blocks), whether the frame arrives
    /// in pieces (reported as soon as it grows past the limit, and the rest
    /// skipped unbuffered) or whole in one [`Decoder::feed`].
    ///
    /// ```
    /// use carecodec_hl7v2::mllp::{Decoder, MllpError};
    ///
    /// let mut dec = Decoder::with_max_frame(8);
    /// dec.feed(b"\x0bMSH|^~\\&|A-LONG"); // 14 bytes and no end block yet
    /// assert_eq!(dec.next_frame(), Some(Err(MllpError::TooLarge { offset: 0, limit: 8 })));
    /// dec.feed(b"-MESSAGE\r\x1c\r\x0bMSH|\x1c\r");
    /// assert_eq!(dec.next_frame(), Some(Ok(b"MSH|".to_vec()))); // the rest skipped
    ///
    /// dec.feed(b"\x0bMSH|^~\\&|TOO-LONG\r\x1c\r\x0bMSH|\x1c\r"); // whole frames at once
    /// assert_eq!(dec.next_frame(), Some(Err(MllpError::TooLarge { offset: 34, limit: 8 })));
    /// assert_eq!(dec.next_frame(), Some(Ok(b"MSH|".to_vec())));
    /// ```
    pub fn with_max_frame(max_frame: usize) -> Decoder {
        Decoder {
            buf: Vec::new(),
            base: 0,
            pos: 0,
            max_frame,
            skipping_oversize: false,
            scanned: 0,
            #[cfg(test)]
            searched: 0,
        }
    }

    /// Adds received bytes.
    ///
    /// ```
    /// use carecodec_hl7v2::mllp::Decoder;
    ///
    /// let mut dec = Decoder::new();
    /// dec.feed(b"\x0bMSH|");
    /// dec.feed(b"^~\\&\r\x1c\r");
    /// assert_eq!(dec.next_frame(), Some(Ok(b"MSH|^~\\&\r".to_vec())));
    /// ```
    pub fn feed(&mut self, data: &[u8]) {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes fed but not yet returned.
    ///
    /// ```
    /// use carecodec_hl7v2::mllp::Decoder;
    ///
    /// let mut dec = Decoder::new();
    /// dec.feed(b"\x0bMSH|\x1c\r\x0bPID");
    /// assert_eq!(dec.buffered(), 11);
    /// assert!(dec.next_frame().is_some());
    /// assert_eq!(dec.buffered(), 4); // the second frame's start so far
    /// ```
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn offset(&self, i: usize) -> u64 {
        self.base + i as u64
    }

    /// The next complete frame, a framing error, or `None` when more bytes are needed.
    ///
    /// ```
    /// use carecodec_hl7v2::mllp::{Decoder, MllpError};
    ///
    /// let mut dec = Decoder::new();
    /// dec.feed(b"\x0bMSH|A\x1cX\x0bMSH|B\x1c\r");
    /// assert_eq!(
    ///     dec.next_frame(),
    ///     Some(Err(MllpError::BadTrailer { offset: 6, frame: b"MSH|A".to_vec() }))
    /// );
    /// assert_eq!(dec.next_frame(), Some(Err(MllpError::Junk { offset: 7, len: 1 })));
    /// assert_eq!(dec.next_frame(), Some(Ok(b"MSH|B".to_vec())));
    /// assert_eq!(dec.next_frame(), None);
    /// ```
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, MllpError>> {
        let pos = self.pos;
        let got = self.next_frame_inner();
        if self.pos != pos {
            self.scanned = 0;
        }
        got
    }

    fn next_frame_inner(&mut self) -> Option<Result<Vec<u8>, MllpError>> {
        let rest = self.buf.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        if self.skipping_oversize {
            // Discard up to and including the end block.
            match memchr::memchr(END, rest) {
                Some(p) => {
                    self.pos += p + 1;
                    if self.buf.get(self.pos) == Some(&CR) {
                        self.pos += 1;
                    }
                    self.skipping_oversize = false;
                    self.scanned = 0;
                    return self.next_frame_inner();
                }
                None => {
                    self.pos = self.buf.len();
                    return None;
                }
            }
        }
        let Some(start) = memchr::memchr(START, rest) else {
            // Only junk (or inter-frame whitespace) so far.
            let junk = rest.iter().filter(|b| !b.is_ascii_whitespace()).count();
            let at = self.offset(self.pos);
            self.pos = self.buf.len();
            return (junk > 0).then_some(Err(MllpError::Junk {
                offset: at,
                len: rest.len(),
            }));
        };
        if start > 0 {
            let skipped = rest.get(..start).unwrap_or_default();
            let at = self.offset(self.pos);
            self.pos += start;
            if skipped.iter().any(|b| !b.is_ascii_whitespace()) {
                return Some(Err(MllpError::Junk {
                    offset: at,
                    len: start,
                }));
            }
        }
        let frame_at = self.pos;
        let body = self.buf.get(frame_at + 1..).unwrap_or_default();
        // Resume the search where the last call for this frame stopped.
        let from = self.scanned.min(body.len());
        let unsearched = body.get(from..).unwrap_or_default();
        #[cfg(test)]
        {
            self.searched += unsearched.len() as u64;
        }
        match memchr::memchr2(END, START, unsearched).map(|p| from + p) {
            Some(p) if body.get(p) == Some(&START) => {
                // A new start block before the end block: the first frame was cut off.
                let partial = body.get(..p).unwrap_or_default().to_vec();
                self.pos = frame_at + 1 + p;
                Some(Err(MllpError::Truncated {
                    offset: self.offset(frame_at),
                    partial,
                }))
            }
            Some(p) => {
                if body.len() == p + 1 {
                    self.scanned = p;
                    return None; // need the byte after the end block
                }
                let after = body.get(p + 1).copied();
                let end_at = frame_at + 1 + p;
                if p > self.max_frame {
                    // Complete but over the limit (it arrived in one piece).
                    self.pos = end_at + 1 + usize::from(after == Some(CR));
                    return Some(Err(MllpError::TooLarge {
                        offset: self.offset(frame_at),
                        limit: self.max_frame,
                    }));
                }
                let frame = body.get(..p).unwrap_or_default().to_vec();
                if after == Some(CR) {
                    self.pos = end_at + 2;
                    Some(Ok(frame))
                } else {
                    self.pos = end_at + 1;
                    Some(Err(MllpError::BadTrailer {
                        offset: self.offset(end_at),
                        frame,
                    }))
                }
            }
            None if body.len() > self.max_frame => {
                self.skipping_oversize = true;
                let at = self.offset(frame_at);
                self.pos = self.buf.len();
                Some(Err(MllpError::TooLarge {
                    offset: at,
                    limit: self.max_frame,
                }))
            }
            None => {
                self.scanned = body.len();
                None
            }
        }
    }

    /// Call at end of stream: reports a frame left unfinished.
    ///
    /// ```
    /// use carecodec_hl7v2::mllp::{Decoder, MllpError};
    ///
    /// let mut dec = Decoder::new();
    /// dec.feed(b"\x0bMSH|^~");
    /// assert_eq!(dec.next_frame(), None);
    /// assert_eq!(dec.finish(), Some(MllpError::Truncated { offset: 0, partial: b"MSH|^~".to_vec() }));
    /// ```
    pub fn finish(&mut self) -> Option<MllpError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let start = memchr::memchr(START, rest)?;
        let partial = rest.get(start + 1..).unwrap_or_default().to_vec();
        let offset = self.offset(self.pos + start);
        self.pos = self.buf.len();
        Some(MllpError::Truncated { offset, partial })
    }
}

/// Reads MLLP frames from a [`Read`].
///
/// ```
/// use carecodec_hl7v2::mllp::MllpReader;
///
/// let wire = b"\x0bMSH|^~\\&|A\r\x1c\r";
/// let mut r = MllpReader::new(&wire[..]);
/// assert_eq!(r.read_frame().unwrap().unwrap().unwrap(), b"MSH|^~\\&|A\r");
/// assert!(r.read_frame().unwrap().is_none());
/// ```
#[derive(Debug)]
pub struct MllpReader<R> {
    inner: R,
    decoder: Decoder,
    chunk: Vec<u8>,
    done: bool,
}

impl<R: Read> MllpReader<R> {
    /// Wraps `inner`.
    ///
    /// ```
    /// use carecodec_hl7v2::mllp::MllpReader;
    ///
    /// let mut r = MllpReader::new(&b"\x0bMSH|^~\\&|A\r\x1c\r"[..]);
    /// assert_eq!(r.read_frame()?, Some(Ok(b"MSH|^~\\&|A\r".to_vec())));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(inner: R) -> MllpReader<R> {
        MllpReader {
            inner,
            decoder: Decoder::new(),
            chunk: vec![0; 64 << 10],
            done: false,
        }
    }

    /// The next frame (or framing error); `Ok(None)` at end of stream.
    ///
    /// ```
    /// use carecodec_hl7v2::mllp::{MllpError, MllpReader};
    ///
    /// let mut r = MllpReader::new(&b"\x0bA\x1c\r\x0bB"[..]);
    /// assert_eq!(r.read_frame()?, Some(Ok(b"A".to_vec())));
    /// assert_eq!(r.read_frame()?, Some(Err(MllpError::Truncated { offset: 4, partial: b"B".to_vec() })));
    /// assert_eq!(r.read_frame()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_frame(&mut self) -> io::Result<Option<Result<Vec<u8>, MllpError>>> {
        loop {
            if let Some(f) = self.decoder.next_frame() {
                return Ok(Some(f));
            }
            if self.done {
                return Ok(self.decoder.finish().map(Err));
            }
            let n = match self.inner.read(&mut self.chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.done = true;
            } else {
                self.decoder.feed(self.chunk.get(..n).unwrap_or_default());
            }
        }
    }
}

/// Writes MLLP frames to a [`Write`].
///
/// ```
/// use carecodec_hl7v2::mllp::MllpWriter;
///
/// let mut w = MllpWriter::new(Vec::new());
/// w.write_frame(b"MSH|^~\\&\r").unwrap();
/// assert_eq!(w.into_inner(), b"\x0bMSH|^~\\&\r\x1c\r");
/// ```
#[derive(Debug)]
pub struct MllpWriter<W> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> MllpWriter<W> {
    /// Wraps `inner`.
    ///
    /// ```
    /// use carecodec_hl7v2::mllp::MllpWriter;
    ///
    /// let mut w = MllpWriter::new(Vec::new());
    /// w.write_frame(b"A")?;
    /// assert_eq!(w.into_inner(), b"\x0bA\x1c\r");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(inner: W) -> MllpWriter<W> {
        MllpWriter {
            inner,
            buf: Vec::new(),
        }
    }

    /// Writes one framed message and flushes.
    ///
    /// A message holding a start (0x0B) or end (0x1C) block byte would be
    /// cut in two by the receiver: it is refused with
    /// [`io::ErrorKind::InvalidInput`] and nothing is written
    /// ([`escape::encode`](crate::escape::encode), used by
    /// [`MessageBuf::set`](crate::MessageBuf::set), writes them as `\X0B\` /
    /// `\X1C\`).
    ///
    /// ```
    /// use carecodec_hl7v2::mllp::MllpWriter;
    ///
    /// let mut w = MllpWriter::new(Vec::new());
    /// w.write_frame(b"MSH|^~\\&|A\r")?;
    /// w.write_frame(b"MSH|^~\\&|B\r")?;
    /// assert!(w.write_frame(b"MSH|^~\\&|C\x1c\r").is_err());
    /// assert_eq!(w.into_inner(), b"\x0bMSH|^~\\&|A\r\x1c\r\x0bMSH|^~\\&|B\r\x1c\r");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_frame(&mut self, message: &[u8]) -> io::Result<()> {
        if let Some(at) = memchr::memchr2(START, END, message) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("MLLP block byte inside the message at byte {at}: it would end the frame"),
            ));
        }
        self.buf.clear();
        encode(message, &mut self.buf);
        self.inner.write_all(&self.buf)?;
        self.inner.flush()
    }

    /// The wrapped writer.
    ///
    /// ```
    /// use carecodec_hl7v2::mllp::MllpWriter;
    ///
    /// let mut w = MllpWriter::new(Vec::new());
    /// w.write_frame(b"X")?;
    /// let bytes: Vec<u8> = w.into_inner();
    /// assert_eq!(bytes.len(), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> W {
        self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(dec: &mut Decoder) -> Vec<Result<Vec<u8>, MllpError>> {
        std::iter::from_fn(|| dec.next_frame()).collect()
    }

    #[test]
    fn junk_and_errors_reported() {
        let mut d = Decoder::new();
        d.feed(b"xx\x0bA\x1c\r\x0bB\x1cZ\x0bC\x0bD\x1c\r");
        let got = all(&mut d);
        assert_eq!(got[0], Err(MllpError::Junk { offset: 0, len: 2 }));
        assert_eq!(got[1], Ok(b"A".to_vec()));
        assert!(matches!(
            got[2],
            Err(MllpError::BadTrailer { offset: 8, .. })
        ));
        assert!(matches!(&got[3], Err(MllpError::Junk { .. })));
        assert!(matches!(&got[4], Err(MllpError::Truncated { partial, .. }) if partial == b"C"));
        assert_eq!(got[5], Ok(b"D".to_vec()));
    }

    #[test]
    fn oversize_frames_skipped() {
        let mut d = Decoder::with_max_frame(4);
        d.feed(b"\x0b123456");
        assert!(matches!(
            d.next_frame(),
            Some(Err(MllpError::TooLarge { .. }))
        ));
        d.feed(b"78\x1c\r\x0bok\x1c\r");
        assert_eq!(d.next_frame(), Some(Ok(b"ok".to_vec())));
    }

    /// F5 (probe 12): a frame fed in small pieces was searched from its
    /// start on every call (a 48 MiB frame in 1460-byte reads took 213 s).
    /// Each byte is now searched once (plus the end block when the CR after
    /// it is still to come).
    #[test]
    fn a_frame_in_small_pieces_is_searched_once() {
        let payload = vec![b'x'; 1 << 20];
        let mut wire = Vec::new();
        encode(&payload, &mut wire);
        encode(b"B", &mut wire);
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for chunk in wire.chunks(1460) {
            d.feed(chunk);
            while let Some(f) = d.next_frame() {
                got.push(f);
            }
        }
        assert_eq!(got, [Ok(payload), Ok(b"B".to_vec())]);
        assert!(
            d.searched <= wire.len() as u64 + 8,
            "searched {} bytes of a {}-byte stream",
            d.searched,
            wire.len()
        );
    }

    /// F5 (probe 12): `with_max_frame` let a frame over the limit through
    /// when it arrived complete in one `feed`.
    #[test]
    fn limit_holds_for_a_frame_fed_whole() {
        let mut d = Decoder::with_max_frame(4);
        d.feed(b"\x0b1234\x1c\r\x0b12345\x1c\r\x0b12345\x1cZ\x0bok\x1c\r");
        assert_eq!(d.next_frame(), Some(Ok(b"1234".to_vec())));
        assert_eq!(
            d.next_frame(),
            Some(Err(MllpError::TooLarge {
                offset: 7,
                limit: 4
            }))
        );
        assert_eq!(
            d.next_frame(),
            Some(Err(MllpError::TooLarge {
                offset: 15,
                limit: 4
            }))
        );
        assert_eq!(
            d.next_frame(),
            Some(Err(MllpError::Junk { offset: 22, len: 1 }))
        );
        assert_eq!(d.next_frame(), Some(Ok(b"ok".to_vec())));
        assert_eq!(d.next_frame(), None);
    }

    #[test]
    fn waits_for_byte_after_end_block() {
        let mut d = Decoder::new();
        d.feed(b"\x0bA\x1c");
        assert_eq!(d.next_frame(), None);
        d.feed(b"\r");
        assert_eq!(d.next_frame(), Some(Ok(b"A".to_vec())));
        assert_eq!(d.finish(), None);
    }
}
