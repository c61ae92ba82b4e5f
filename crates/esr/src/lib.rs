//! NHS Electronic Staff Record (ESR) extracts.
//!
//! - [`reader::GoReader`]: the daily Generic Outbound files (`GO_…DAT`:
//!   tilde-delimited, unquoted, ISO-8859-1, `HDR`/`TRL`), one record at a
//!   time in constant memory, checked against per-profile layout tables
//!   ([`layout`]), with every problem positioned and every record accounted
//!   for (read = accepted + rejected).
//! - [`bi::BiReader`]: header-driven BI CSV exports ("staff in post").
//! - [`inbound`]: the inbound element-entry file (`TA_…DAT`), read and written.
//! - [`filename`]: file-name parsing and the ingester's sequence check.
//!
//! What is documented, evidenced or inferred about these formats is set out
//! in `docs/esr.md`.
//!
//! ```
//! use carecodec_esr::reader::{GoOptions, GoReader};
//! use carecodec_esr::value::{EndDate, FieldValue};
//!
//! let file = "HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n\
//! POA~800001~20240401~47121231~3000001~3000001|Staff Nurse|N0A|Elderly Care|~5.2~9901000~Nursing and Midwifery Registered~Staff Nurse~N0A~XR05~XR05|0~Not Applicable~600100~Active~SHARED~~~~~XX9~20240401 000000~Ward 7\n\
//! TRL~3\n";
//! let mut reader = GoReader::new(file.as_bytes(), Some("GO_999_GDW_GOF_20250301_00000101.DAT"), GoOptions::default());
//! let entry = reader.next_record().unwrap();
//! assert!(entry.accepted, "{:?}", entry.problems);
//! let typed = entry.typed().unwrap();
//! assert_eq!(typed.get("Effective To Date"), Some(&FieldValue::End(EndDate::Open)));
//! assert_eq!(typed.text("Job Role"), Some("Staff Nurse"));
//! assert!(reader.next_record().is_none());
//! assert!(reader.summary().complete);
//! ```
#![forbid(unsafe_code)]

pub mod bi;
pub mod filename;
pub mod inbound;
pub mod layout;
pub mod problem;
pub mod reader;
pub mod value;

pub use problem::{Problem, ProblemKind, Severity};
pub use reader::{FileSummary, GoOptions, GoReader, TypedFields, TypedRecord};
