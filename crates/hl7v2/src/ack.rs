//! ACK messages: the acknowledgement for a received message.
//!
//! [`build`] swaps sender and receiver, answers MSH-9 with `ACK^<trigger>^ACK`,
//! copies MSH-10 into MSA-2 and, for errors, adds an ERR segment carrying the
//! error location (v2.5+: ERR-2 `SEG^occurrence^field^repetition^component^subcomponent`,
//! ERR-3 code, ERR-4 severity, ERR-8 text; earlier versions: ERR-1).
//!
//! ```
//! use carecodec_hl7v2::ack::{build, AckCode, AckOptions};
//! use carecodec_hl7v2::Message;
//!
//! let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX2|20240101||ADT^A01|42|P|2.5\r").unwrap();
//! let opts = AckOptions::new("ACK42", "20240101120000");
//! let ack = build(&msg, AckCode::AA, None, &opts).unwrap();
//! assert_eq!(
//!     ack.to_bytes(),
//!     b"MSH|^~\\&|EPR|RX2|PAS|RX1|20240101120000||ACK^A01^ACK|ACK42|P|2.5\rMSA|AA|42\r"
//! );
//! ```

use crate::error::{Error, Result};
use crate::escape;
use crate::message::Message;
use crate::owned::MessageBuf;
use crate::path::Path;

/// MSA-1 acknowledgement codes (HL7 table 0008).
///
/// ```
/// use carecodec_hl7v2::ack::{build, AckCode, AckOptions};
/// use carecodec_hl7v2::Message;
///
/// let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|42|P|2.4\r")?;
/// let ack = build(&msg, AckCode::AR, None, &AckOptions::new("1", "20240101120000"))?;
/// assert_eq!(Message::parse(&ack.to_bytes())?.text("MSA-1")?.as_deref(), Some("AR"));
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AckCode {
    /// Original mode: application accept.
    AA,
    /// Original mode: application error.
    AE,
    /// Original mode: application reject.
    AR,
    /// Enhanced mode: commit accept.
    CA,
    /// Enhanced mode: commit error.
    CE,
    /// Enhanced mode: commit reject.
    CR,
}

impl AckCode {
    /// The code's text.
    ///
    /// ```
    /// use carecodec_hl7v2::ack::AckCode;
    ///
    /// assert_eq!(AckCode::AA.as_str(), "AA");
    /// assert_eq!(AckCode::CE.as_str(), "CE");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            AckCode::AA => "AA",
            AckCode::AE => "AE",
            AckCode::AR => "AR",
            AckCode::CA => "CA",
            AckCode::CE => "CE",
            AckCode::CR => "CR",
        }
    }

    /// The code for an outcome, in the mode the message asks for: enhanced
    /// mode (commit codes) when MSH-15 or MSH-16 is valued, else original
    /// mode. The HL7 null `""` is not a value.
    ///
    /// ```
    /// use carecodec_hl7v2::ack::{AckCode, Outcome};
    /// use carecodec_hl7v2::Message;
    ///
    /// let original = Message::parse(b"MSH|^~\\&||||||||1|P|2.4\r").unwrap();
    /// assert_eq!(AckCode::for_message(&original, Outcome::Error), AckCode::AE);
    /// let enhanced = Message::parse(b"MSH|^~\\&||||||||1|P|2.4|||AL|NE\r").unwrap();
    /// assert_eq!(AckCode::for_message(&enhanced, Outcome::Accept), AckCode::CA);
    /// let null = Message::parse(b"MSH|^~\\&||||||||1|P|2.4|||\"\"|\"\"\r").unwrap();
    /// assert_eq!(AckCode::for_message(&null, Outcome::Accept), AckCode::AA);
    /// ```
    pub fn for_message(msg: &Message<'_>, outcome: Outcome) -> AckCode {
        let valued = |p: &str| {
            msg.get(p)
                .ok()
                .flatten()
                .is_some_and(|v| !v.is_empty() && v.raw() != b"\"\"")
        };
        let enhanced = valued("MSH-15") || valued("MSH-16");
        match (enhanced, outcome) {
            (false, Outcome::Accept) => AckCode::AA,
            (false, Outcome::Error) => AckCode::AE,
            (false, Outcome::Reject) => AckCode::AR,
            (true, Outcome::Accept) => AckCode::CA,
            (true, Outcome::Error) => AckCode::CE,
            (true, Outcome::Reject) => AckCode::CR,
        }
    }
}

