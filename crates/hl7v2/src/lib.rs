//! Zero-copy HL7 v2 (ER7, "pipe and hat") codec.
//!
//! [`Message::parse`] borrows the input bytes and records an offset index of
//! segments and fields in one pass; nothing is copied and nothing is allocated
//! per field. Values are read raw ([`Value::raw`], the bytes as sent) or decoded
//! ([`Value::decoded`], escapes and MSH-18 charset resolved, allocating only
//! when needed). Unmodified messages write back byte for byte; [`MessageBuf`]
//! edits by path and escapes what it sets.
//!
//! Reading is lenient by default and explicit about it: every repair (LF
//! terminators, a byte order mark, MLLP framing, padding, a doubled escape in
//! MSH-2) is reported with its byte offset in [`Message::repairs`];
//! [`ParseOptions::strict`] rejects them instead. Errors carry the byte
//! offset, the line and, where known, the HL7 path, and render with a caret.
//!
//! ```
//! use carecodec_hl7v2::Message;
//!
//! let input = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240102123000+0000||ADT^A01^ADT_A01|MSG0001|P|2.4\r\
//! PID|1||9434765919^^^NHS^NH||SMITH^JOHN^^^MR||19700101|M\r";
//! let msg = Message::parse(input)?;
//! assert_eq!(msg.message_type().unwrap().trigger, "A01");
//! assert_eq!(msg.text("PID-5.1")?.as_deref(), Some("SMITH"));
//! let mut out = Vec::new();
//! msg.write_to(&mut out)?;
//! assert_eq!(out, input);
//! # Ok::<(), carecodec_hl7v2::Error>(())
//! ```
#![forbid(unsafe_code)]

pub mod ack;
pub mod batch;
pub mod error;
pub mod escape;
pub mod message;
pub mod mllp;
pub mod owned;
pub mod path;
pub mod scan;
pub mod types;

pub use error::{Error, ErrorKind, Result};
pub use message::{Level, Message, MessageType, Parts, Presence, Segment, Value};
pub use owned::{MessageBuf, WriteOptions};
pub use path::Path;
pub use scan::{Charset, Delimiters, Index, ParseOptions, Repair, RepairKind};
