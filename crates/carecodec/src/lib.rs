//! carecodec: NHS healthcare message codecs and one canonical model.
//!
//! This facade re-exports the member crates behind features of the same name:
//!
//! | feature | crate | what |
//! |---|---|---|
//! | `hl7v2` | [`carecodec-hl7v2`](hl7v2) | zero-copy HL7 v2 parser and writer |
//! | `fhir` | [`carecodec-fhir`](fhir) | FHIR R4 / UK Core, lossless JSON and XML |
//! | `esr` | [`carecodec-esr`](esr) | ESR workforce extracts |
//! | `model` | [`carecodec-model`](model) | the canonical model |
//! | `map` | [`carecodec-map`](map) | codecs to and from the model |
//!
//! All five are on by default. One more, off by default: `arbitrary-precision`
//! (with `map`) makes the mapping layer's `serde_json::Value` Bundles keep
//! decimals as text (`7.50`, not `7.5`) by turning on serde_json's
//! `arbitrary_precision` for the whole build; the written JSON keeps the text
//! either way.
#![forbid(unsafe_code)]

#[cfg(feature = "esr")]
#[doc(inline)]
pub use carecodec_esr as esr;
#[cfg(feature = "fhir")]
#[doc(inline)]
pub use carecodec_fhir as fhir;
#[cfg(feature = "hl7v2")]
#[doc(inline)]
pub use carecodec_hl7v2 as hl7v2;
#[cfg(feature = "map")]
#[doc(inline)]
pub use carecodec_map as map;
#[cfg(feature = "model")]
#[doc(inline)]
pub use carecodec_model as model;