/// The outcome being acknowledged.
///
/// ```
/// use carecodec_hl7v2::ack::{AckCode, Outcome};
/// use carecodec_hl7v2::Message;
///
/// let msg = Message::parse(b"MSH|^~\\&||||||||1|P|2.4\r")?;
/// assert_eq!(AckCode::for_message(&msg, Outcome::Accept), AckCode::AA);
/// assert_eq!(AckCode::for_message(&msg, Outcome::Reject), AckCode::AR);
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Accepted.
    Accept,
    /// Accepted with an error in the content.
    Error,
    /// Rejected.
    Reject,
}

/// What went wrong, for the ERR segment.
///
/// ```
/// use carecodec_hl7v2::ack::{build, AckCode, AckError, AckOptions};
/// use carecodec_hl7v2::{Message, Path};
///
/// let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|42|P|2.5\r")?;
/// let err = AckError::new(Some(Path::parse("PID-3")?), "101", "NHS number missing");
/// let ack = build(&msg, AckCode::AE, Some(&err), &AckOptions::new("1", "20240101120000"))?;
/// let ack = ack.to_bytes();
/// let ack = Message::parse(&ack)?;
/// assert_eq!(ack.text("ERR-2")?.as_deref(), Some("PID^1^3"));
/// assert_eq!(ack.text("ERR-3.1")?.as_deref(), Some("101"));
/// assert_eq!(ack.text("ERR-8")?.as_deref(), Some("NHS number missing"));
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AckError {
    /// Location (segment, occurrence, field, repetition, component, subcomponent).
    pub location: Option<Path>,
    /// HL7 error code (table 0357), e.g. `100` segment sequence error,
    /// `101` required field missing, `102` data type error, `103` table value
    /// not found, `200` unsupported message type, `207` application internal error.
    pub code: &'static str,
    /// Severity (table 0516): `E` error, `W` warning, `I` information.
    pub severity: &'static str,
    /// Text for the user.
    pub message: String,
}

impl AckError {
    /// An error at `location` with HL7 `code` and `message`.
    ///
    /// ```
    /// use carecodec_hl7v2::ack::AckError;
    ///
    /// let err = AckError::new(None, "207", "database unavailable");
    /// assert_eq!((err.code, err.severity), ("207", "E"));
    /// assert_eq!(err.message, "database unavailable");
    /// ```
    pub fn new(location: Option<Path>, code: &'static str, message: impl Into<String>) -> AckError {
        AckError {
            location,
            code,
            severity: "E",
            message: message.into(),
        }
    }

    /// The ERR content for a parse error of this crate: its path when it has
    /// one, code 102 (data type error) or 100 (segment sequence) as fits.
    ///
    /// ```
    /// use carecodec_hl7v2::ack::AckError;
    /// use carecodec_hl7v2::Message;
    ///
    /// let err = Message::parse(b"MSH|^~\\&\rP!D|1\r").unwrap_err();
    /// let ack_err = AckError::from_error(&err);
    /// assert_eq!(ack_err.code, "100"); // segment sequence error
    /// assert!(ack_err.message.contains("P!D"));
    /// ```
    pub fn from_error(e: &Error) -> AckError {
        let location = e.path().and_then(|p| Path::parse(p).ok());
        let code = match e.kind() {
            crate::ErrorKind::InvalidSegmentId(_) | crate::ErrorKind::MissingHeader => "100",
            crate::ErrorKind::UnsupportedCharset(_) => "204",
            _ => "102",
        };
        AckError::new(location, code, e.to_string())
    }
}

