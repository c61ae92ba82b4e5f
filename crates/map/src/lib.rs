//! Mapping between the carecodec codecs and the canonical model.
//!
//! - [`v2`]: HL7 v2 messages (ADT, ORU) → [`carecodec_model::Event`], with a
//!   [`carecodec_model::MappingReport`]: every value's source, every
//!   non-empty leaf not mapped, invalid values and the identity decision.
//! - [`esr`]: ESR Generic Outbound files → [`carecodec_model::Worker`]s
//!   resolved as at a date, with the file's report.
//! - [`fhir`]: the model → UK Core `transaction` Bundles (JSON).
//!
//! Times sent without an offset follow one explicit rule: MSH-7's offset,
//! else a configured zone with DST (default `Europe/London`), never the
//! host's zone.
#![forbid(unsafe_code)]

pub mod esr;
pub mod fhir;
pub mod v2;

/// Why a mapping could not run at all (problems with values are reported in
/// the [`carecodec_model::MappingReport`] instead).
///
/// ```
/// use carecodec_hl7v2::Message;
/// use carecodec_map::{v2::{map_message, V2Options}, MapError};
///
/// // An MSH that stops before MSH-9.
/// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500\r").unwrap();
/// let err = map_message(&msg, &V2Options::default()).unwrap_err();
/// assert_eq!(err, MapError::NotAMessage("no MSH-9 message type"));
/// assert_eq!(err.to_string(), "not a mappable message: no MSH-9 message type");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// The input is not a message this mapping understands.
    #[error("not a mappable message: {0}")]
    NotAMessage(&'static str),
}