/// Values the ACK needs that this crate will not invent (no clock, no counter).
///
/// ```
/// use carecodec_hl7v2::ack::AckOptions;
///
/// let opts = AckOptions::new("ACK0001", "20240101120000+0000");
/// assert_eq!(opts.control_id, "ACK0001");
/// assert_eq!(opts.timestamp, "20240101120000+0000");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AckOptions {
    /// MSH-10 of the ACK.
    pub control_id: String,
    /// MSH-7 of the ACK (`YYYYMMDDHHMMSS[+ZZZZ]`).
    pub timestamp: String,
}

impl AckOptions {
    /// Options with the ACK's control id and timestamp.
    ///
    /// ```
    /// use carecodec_hl7v2::ack::{build, AckCode, AckOptions};
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|42|P|2.4\r")?;
    /// let ack = build(&msg, AckCode::AA, None, &AckOptions::new("ACK9", "20240101120000"))?.to_bytes();
    /// let ack = Message::parse(&ack)?;
    /// assert_eq!(ack.control_id(), Some("ACK9"));
    /// assert_eq!(ack.text("MSH-7")?.as_deref(), Some("20240101120000"));
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn new(control_id: impl Into<String>, timestamp: impl Into<String>) -> AckOptions {
        AckOptions {
            control_id: control_id.into(),
            timestamp: timestamp.into(),
        }
    }
}

/// Builds the ACK for `msg`.
///
/// ```
/// use carecodec_hl7v2::ack::{build, AckCode, AckError, AckOptions};
/// use carecodec_hl7v2::Message;
///
/// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX2|20240101||ORU^R01|77|P|2.4\r")?;
/// let err = AckError::new(None, "207", "store failed");
/// let ack = build(&msg, AckCode::AE, Some(&err), &AckOptions::new("A1", "20240101120000"))?;
/// let bytes = ack.to_bytes();
/// let ack = Message::parse(&bytes)?;
/// assert_eq!(ack.text("MSH-9")?.as_deref(), Some("ACK^R01^ACK"));
/// assert_eq!(ack.text("MSA-2")?.as_deref(), Some("77"));
/// assert_eq!(ack.text("MSH-3")?.as_deref(), Some("EPR")); // sender and receiver swapped
/// assert!(ack.segment("ERR", 1).is_some());
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
pub fn build(
    msg: &Message<'_>,
    code: AckCode,
    error: Option<&AckError>,
    opts: &AckOptions,
) -> Result<MessageBuf> {
    let mut ack = MessageBuf::new(msg.delimiters());
    let raw = |p: &str| {
        msg.get(p)
            .ok()
            .flatten()
            .map(|v| v.raw())
            .unwrap_or_default()
    };
    // Sender and receiver swap; values are copied raw (already escaped).
    for (to, from) in [
        ("MSH-3", "MSH-5"),
        ("MSH-4", "MSH-6"),
        ("MSH-5", "MSH-3"),
        ("MSH-6", "MSH-4"),
    ] {
        let v = raw(from);
        if !v.is_empty() {
            ack.set_raw(to, v)?;
        }
    }
    ack.set("MSH-7", &opts.timestamp)?;
    let trigger = msg.message_type().map(|t| t.trigger).unwrap_or("");
    ack.set("MSH-9.1", "ACK")?;
    if !trigger.is_empty() {
        ack.set_raw("MSH-9.2", trigger.as_bytes())?;
    }
    ack.set("MSH-9.3", "ACK")?;
    ack.set("MSH-10", &opts.control_id)?;
    for p in ["MSH-11", "MSH-12"] {
        let v = raw(p);
        if !v.is_empty() {
            ack.set_raw(p, v)?;
        }
    }
    // The ACK's text is written in the charset the original was read in.
    ack.set_msh18_as(raw("MSH-18"), msg.charset())?;
    ack.set("MSA-1", code.as_str())?;
    ack.set_raw("MSA-2", raw("MSH-10"))?;
    let v25 = msg
        .version()
        .and_then(|v| {
            let mut it = v.split('.').map(|p| p.parse::<u32>().ok());
            Some((it.next()??, it.next().flatten().unwrap_or(0)))
        })
        .is_some_and(|(maj, min)| maj > 2 || (maj == 2 && min >= 5));
    if let Some(err) = error {
        if v25 {
            if let Some(loc) = &err.location {
                ack.set("ERR-2.1", loc.segment())?;
                ack.set("ERR-2.2", &loc.occurrence.to_string())?;
                for (i, n) in [loc.field, loc.repetition, loc.component, loc.subcomponent]
                    .iter()
                    .enumerate()
                {
                    if let Some(n) = n {
                        ack.set(&format!("ERR-2.{}", i + 3), &n.to_string())?;
                    }
                }
            }
            ack.set("ERR-3.1", err.code)?;
            ack.set("ERR-3.3", "HL70357")?;
            ack.set("ERR-4", err.severity)?;
            set_text_lossy(&mut ack, "ERR-8", &err.message)?;
        } else {
            set_text_lossy(&mut ack, "MSA-3", &err.message)?;
            if let Some(loc) = &err.location {
                ack.set("ERR-1.1", loc.segment())?;
                ack.set("ERR-1.2", &loc.occurrence.to_string())?;
                if let Some(f) = loc.field {
                    ack.set("ERR-1.3", &f.to_string())?;
                }
            }
            ack.set("ERR-1.4.1", err.code)?;
            ack.set("ERR-1.4.3", "HL70357")?;
        }
    }
    Ok(ack)
}

/// Sets free text (ERR-8, MSA-3) that must reach the sender whatever it
/// holds: a character the ACK cannot write ([`escape::encode`]: a delimiter
/// when the original's MSH-2 has no escape character, a character its
/// charset cannot hold — for ASCII, the HL7 default, anything non-ASCII) is
/// replaced by `?` (or `_`, or a space, whichever the message can carry),
/// and the text then says how many were replaced.
fn set_text_lossy(ack: &mut MessageBuf, path: &str, text: &str) -> Result<()> {
    let (d, charset) = (ack.delimiters(), ack.charset());
    let writable = |c: char| {
        let mut b = [0u8; 4];
        (c.is_ascii() || charset != crate::Charset::Ascii)
            && escape::encode(c.encode_utf8(&mut b), &d, charset).is_ok()
    };
    let replacement = ['?', '_', ' ']
        .into_iter()
        .find(|&c| writable(c))
        .unwrap_or(' ');
    let mut replaced = 0usize;
    let mut out: String = text
        .chars()
        .map(|c| {
            if writable(c) {
                c
            } else {
                replaced += 1;
                replacement
            }
        })
        .collect();
    if replaced > 0 {
        let note = format!(" [{replaced} character(s) this message cannot carry replaced]");
        out.extend(
            note.chars()
                .map(|c| if writable(c) { c } else { replacement }),
        );
    }
    ack.set(path, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_ack_v25_carries_location() {
        let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|1||ORU^R01|9|P|2.5.1\r").unwrap();
        let err = AckError::new(Some(Path::parse("OBX[2]-5[1].1").unwrap()), "102", "bad NM");
        let ack = build(&msg, AckCode::AE, Some(&err), &AckOptions::new("X", "2024")).unwrap();
        let bytes = ack.to_bytes();
        let a = Message::parse(&bytes).unwrap();
        assert_eq!(a.text("MSA-1").unwrap().as_deref(), Some("AE"));
        assert_eq!(a.text("MSA-2").unwrap().as_deref(), Some("9"));
        assert_eq!(a.get("ERR-2").unwrap().unwrap().raw(), b"OBX^2^5^1^1");
        assert_eq!(a.text("ERR-3.1").unwrap().as_deref(), Some("102"));
        assert_eq!(a.text("ERR-8").unwrap().as_deref(), Some("bad NM"));
        assert_eq!(a.text("MSH-9").unwrap().as_deref(), Some("ACK^R01^ACK"));
    }

    #[test]
    fn error_ack_v24_uses_err1() {
        let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|1||ADT^A01|9|P|2.4\r").unwrap();
        let err = AckError::new(Some(Path::parse("PID-3").unwrap()), "101", "no id");
        let ack = build(&msg, AckCode::AE, Some(&err), &AckOptions::new("X", "2024")).unwrap();
        let bytes = ack.to_bytes();
        let a = Message::parse(&bytes).unwrap();
        assert_eq!(
            a.get("ERR-1").unwrap().unwrap().raw(),
            b"PID^1^3^101&&HL70357"
        );
        assert_eq!(a.text("MSA-3").unwrap().as_deref(), Some("no id"));
    }

    /// F3 (probe 12): the ACK to an 8859/1 message copied MSH-18 but wrote
    /// ERR-8 in UTF-8.
    #[test]
    fn ack_text_follows_the_original_charset() {
        let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|1||ADT^A01|9|P|2.5||||||8859/1\r").unwrap();
        let err = AckError::new(None, "102", "René \u{fffd} Zołko");
        let ack = build(&msg, AckCode::AE, Some(&err), &AckOptions::new("X", "2024")).unwrap();
        assert_eq!(ack.charset(), crate::Charset::Latin1);
        let bytes = ack.to_bytes();
        assert!(bytes.windows(5).any(|w| w == b"Ren\xe9 "), "{bytes:?}");
        let a = Message::parse(&bytes).unwrap();
        assert_eq!(
            a.text("ERR-8").unwrap().as_deref(),
            Some("René ? Zo?ko [2 character(s) this message cannot carry replaced]")
        );
    }

    /// An ASCII message (MSH-18 empty or `ASCII`, or one read as ASCII
    /// because its MSH-18 is not supported) gets ASCII error text.
    #[test]
    fn ack_text_to_an_ascii_message_is_ascii() {
        let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|1||ADT^A01|9|P|2.5\r").unwrap();
        let err = AckError::new(None, "102", "Ren\u{e9}");
        let ack = build(&msg, AckCode::AE, Some(&err), &AckOptions::new("X", "2024")).unwrap();
        let bytes = ack.to_bytes();
        assert!(bytes.is_ascii());
        let a = Message::parse(&bytes).unwrap();
        assert_eq!(
            a.text("ERR-8").unwrap().as_deref(),
            Some("Ren? [1 character(s) this message cannot carry replaced]")
        );
    }

    /// F2 (probe 12): an ACK to a message whose MSH-2 is `^~` (no escape
    /// character) wrote `\\S\\` into ERR-8, which read back literally.
    #[test]
    fn ack_text_without_escape_character_is_replaced_and_says_so() {
        let msg = Message::parse(b"MSH|^~|A|B|C|D|1||ADT^A01|9|P|2.5\r").unwrap();
        assert_eq!(msg.delimiters().escape, None);
        let err = AckError::new(None, "100", "bad id \"P^D\" or P|D");
        let ack = build(&msg, AckCode::AR, Some(&err), &AckOptions::new("X", "2024")).unwrap();
        let bytes = ack.to_bytes();
        let a = Message::parse(&bytes).unwrap();
        assert_eq!(
            a.text("ERR-8").unwrap().as_deref(),
            Some("bad id \"P?D\" or P?D [2 character(s) this message cannot carry replaced]")
        );
        assert!(!bytes.windows(3).any(|w| w == b"\\S\\"));
    }
}
