//! The Generic Outbound reader: one record at a time from a [`BufRead`], in
//! constant memory, with the file-level checks and the accounting.
//!
//! ```
//! use carecodec_esr::reader::{GoOptions, GoReader};
//!
//! let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\n\
//! PRD~7000009\n\
//! TRL~3\n";
//! let mut r = GoReader::new(&file[..], Some("GO_999_GDW_GOC_20250302_00000102.DAT"), GoOptions::default());
//! while let Some(entry) = r.next_record() {
//!     assert!(entry.accepted);
//!     assert!(entry.delete);
//!     assert_eq!(entry.record.field(1), Some(&b"7000009"[..]));
//! }
//! let s = r.summary();
//! assert_eq!((s.read, s.accepted, s.rejected), (1, 1, 0));
//! assert!(s.complete);
//! ```

use std::collections::BTreeMap;
use std::io::BufRead;

use chrono::NaiveDateTime;

use crate::filename::FileName;
use crate::layout::{self, FieldSpec, FieldType, Profile, RecordLayout};
use crate::problem::{Problem, ProblemKind, Severity};
use crate::value::{self, Encoding, FieldRef, FieldValue};

/// How to read a GO file.
///
/// ```
/// use carecodec_esr::layout::Profile;
/// use carecodec_esr::reader::{GoOptions, GoReader};
///
/// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
/// let r = GoReader::new(&file[..], None, GoOptions::default());
/// assert_eq!(r.profile(), Profile::Gdw); // from the header's file name
/// let r = GoReader::new(&file[..], None, GoOptions::default().profile(Profile::Exp));
/// assert_eq!(r.profile(), Profile::Exp);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct GoOptions {
    /// The profile; by default taken from the file name (or the header's), else GDW.
    pub profile: Option<Profile>,
    /// The text encoding (ISO-8859-1 unless a BOM says UTF-8, by default).
    pub encoding: Encoding,
    /// Read files concatenated after a trailer as further logical files
    /// instead of stopping with `ContentAfterTrailer`.
    pub split_concatenated: bool,
}

impl GoOptions {
    /// These options, reading files concatenated after a trailer as further
    /// logical files.
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    /// use carecodec_esr::ProblemKind;
    ///
    /// let one = "HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
    /// let two = "HDR~GO_999_GDW_GOC_20250303_00000103.DAT~20250303 021500~999~20250302 000000~20250303 000000~01\nPRD~7000010\nTRL~3\n";
    /// let file = format!("{one}{two}");
    /// let mut r = GoReader::new(file.as_bytes(), None, GoOptions::default().split_concatenated(true));
    /// while r.next_record().is_some() {}
    /// assert_eq!(r.summaries().len(), 2);
    /// assert!(r.summaries().iter().all(|s| s.complete && s.read == 1));
    /// // Without it, the second file is content after the trailer.
    /// let mut r = GoReader::new(file.as_bytes(), None, GoOptions::default());
    /// while r.next_record().is_some() {}
    /// assert!(r.summary().problems.iter().any(|p| p.kind == ProblemKind::ContentAfterTrailer));
    /// ```
    #[must_use]
    pub fn split_concatenated(mut self, yes: bool) -> GoOptions {
        self.split_concatenated = yes;
        self
    }

    /// These options with the profile forced.
    ///
    /// ```
    /// use carecodec_esr::layout::Profile;
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    ///
    /// let r = GoReader::new(&b""[..], None, GoOptions::default().profile(Profile::Exp));
    /// assert_eq!(r.profile(), Profile::Exp);
    /// ```
    #[must_use]
    pub fn profile(mut self, profile: Profile) -> GoOptions {
        self.profile = Some(profile);
        self
    }

    /// These options with the encoding forced.
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    /// use carecodec_esr::value::Encoding;
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7\xe9\nTRL~3\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default().encoding(Encoding::Latin1));
    /// assert_eq!(r.next_record().and_then(|e| e.text(1).map(|t| t.into_owned())).as_deref(), Some("7é"));
    /// ```
    #[must_use]
    pub fn encoding(mut self, encoding: Encoding) -> GoOptions {
        self.encoding = encoding;
        self
    }
}

/// What the header line says.
///
/// ```
/// use carecodec_esr::reader::{GoOptions, GoReader};
///
/// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
/// let mut r = GoReader::new(&file[..], None, GoOptions::default());
/// while r.next_record().is_some() {}
/// let header = r.summary().header.as_ref().ok_or("no header")?;
/// assert_eq!((header.vpd.as_str(), header.version.as_str()), ("999", "01"));
/// assert_eq!(header.created.map(|t| t.to_string()).as_deref(), Some("2025-03-02 02:15:00"));
/// assert!(!header.snapshot_request);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// HDR-1: the file name.
    pub file_name: String,
    /// HDR-2: when the file was created.
    pub created: Option<NaiveDateTime>,
    /// HDR-3: VPD (empty for a snapshot request).
    pub vpd: String,
    /// HDR-4: the previous run (window start).
    pub previous_run: Option<NaiveDateTime>,
    /// HDR-5: this run (window end).
    pub this_run: Option<NaiveDateTime>,
    /// HDR-6: the interface version (`01`).
    pub version: String,
    /// A snapshot request (`HDR~<name>~<timestamp>`), not an extract.
    pub snapshot_request: bool,
}

/// Counts for one record code.
///
/// ```
/// use carecodec_esr::reader::{Counts, GoOptions, GoReader};
///
/// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nPRD~\nTRL~4\n";
/// let mut r = GoReader::new(&file[..], None, GoOptions::default());
/// while r.next_record().is_some() {}
/// let prd: Option<&Counts> = r.summary().per_type.get("PRD");
/// assert_eq!(prd.map(|c| (c.read, c.accepted, c.rejected)), Some((2, 1, 1))); // no key: rejected
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Counts {
    /// Rows read.
    pub read: u64,
    /// Rows accepted.
    pub accepted: u64,
    /// Rows rejected.
    pub rejected: u64,
}

/// The accounting of one logical file: `read == accepted + rejected`.
///
/// ```
/// use carecodec_esr::reader::{GoOptions, GoReader};
///
/// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
/// let mut r = GoReader::new(&file[..], Some("GO_999_GDW_GOC_20250302_00000102.DAT"), GoOptions::default());
/// while r.next_record().is_some() {}
/// let s = r.summary();
/// assert_eq!((s.read, s.accepted, s.rejected, s.trailer), (1, 1, 0, Some(3)));
/// assert_eq!(s.name.as_ref().map(|n| n.sequence), Some(102));
/// assert!(s.complete);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FileSummary {
    /// The transport file name, when given.
    pub file_name: Option<String>,
    /// The parsed file name.
    pub name: Option<FileName>,
    /// The header, when present.
    pub header: Option<Header>,
    /// The trailer's declared count, when present.
    pub trailer: Option<u64>,
    /// The profile the records were read with.
    pub profile: Option<Profile>,
    /// Records read (HDR, TRL and blank lines excluded).
    pub read: u64,
    /// Records accepted.
    pub accepted: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Accepted records that carry warnings.
    pub warned: u64,
    /// Blank lines (reported, not records).
    pub blank_lines: u64,
    /// Per record code.
    pub per_type: BTreeMap<String, Counts>,
    /// File-level problems and file warnings (BOM, blank lines, names…).
    pub problems: Vec<Problem>,
    /// False when the file must not be applied: a file error was found
    /// (missing or wrong trailer, missing header, bad name…).
    pub complete: bool,
    /// Bytes read.
    pub bytes: u64,
}

impl FileSummary {
    /// True when any file-level error (severity `File`) was found.
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    /// use carecodec_esr::ProblemKind;
    ///
    /// let cut = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\n";
    /// let mut r = GoReader::new(&cut[..], None, GoOptions::default());
    /// while r.next_record().is_some() {}
    /// assert!(r.summary().has_file_errors());
    /// assert!(r.summary().problems.iter().any(|p| p.kind == ProblemKind::MissingTrailer));
    /// assert!(!r.summary().complete);
    /// ```
    pub fn has_file_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::File)
    }
}

/// A record's raw fields: byte slices of one line, split on `~` on demand.
///
/// ```
/// use carecodec_esr::reader::RawRecord;
///
/// let rec = RawRecord::new(b"PRD~7000009");
/// assert_eq!(rec.code(), b"PRD");
/// assert_eq!(rec.field(1), Some(&b"7000009"[..]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord<'a> {
    bytes: &'a [u8],
}

impl<'a> RawRecord<'a> {
    /// A record over one line's bytes (terminator excluded).
    ///
    /// ```
    /// use carecodec_esr::reader::RawRecord;
    ///
    /// let rec = RawRecord::new(b"PRD~7000009~");
    /// assert_eq!(rec.field_count(), 3); // a trailing empty field counts
    /// ```
    pub fn new(bytes: &'a [u8]) -> RawRecord<'a> {
        RawRecord { bytes }
    }

    /// The line's bytes.
    ///
    /// ```
    /// use carecodec_esr::reader::RawRecord;
    ///
    /// assert_eq!(RawRecord::new(b"PRD~7000009").bytes(), b"PRD~7000009");
    /// ```
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The record code (field 0).
    ///
    /// ```
    /// use carecodec_esr::reader::RawRecord;
    ///
    /// assert_eq!(RawRecord::new(b"POA~800001~20240401").code(), b"POA");
    /// ```
    pub fn code(&self) -> &'a [u8] {
        self.fields().next().unwrap_or_default()
    }

    /// The fields, in order.
    ///
    /// ```
    /// use carecodec_esr::reader::RawRecord;
    ///
    /// let fields: Vec<&[u8]> = RawRecord::new(b"PRD~7000009~").fields().collect();
    /// assert_eq!(fields, [&b"PRD"[..], b"7000009", b""]);
    /// ```
    pub fn fields(&self) -> Fields<'a> {
        Fields {
            rest: Some(self.bytes),
        }
    }

    /// Field `i` (0-based).
    ///
    /// ```
    /// use carecodec_esr::reader::RawRecord;
    ///
    /// let rec = RawRecord::new(b"PRD~7000009");
    /// assert_eq!(rec.field(0), Some(&b"PRD"[..]));
    /// assert_eq!(rec.field(2), None);
    /// ```
    pub fn field(&self, i: usize) -> Option<&'a [u8]> {
        self.fields().nth(i)
    }

    /// Number of fields.
    ///
    /// ```
    /// use carecodec_esr::reader::RawRecord;
    ///
    /// assert_eq!(RawRecord::new(b"PRD~7000009").field_count(), 2);
    /// ```
    pub fn field_count(&self) -> usize {
        memchr::memchr_iter(b'~', self.bytes).count() + 1
    }
}

/// Iterator over a record's `~`-separated fields (no allocation).
///
/// ```
/// use carecodec_esr::reader::RawRecord;
///
/// let mut fields = RawRecord::new(b"A~~C").fields();
/// assert_eq!(fields.next(), Some(&b"A"[..]));
/// assert_eq!(fields.next(), Some(&b""[..]));
/// assert_eq!(fields.next(), Some(&b"C"[..]));
/// assert_eq!(fields.next(), None);
/// ```
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        // A plain scan: fields are short (a few bytes on average), where a
        // SIMD search's set-up costs more than it saves (measured: about twice
        // as fast as `memchr` per field on the benchmark file).
        match rest.iter().position(|&b| b == b'~') {
            Some(p) => {
                self.rest = rest.get(p + 1..);
                rest.get(..p)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// One record read, with its verdict.
///
/// ```
/// use carecodec_esr::reader::{GoOptions, GoReader};
///
/// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
/// let mut r = GoReader::new(&file[..], None, GoOptions::default());
/// let e = r.next_record().ok_or("no record")?;
/// assert_eq!((e.line, e.offset), (2, 96)); // after the 96-byte HDR line
/// assert!(e.delete && e.accepted && e.problems.is_empty());
/// assert_eq!(e.layout.map(|l| l.code), Some("PRA")); // what PRD deletes
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Entry<'r> {
    /// 1-based line in the file.
    pub line: u64,
    /// Byte offset of the line in the file.
    pub offset: u64,
    /// The raw fields.
    pub record: RawRecord<'r>,
    /// A `…D` delete row.
    pub delete: bool,
    /// The layout the row was checked against (for a delete, the deleted record's; for a line
    /// longer than [`MAX_LINE_BYTES`], its record code's, its fields not checked).
    pub layout: Option<&'static RecordLayout>,
    /// Accepted (no error) or rejected.
    pub accepted: bool,
    /// The row's problems (warnings on an accepted row, errors on a rejected one).
    pub problems: &'r [Problem],
    utf8: bool,
    /// Where each field starts and ends in the line (split once per line).
    bounds: &'r [(usize, usize)],
}

/// A record with every field typed and named.
///
/// [`Entry::typed`] builds a new one per call; [`Entry::typed_into`] refills
/// one you keep, reusing its buffers (no allocation per field once warm).
///
/// ```
/// use carecodec_esr::reader::{GoOptions, GoReader};
///
/// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
/// let mut r = GoReader::new(&file[..], None, GoOptions::default());
/// let rec = r.next_record().and_then(|e| e.typed()).ok_or("no record")?;
/// assert_eq!((rec.code.as_str(), rec.entity, rec.line, rec.delete), ("PRD", "person", 2, true));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TypedRecord {
    /// Record code (`PRA`, `PRD`, …).
    pub code: String,
    /// What it describes (`person`).
    pub entity: &'static str,
    /// 1-based line.
    pub line: u64,
    /// A delete row.
    pub delete: bool,
    /// Every field by name, in layout order (a delete row: code and key).
    pub fields: Vec<(&'static str, FieldValue)>,
    /// Buffers of replaced values, reused by `typed_into` (not part of the value).
    pool: value::Pool,
}

impl TypedRecord {
    /// The value of field `name`.
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    /// use carecodec_esr::value::FieldValue;
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default());
    /// let rec = r.next_record().and_then(|e| e.typed()).ok_or("no record")?;
    /// assert_eq!(rec.get("Person ID"), Some(&FieldValue::Text("7000009".into())));
    /// assert_eq!(rec.get("No Such Field"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The text of field `name` (text, decimal and flexfield values as written).
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default());
    /// let rec = r.next_record().and_then(|e| e.typed()).ok_or("no record")?;
    /// assert_eq!(rec.text("Person ID"), Some("7000009"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            FieldValue::Text(s) | FieldValue::Decimal(s) => Some(s),
            _ => None,
        }
    }
}

/// The typed fields of one record, by name, borrowing from its line (see
/// [`Entry::typed_fields`]).
///
/// ```
/// use carecodec_esr::reader::{GoOptions, GoReader};
///
/// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
/// let mut r = GoReader::new(&file[..], None, GoOptions::default());
/// let e = r.next_record().ok_or("no record")?;
/// let fields = e.typed_fields().ok_or("unknown code")?;
/// assert_eq!(fields.len(), 2); // a delete row: record type and key
/// let names: Vec<&str> = fields.map(|(name, _)| name).collect();
/// assert_eq!(names[1], "Person ID");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TypedFields<'r> {
    entity: &'static str,
    line: &'r [u8],
    utf8: bool,
    /// A delete row's record type, given first.
    head: Option<FieldRef<'r>>,
    specs: std::slice::Iter<'static, FieldSpec>,
    bounds: std::slice::Iter<'r, (usize, usize)>,
}

impl TypedFields<'_> {
    /// What the record describes (`person`).
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default());
    /// let e = r.next_record().ok_or("no record")?;
    /// assert_eq!(e.typed_fields().map(|f| f.entity()), Some("person"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn entity(&self) -> &'static str {
        self.entity
    }
}

impl<'r> Iterator for TypedFields<'r> {
    type Item = (&'static str, FieldRef<'r>);

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(code) = self.head.take() {
            return Some(("Record Type", code));
        }
        let spec = self.specs.next()?;
        let &(s, e) = self.bounds.next()?;
        let raw = self.line.get(s..e).unwrap_or_default();
        Some((spec.name, value::typed_ref(spec.ty, raw, self.utf8)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.specs.len().min(self.bounds.len()) + usize::from(self.head.is_some());
        (n, Some(n))
    }
}

impl ExactSizeIterator for TypedFields<'_> {}

impl<'r> Entry<'r> {
    /// The record typed by its layout (`None` for an unknown record code).
    ///
    /// A new record per call; to type many rows, keep one [`TypedRecord`] and
    /// use [`Entry::typed_into`].
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nXYZ~1\nTRL~3\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default());
    /// let e = r.next_record().ok_or("no record")?;
    /// assert!(!e.accepted);
    /// assert!(e.typed().is_none()); // unknown record code
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn typed(&self) -> Option<TypedRecord> {
        let mut out = TypedRecord::default();
        self.typed_into(&mut out).then_some(out)
    }

    /// Types the record into `out`, replacing its contents and reusing its
    /// buffers; the result equals [`Entry::typed`]'s. Returns false, leaving
    /// `out` unchanged, for an unknown record code.
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader, TypedRecord};
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\n\
    /// PRD~7000009\nPRD~7000010\nTRL~4\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default());
    /// let mut rec = TypedRecord::default();
    /// let mut keys = Vec::new();
    /// while let Some(e) = r.next_record() {
    ///     assert!(e.typed_into(&mut rec));
    ///     assert_eq!(Some(&rec), e.typed().as_ref());
    ///     keys.push(rec.text("Person ID").map(str::to_owned));
    /// }
    /// assert_eq!(keys, [Some("7000009".to_owned()), Some("7000010".to_owned())]);
    /// ```
    pub fn typed_into(&self, out: &mut TypedRecord) -> bool {
        let Some(fields_ref) = self.typed_fields() else {
            return false;
        };
        let TypedRecord {
            code,
            entity,
            line,
            delete,
            fields,
            pool,
        } = out;
        for (_, v) in fields.drain(..) {
            pool.recycle(v);
        }
        code.clear();
        value::decode_into(self.record.code(), self.utf8, code);
        *entity = fields_ref.entity;
        *line = self.line;
        *delete = self.delete;
        // Text decoded straight into recycled buffers (no borrowed value first).
        let (specs, bounds, line) = (fields_ref.specs, fields_ref.bounds, fields_ref.line);
        fields.reserve(specs.len() + 1);
        if let Some(FieldRef::Text(code)) = fields_ref.head {
            let mut s = pool.string(code.len());
            s.push_str(&code);
            fields.push(("Record Type", FieldValue::Text(s)));
        }
        for (spec, &(s, e)) in specs.zip(bounds) {
            let raw = line.get(s..e).unwrap_or_default();
            fields.push((
                spec.name,
                value::typed_pooled(spec.ty, raw, self.utf8, pool),
            ));
        }
        true
    }

    /// Every field typed and named, in layout order, borrowing text from the
    /// line: no allocation unless a value must be decoded (ISO-8859-1 bytes
    /// above 0x7F). A delete row gives its record type and key. `None` for an
    /// unknown record code. This is the fast way to read typed values;
    /// [`FieldRef::into_owned`] keeps one.
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    /// use carecodec_esr::value::FieldRef;
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\n\
    /// PRD~7000009\nTRL~3\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default());
    /// let e = r.next_record().unwrap();
    /// let fields: Vec<_> = e.typed_fields().unwrap().collect();
    /// assert_eq!(fields[1], ("Person ID", FieldRef::Text("7000009".into())));
    /// // The same values as the owned record.
    /// let owned = e.typed().unwrap();
    /// assert!(fields.into_iter().zip(&owned.fields).all(|(a, b)| a.0 == b.0 && a.1.into_owned() == b.1));
    /// ```
    pub fn typed_fields(&self) -> Option<TypedFields<'r>> {
        let layout = self.layout?;
        let line = self.record.bytes();
        Some(if self.delete {
            let key = layout.fields.get(layout.key)?;
            TypedFields {
                entity: layout.entity,
                line,
                utf8: self.utf8,
                head: Some(FieldRef::Text(value::decode(self.record.code(), self.utf8))),
                specs: std::slice::from_ref(key).iter(),
                bounds: self.bounds.get(1..2).unwrap_or_default().iter(),
            }
        } else {
            TypedFields {
                entity: layout.entity,
                line,
                utf8: self.utf8,
                head: None,
                specs: layout.fields.iter(),
                bounds: self.bounds.iter(),
            }
        })
    }

    /// Field `i` decoded as text in the file's encoding.
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default());
    /// let e = r.next_record().ok_or("no record")?;
    /// assert_eq!(e.text(1).as_deref(), Some("7000009"));
    /// assert_eq!(e.text(5), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn text(&self, i: usize) -> Option<std::borrow::Cow<'_, str>> {
        self.field(i).map(|b| value::decode(b, self.utf8))
    }

    /// Field `i` (0-based) as raw bytes: the same as `record.field(i)`, but
    /// without re-splitting the line (the reader split it once).
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default());
    /// let e = r.next_record().ok_or("no record")?;
    /// assert_eq!(e.field(1), Some(&b"7000009"[..]));
    /// assert_eq!(e.field(1), e.record.field(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn field(&self, i: usize) -> Option<&'r [u8]> {
        let &(s, e) = self.bounds.get(i)?;
        self.record.bytes().get(s..e)
    }

    /// Byte offset in the file of field `i`.
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default());
    /// let e = r.next_record().ok_or("no record")?;
    /// let at = e.field_offset(1).ok_or("no field")?;
    /// assert_eq!(at, e.offset + 4);
    /// assert_eq!(&file[at as usize..at as usize + 7], b"7000009");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn field_offset(&self, i: usize) -> Option<u64> {
        self.bounds.get(i).map(|&(s, _)| self.offset + s as u64)
    }
}

/// The longest line kept: a longer one (a binary file, a lost terminator) is rejected and the
/// rest of it skipped, so memory stays bounded whatever the input.
///
/// ```
/// use carecodec_esr::reader::{GoOptions, GoReader, MAX_LINE_BYTES};
/// use carecodec_esr::ProblemKind;
///
/// let mut file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~".to_vec();
/// file.resize(file.len() + MAX_LINE_BYTES, b'9');
/// file.extend_from_slice(b"\nPRD~7000009\nTRL~4\n");
/// let mut r = GoReader::new(&file[..], None, GoOptions::default());
/// let long = r.next_record().ok_or("no record")?;
/// assert!(!long.accepted);
/// assert!(long.problems.iter().any(|p| matches!(p.kind, ProblemKind::LineTooLong(_))));
/// assert!(r.next_record().is_some_and(|e| e.accepted)); // the next line is read normally
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// `BufRead::read_until(end, ..)` with a SIMD search for the terminator (`end`, or `alt` too
/// when given), keeping at most `max` bytes of the line (the rest is consumed and dropped).
/// Returns the bytes consumed and whether the line was cut.
fn read_line_into<R: BufRead>(
    reader: &mut R,
    line: &mut Vec<u8>,
    end: u8,
    alt: Option<u8>,
    max: usize,
) -> std::io::Result<(usize, bool)> {
    let mut total = 0;
    let mut cut = false;
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok((total, cut));
        }
        let found = match alt {
            Some(alt) => memchr::memchr2(end, alt, buf),
            None => memchr::memchr(end, buf),
        };
        let (used, done) = match found {
            Some(p) => (p + 1, true),
            None => (buf.len(), false),
        };
        let room = max.saturating_sub(line.len());
        cut |= used > room && !(done && used == room + 1);
        line.extend_from_slice(buf.get(..used.min(room)).unwrap_or_default());
        reader.consume(used);
        total += used;
        if done {
            return Ok((total, cut));
        }
    }
}

/// The `(start, end)` of every `~`-separated field of `line`.
/// A control byte that has no place in a value: below 0x20 and not TAB.
fn is_control(b: u8) -> bool {
    b < 0x20 && b != b'\t'
}

fn split_fields(line: &[u8], bounds: &mut Vec<(usize, usize)>) {
    bounds.clear();
    let mut start = 0;
    // A plain scan (see `Fields::next`).
    for (i, &b) in line.iter().enumerate() {
        if b == b'~' {
            bounds.push((start, i));
            start = i + 1;
        }
    }
    bounds.push((start, line.len()));
}

#[derive(Debug, Default)]
struct State {
    nonblank: u64,
    header_seen: bool,
    trailer_seen: bool,
    stopped: bool,
    finished: bool,
}

/// Reads Generic Outbound records one at a time.
///
/// ```
/// use carecodec_esr::reader::{GoOptions, GoReader};
///
/// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nPRD~7000010\nTRL~4\n";
/// let mut r = GoReader::new(&file[..], None, GoOptions::default());
/// let mut keys = Vec::new();
/// while let Some(e) = r.next_record() {
///     keys.push(e.text(1).map(|t| t.into_owned()));
/// }
/// assert_eq!(keys, [Some("7000009".to_owned()), Some("7000010".to_owned())]);
/// ```
#[derive(Debug)]
pub struct GoReader<R> {
    reader: R,
    opts: GoOptions,
    transport: Option<String>,
    line: Vec<u8>,
    line_no: u64,
    pos: u64,
    utf8: bool,
    profile: Profile,
    version: String,
    state: State,
    summary: FileSummary,
    done: Vec<FileSummary>,
    row_problems: Vec<Problem>,
    scratch: Vec<(Severity, ProblemKind)>,
    bounds: Vec<(usize, usize)>,
    eof: bool,
    /// Lines end with a bare CR (found on line 1): split on CR.
    cr_only: bool,
    /// The current line was longer than [`MAX_LINE_BYTES`] and cut.
    cut: bool,
}

impl<R: BufRead> GoReader<R> {
    /// A reader over `reader`; `file_name` is the transport file name (checked
    /// against the header and used to pick the profile).
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    /// use carecodec_esr::ProblemKind;
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
    /// // The transport name differs from the one in the header.
    /// let mut r = GoReader::new(&file[..], Some("GO_999_GDW_GOC_20250302_00000103.DAT"), GoOptions::default());
    /// while r.next_record().is_some() {}
    /// assert!(r.summary().problems.iter().any(|p| matches!(p.kind, ProblemKind::HeaderFileNameMismatch { .. })));
    /// ```
    pub fn new(reader: R, file_name: Option<&str>, opts: GoOptions) -> GoReader<R> {
        let name = file_name.map(FileName::parse);
        let profile = opts
            .profile
            .or_else(|| {
                name.as_ref()
                    .and_then(|n| n.as_ref().ok())
                    .and_then(|n| Profile::from_code(&n.sub_file))
            })
            .unwrap_or(Profile::Gdw);
        let mut summary = FileSummary {
            file_name: file_name.map(str::to_owned),
            complete: true,
            profile: Some(profile),
            ..FileSummary::default()
        };
        match name {
            Some(Ok(n)) => {
                if let Some(d) = n.defect {
                    summary.problems.push(
                        Problem::new(Severity::File, ProblemKind::BadFileName(d.into()), 0, 0)
                            .with_raw(file_name.unwrap_or_default().as_bytes()),
                    );
                    summary.complete = false;
                }
                summary.name = Some(n);
            }
            Some(Err(why)) => {
                summary.problems.push(
                    Problem::new(Severity::File, ProblemKind::BadFileName(why.into()), 0, 0)
                        .with_raw(file_name.unwrap_or_default().as_bytes()),
                );
                summary.complete = false;
            }
            None => {}
        }
        GoReader {
            reader,
            utf8: opts.encoding == Encoding::Utf8,
            opts,
            transport: file_name.map(str::to_owned),
            line: Vec::with_capacity(1024),
            line_no: 0,
            pos: 0,
            profile,
            version: "01".to_owned(),
            state: State::default(),
            summary,
            done: Vec::new(),
            row_problems: Vec::new(),
            scratch: Vec::new(),
            bounds: Vec::with_capacity(64),
            eof: false,
            cr_only: false,
            cut: false,
        }
    }

    fn file_problem(&mut self, severity: Severity, kind: ProblemKind, offset: u64) {
        if severity == Severity::File {
            self.summary.complete = false;
        }
        self.summary
            .problems
            .push(Problem::new(severity, kind, self.line_no, offset));
    }

    /// A file-level problem about the current line: the line is its raw
    /// value, its first field the record.
    fn line_problem(&mut self, severity: Severity, kind: ProblemKind, offset: u64) {
        if severity == Severity::File {
            self.summary.complete = false;
        }
        let mut p = Problem::new(severity, kind, self.line_no, offset).with_raw(&self.line);
        let code = RawRecord::new(&self.line).code();
        if !code.trim_ascii().is_empty() {
            p = p.in_record(code);
        }
        self.summary.problems.push(p);
    }

    /// Reads the next line into `self.line` (terminator stripped). `None` at
    /// EOF, else the line's offset.
    fn read_line(&mut self) -> Option<u64> {
        self.line.clear();
        if self.cr_only {
            return self.read_cr_line();
        }
        // Line 1 also stops at a CR: one followed by anything but an LF means
        // the file's lines end with CR alone (a transfer converted them).
        let first = self.line_no == 0;
        let read = read_line_into(
            &mut self.reader,
            &mut self.line,
            b'\n',
            first.then_some(b'\r'),
            MAX_LINE_BYTES,
        );
        let mut cr_only = false;
        let read = read.map(|(n, cut)| {
            self.cut = cut;
            if !first || self.line.last() != Some(&b'\r') {
                return n;
            }
            match self.reader.fill_buf() {
                Ok(next) if next.first() == Some(&b'\n') => {
                    self.reader.consume(1);
                    self.line.push(b'\n');
                    n + 1
                }
                Ok(next) => {
                    cr_only = !next.is_empty();
                    n
                }
                Err(_) => n,
            }
        });
        let offset = self.advance(read)?;
        if cr_only {
            // Read as line ends from here on, so the file is not one long
            // bad header.
            self.cr_only = true;
            let at = self.pos - 1;
            self.file_problem(Severity::Warning, ProblemKind::CrLineEnds, at);
        }
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        if self.line_no == 1 && self.line.starts_with(b"\xEF\xBB\xBF") {
            self.line.drain(..3);
            if self.opts.encoding != Encoding::Latin1 {
                self.utf8 = true;
            }
            self.file_problem(Severity::Warning, ProblemKind::ByteOrderMark, 0);
        }
        Some(offset)
    }

    /// Reads the next CR-terminated line into `self.line`. A stray LF at
    /// either end of the line is dropped. `None` at EOF.
    fn read_cr_line(&mut self) -> Option<u64> {
        let read = read_line_into(
            &mut self.reader,
            &mut self.line,
            b'\r',
            None,
            MAX_LINE_BYTES,
        );
        let read = read.map(|(n, cut)| {
            self.cut = cut;
            n
        });
        let offset = self.advance(read)?;
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
        }
        if self.line.first() == Some(&b'\n') {
            self.line.remove(0);
        }
        Some(offset)
    }

    /// Accounts for a line of `read` bytes: an I/O error is a file problem
    /// and ends the read, nothing read is the end; else the line's offset
    /// (the position and line number move past it).
    fn advance(&mut self, read: std::io::Result<usize>) -> Option<u64> {
        let n = match read {
            Ok(n) => n,
            Err(e) => {
                self.file_problem(Severity::File, ProblemKind::Io(e.to_string()), self.pos);
                self.eof = true;
                return None;
            }
        };
        if n == 0 {
            self.eof = true;
            return None;
        }
        let offset = self.pos;
        self.pos += n as u64;
        self.line_no += 1;
        Some(offset)
    }

    /// Reads the next record. `None` at the end; the summary is then final.
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    /// use carecodec_esr::ProblemKind;
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~\nPRD~7000010\nTRL~4\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default());
    /// let bad = r.next_record().ok_or("no record")?;
    /// assert!(!bad.accepted);
    /// assert_eq!(bad.problems[0].kind, ProblemKind::MissingKey);
    /// assert_eq!(bad.problems[0].line, 2);
    /// assert!(r.next_record().is_some_and(|e| e.accepted)); // one bad row does not end the file
    /// assert!(r.next_record().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_record(&mut self) -> Option<Entry<'_>> {
        loop {
            if self.eof || self.state.stopped {
                self.finish_file();
                return None;
            }
            let Some(offset) = self.read_line() else {
                self.finish_file();
                return None;
            };
            if self.line.iter().all(|b| b.is_ascii_whitespace()) {
                self.summary.blank_lines += 1;
                self.line_problem(Severity::Warning, ProblemKind::BlankLine, offset);
                continue;
            }
            let code = self.line.get(..3).unwrap_or(&self.line);
            let is_hdr = code == b"HDR" && matches!(self.line.get(3), None | Some(b'~'));
            let is_trl = code == b"TRL" && matches!(self.line.get(3), None | Some(b'~'));
            if self.state.trailer_seen {
                if is_hdr && self.opts.split_concatenated {
                    self.start_next_file();
                } else {
                    self.line_problem(Severity::File, ProblemKind::ContentAfterTrailer, offset);
                    self.state.stopped = true;
                    continue;
                }
            }
            self.state.nonblank += 1;
            if is_hdr {
                if self.state.header_seen {
                    self.line_problem(Severity::File, ProblemKind::DuplicateHeader, offset);
                } else {
                    self.read_header(offset);
                }
                continue;
            }
            if self.state.nonblank == 1 {
                self.line_problem(Severity::File, ProblemKind::MissingHeader, offset);
            }
            if is_trl {
                self.read_trailer(offset);
                continue;
            }
            return Some(self.record(offset));
        }
    }

    fn start_next_file(&mut self) {
        let name = self.summary.file_name.clone();
        let next = FileSummary {
            file_name: name,
            complete: true,
            profile: Some(self.profile),
            ..FileSummary::default()
        };
        let prev = std::mem::replace(&mut self.summary, next);
        self.done.push(prev);
        self.state = State::default();
    }

    fn read_header(&mut self, offset: u64) {
        self.state.header_seen = true;
        let fields: Vec<String> = self
            .line
            .split(|&b| b == b'~')
            .map(|f| value::decode(f, self.utf8).into_owned())
            .collect();
        let ts = |i: usize| {
            fields
                .get(i)
                .and_then(|f| value::parse_timestamp(f.as_bytes()))
        };
        let get = |i: usize| fields.get(i).cloned().unwrap_or_default();
        let snapshot_request = fields.len() == 3;
        if fields.len() != 7 && !snapshot_request {
            self.line_problem(
                Severity::File,
                ProblemKind::BadHeader("HDR has not 7 fields"),
                offset,
            );
        }
        // HDR-2, the creation timestamp, dates the extract (a consumer's
        // default as-at date): blank or malformed, the file is in doubt.
        if fields.len() == 7 && ts(2).is_none() {
            self.line_problem(
                Severity::File,
                ProblemKind::BadHeader("HDR-2 (file creation) is not a YYYYMMDD HHMMSS timestamp"),
                offset,
            );
        }
        let header = Header {
            file_name: get(1),
            created: ts(2),
            vpd: if snapshot_request {
                String::new()
            } else {
                get(3)
            },
            previous_run: ts(4),
            this_run: ts(5),
            version: get(6),
            snapshot_request,
        };
        if let Some(t) = &self.transport {
            let base = t.rsplit(['/', '\\']).next().unwrap_or(t);
            if base != header.file_name {
                let p = Problem::new(
                    Severity::Warning,
                    ProblemKind::HeaderFileNameMismatch {
                        header: header.file_name.clone(),
                        actual: base.to_owned(),
                    },
                    self.line_no,
                    offset + 4,
                )
                .in_record(b"HDR")
                .in_field(1, Some("File Name"), header.file_name.as_bytes());
                self.summary.problems.push(p);
            }
        }
        if let Some(name) = &self.summary.name {
            if !snapshot_request && header.vpd != name.vpd {
                let kind = ProblemKind::VpdMismatch {
                    header: header.vpd.clone(),
                    name: name.vpd.clone(),
                };
                let at = offset
                    + RawRecord::new(&self.line)
                        .fields()
                        .take(3)
                        .map(|f| f.len() as u64 + 1)
                        .sum::<u64>();
                let p = Problem::new(Severity::File, kind, self.line_no, at)
                    .in_record(b"HDR")
                    .in_field(3, Some("VPD"), header.vpd.as_bytes());
                self.summary.complete = false;
                self.summary.problems.push(p);
            }
        }
        if self.opts.profile.is_none() && self.summary.name.is_none() {
            if let Ok(n) = FileName::parse(&header.file_name) {
                if let Some(p) = Profile::from_code(&n.sub_file) {
                    self.profile = p;
                    self.summary.profile = Some(p);
                }
            }
        }
        if !header.version.is_empty() && layout::layouts(self.profile, &header.version).is_some() {
            self.version = header.version.clone();
        }
        self.summary.header = Some(header);
    }

    fn read_trailer(&mut self, offset: u64) {
        self.state.trailer_seen = true;
        let raw = self.line.get(4..).unwrap_or_default();
        let text = String::from_utf8_lossy(raw).trim().to_owned();
        match text.parse::<u64>() {
            Ok(n) => {
                self.summary.trailer = Some(n);
                if n != self.state.nonblank {
                    let kind = ProblemKind::TrailerCountMismatch {
                        declared: n,
                        actual: self.state.nonblank,
                    };
                    self.line_problem(Severity::File, kind, offset);
                }
            }
            Err(_) => self.line_problem(Severity::File, ProblemKind::BadTrailer(text), offset),
        }
    }

    fn finish_file(&mut self) {
        if self.state.finished {
            return;
        }
        self.state.finished = true;
        let snapshot = self
            .summary
            .header
            .as_ref()
            .is_some_and(|h| h.snapshot_request);
        if self.state.nonblank == 0 {
            self.file_problem(Severity::File, ProblemKind::MissingHeader, self.pos);
        } else if !self.state.trailer_seen && !snapshot {
            self.file_problem(Severity::File, ProblemKind::MissingTrailer, self.pos);
        }
        self.summary.bytes = self.pos;
    }

    fn record(&mut self, offset: u64) -> Entry<'_> {
        self.row_problems.clear();
        split_fields(&self.line, &mut self.bounds);
        // A copy of the record code (codes are three bytes; longer junk is cut
        // for the per-type counts only), so `self` can be borrowed mutably below.
        let mut code_buf = [0u8; 16];
        let full_code = RawRecord::new(&self.line).code();
        let code_len = full_code.len().min(code_buf.len());
        if let (Some(dst), Some(src)) = (code_buf.get_mut(..code_len), full_code.get(..code_len)) {
            dst.copy_from_slice(src);
        }
        let code = code_buf.get(..code_len).unwrap_or_default();
        let rec = RawRecord::new(&self.line);
        let line_no = self.line_no;
        let mut delete = false;
        let mut found_layout = None;
        let push = |probs: &mut Vec<Problem>, sev, kind, field_off: u64| {
            probs.push(Problem::new(sev, kind, line_no, offset + field_off).in_record(code));
        };
        if self.cut {
            let p = Problem::new(
                Severity::Error,
                ProblemKind::LineTooLong(MAX_LINE_BYTES),
                line_no,
                offset,
            )
            .in_record(code)
            .with_raw(&self.line);
            self.row_problems.push(p);
        }
        let del = if self.cut {
            None
        } else if code.len() == 3 && code.last() == Some(&b'D') {
            std::str::from_utf8(code)
                .ok()
                .and_then(|c| layout::deleted_layout(self.profile, &self.version, c))
        } else {
            None
        };
        if let Some(l) = del {
            delete = true;
            found_layout = Some(l);
            let n = rec.field_count();
            let key = rec.field(1).unwrap_or_default();
            if n != 2 {
                push(
                    &mut self.row_problems,
                    Severity::Error,
                    ProblemKind::FieldCount {
                        code: String::from_utf8_lossy(code).into_owned(),
                        expected: 2,
                        found: n,
                    },
                    0,
                );
            } else if key.trim_ascii().is_empty() {
                push(
                    &mut self.row_problems,
                    Severity::Error,
                    ProblemKind::MissingKey,
                    4,
                );
                if let Some(p) = self.row_problems.last_mut() {
                    *p = p
                        .clone()
                        .in_field(1, l.fields.get(l.key).map(|f| f.name), key);
                }
            }
        } else {
            let l = std::str::from_utf8(code)
                .ok()
                .and_then(|c| layout::layout(self.profile, &self.version, c));
            match l {
                // A cut line keeps its record's layout (its fields named up
                // to the cut) but is not checked: it is rejected already.
                Some(l) if self.cut => found_layout = Some(l),
                None if self.cut => {}
                None => {
                    let p = Problem::new(
                        Severity::Error,
                        ProblemKind::UnknownRecordType(String::from_utf8_lossy(code).into_owned()),
                        line_no,
                        offset,
                    )
                    .in_record(code)
                    .with_raw(&self.line);
                    self.row_problems.push(p);
                }
                Some(l) => {
                    found_layout = Some(l);
                    self.check_fields(l, offset);
                }
            }
        }
        let accepted = !self
            .row_problems
            .iter()
            .any(|p| p.severity >= Severity::Error);
        // The key allocates only the first time a code is seen.
        let key = String::from_utf8_lossy(code);
        let counts = match self.summary.per_type.get_mut(key.as_ref()) {
            Some(c) => c,
            None => self.summary.per_type.entry(key.into_owned()).or_default(),
        };
        counts.read += 1;
        if accepted {
            counts.accepted += 1;
        } else {
            counts.rejected += 1;
        }
        self.summary.read += 1;
        if accepted {
            self.summary.accepted += 1;
            if !self.row_problems.is_empty() {
                self.summary.warned += 1;
            }
        } else {
            self.summary.rejected += 1;
        }
        Entry {
            line: line_no,
            offset,
            record: RawRecord::new(&self.line),
            delete,
            layout: found_layout,
            accepted,
            problems: &self.row_problems,
            utf8: self.utf8,
            bounds: &self.bounds,
        }
    }

    fn check_fields(&mut self, l: &'static RecordLayout, offset: u64) {
        let line = &self.line[..];
        let code = self
            .bounds
            .first()
            .and_then(|&(s, e)| line.get(s..e))
            .unwrap_or_default();
        let n = self.bounds.len();
        if n != l.fields.len() {
            let p = Problem::new(
                Severity::Error,
                ProblemKind::FieldCount {
                    code: l.code.to_owned(),
                    expected: l.fields.len(),
                    found: n,
                },
                self.line_no,
                offset,
            )
            .in_record(code)
            .with_raw(line);
            self.row_problems.push(p);
            return;
        }
        let end_index = l.start.map(|s| s + 1);
        // The start date's raw bytes when it is a valid date.
        let mut start: Option<&[u8]> = None;
        for (i, (spec, &(s, e))) in l.fields.iter().zip(&self.bounds).enumerate() {
            let raw = line.get(s..e).unwrap_or_default();
            self.scratch.clear();
            value::check(spec.ty, spec.required, raw, self.utf8, &mut self.scratch);
            if Some(i) == l.start && self.scratch.is_empty() && !raw.is_empty() {
                start = Some(raw);
            }
            if spec.ty == FieldType::End && Some(i) == end_index && self.scratch.is_empty() {
                // Valid `YYYYMMDD` dates order as their bytes do.
                if let Some(st) = start {
                    if raw.len() == 8 && raw != value::OPEN_END && st > raw {
                        self.scratch
                            .push((Severity::Error, ProblemKind::StartAfterEnd));
                    }
                }
            }
            if !self.scratch.is_empty() {
                for (sev, kind) in self.scratch.drain(..) {
                    self.row_problems.push(
                        Problem::new(sev, kind, self.line_no, offset + s as u64)
                            .in_record(code)
                            .in_field(i, Some(spec.name), raw),
                    );
                }
            }
        }
        // One pass over the line (vectorised, no early exit); fields only when it finds one.
        if line.iter().fold(false, |any, &b| any | is_control(b)) {
            for (i, (spec, &(s, e))) in l.fields.iter().zip(&self.bounds).enumerate() {
                let raw = line.get(s..e).unwrap_or_default();
                if let Some((at, &b)) = raw.iter().enumerate().find(|&(_, &b)| is_control(b)) {
                    self.row_problems.push(
                        Problem::new(
                            Severity::Warning,
                            ProblemKind::ControlCharacter(b),
                            self.line_no,
                            offset + (s + at) as u64,
                        )
                        .in_record(code)
                        .in_field(i, Some(spec.name), raw),
                    );
                }
            }
        }
        self.cross_field_checks(l, offset);
    }

    fn cross_field_checks(&mut self, l: &'static RecordLayout, offset: u64) {
        let line = &self.line[..];
        let bounds = &self.bounds;
        let field = |i: usize| {
            bounds
                .get(i)
                .and_then(|&(s, e)| line.get(s..e).map(|raw| (raw, offset + s as u64)))
        };
        let code = field(0).map(|(c, _)| c).unwrap_or_default();
        let problem = |kind, i: usize, (raw, at): (&[u8], u64)| {
            Problem::new(Severity::Warning, kind, self.line_no, at)
                .in_record(code)
                .in_field(i, l.fields.get(i).map(|f| f.name), raw)
        };
        match l.code {
            "ASA" => {
                let num = |i| {
                    field(i)
                        .and_then(|(f, _)| std::str::from_utf8(f).ok())
                        .and_then(|s| s.parse::<f64>().ok())
                };
                if let (Some(h), Some(c), Some(hours)) = (num(22), num(24), field(22)) {
                    if h > c && c > 0.0 {
                        let p = problem(ProblemKind::HoursAboveContract, 22, hours);
                        self.row_problems.push(p);
                    }
                }
            }
            "ETA" => {
                let text = |i| field(i).map(|(f, _)| value::decode(f, self.utf8));
                if text(3).as_deref().map(str::trim) == Some("NHS Regs and Memships") {
                    let body = text(5).unwrap_or_default();
                    if let Some(number) = field(6) {
                        let decoded = value::decode(number.0, self.utf8);
                        if value::valid_registration(&body, &decoded) == Some(false) {
                            let kind =
                                ProblemKind::RegistrationNotANumber(decoded.trim().to_owned());
                            let p = problem(kind, 6, number);
                            self.row_problems.push(p);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The accounting of the current (or, after the end, last) logical file.
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default());
    /// while r.next_record().is_some() {}
    /// assert_eq!((r.summary().read, r.summary().accepted), (1, 1));
    /// assert_eq!(r.summary().bytes, file.len() as u64);
    /// ```
    pub fn summary(&self) -> &FileSummary {
        &self.summary
    }

    /// Every logical file's accounting (more than one only when splitting
    /// concatenated files), once the reader has returned `None`.
    ///
    /// ```
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    ///
    /// let file = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\nPRD~7000009\nTRL~3\n";
    /// let mut r = GoReader::new(&file[..], None, GoOptions::default());
    /// while r.next_record().is_some() {}
    /// assert_eq!(r.summaries(), [r.summary().clone()]); // one logical file
    /// ```
    pub fn summaries(&self) -> Vec<FileSummary> {
        let mut all = self.done.clone();
        all.push(self.summary.clone());
        all
    }

    /// The profile in use.
    ///
    /// ```
    /// use carecodec_esr::layout::Profile;
    /// use carecodec_esr::reader::{GoOptions, GoReader};
    ///
    /// let r = GoReader::new(&b""[..], Some("GO_999_EXP_GOC_20250302_00000102.DAT"), GoOptions::default());
    /// assert_eq!(r.profile(), Profile::Exp); // from the file name
    /// ```
    pub fn profile(&self) -> Profile {
        self.profile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        input: &[u8],
        name: Option<&str>,
        opts: GoOptions,
    ) -> (Vec<(u64, bool)>, Vec<FileSummary>) {
        let mut r = GoReader::new(input, name, opts);
        let mut out = Vec::new();
        while let Some(e) = r.next_record() {
            out.push((e.line, e.accepted));
        }
        (out, r.summaries())
    }

    const HDR: &[u8] = b"HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021500~999~20250301 000000~20250302 000000~01\n";

    /// F16: a NUL in a text value was accepted with no word and passed on.
    #[test]
    fn a_control_character_in_a_value_is_a_warning_at_its_byte() {
        let row: &[u8] = b"POA~800001~20240401~47121231~3000001~3000001|Staff Nurse|N0A|Elderly Care|~5.2~9901000~Nursing and Midwifery Registered~Staff Nurse~N0A~XR05~XR05|0~Not Applicable~600100~Active~SHARED~~~~~XX9~20240401 000000~Wa\0rd 7\n";
        let mut f = b"HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n".to_vec();
        let nul = f.len() + row.iter().position(|&b| b == 0).unwrap();
        f.extend_from_slice(row);
        f.extend_from_slice(b"TRL~3\n");
        let mut r = GoReader::new(&f[..], None, GoOptions::default());
        let e = r.next_record().unwrap();
        assert!(e.accepted);
        assert_eq!(e.problems.len(), 1, "{:?}", e.problems);
        let p = &e.problems[0];
        assert_eq!(
            (p.severity, &p.kind),
            (Severity::Warning, &ProblemKind::ControlCharacter(0))
        );
        assert_eq!((p.line, p.offset, p.field_index), (2, nul as u64, Some(23)));
        assert!(p.field.is_some());
        assert_eq!(p.raw.as_deref(), Some("Wa\0rd 7"));
        // The value is kept as read.
        assert_eq!(e.text(23).as_deref(), Some("Wa\0rd 7"));
        while r.next_record().is_some() {}
        assert_eq!(r.summary().warned, 1);
        // A TAB is not a control character here.
        let tab = String::from_utf8(f.clone()).unwrap().replace('\0', "\t");
        let mut r = GoReader::new(tab.as_bytes(), None, GoOptions::default());
        assert!(r.next_record().unwrap().problems.is_empty());
    }

    #[test]
    fn missing_trailer_marks_incomplete() {
        let mut f = HDR.to_vec();
        f.extend_from_slice(b"PRD~1\nORA~1~x");
        let (rows, s) = run(&f, None, GoOptions::default());
        assert_eq!(rows, [(2, true), (3, false)]);
        assert!(!s[0].complete);
        assert!(
            s[0].problems
                .iter()
                .any(|p| p.kind == ProblemKind::MissingTrailer)
        );
    }

    #[test]
    fn cr_only_line_ends_are_read_as_line_ends() {
        // A GO file whose LFs a transfer turned into CRs used to be one long
        // "bad header" line: no rows, and nothing to account for.
        let lf = [HDR, b"PRD~1\nORA~1~x\nTRL~4\n"].concat();
        let cr: Vec<u8> = lf
            .iter()
            .map(|&b| if b == b'\n' { b'\r' } else { b })
            .collect();
        let (rows_lf, s_lf) = run(&lf, None, GoOptions::default());
        // Small reads too: a line split across buffers.
        let (rows, s) = run(&cr, None, GoOptions::default());
        assert_eq!(rows, rows_lf);
        assert_eq!(rows, [(2, true), (3, false)]);
        assert_eq!(s[0].trailer, Some(4));
        assert!(s[0].complete, "{:?}", s[0].problems);
        assert_eq!(s[0].bytes, s_lf[0].bytes);
        let warn: Vec<_> = s[0]
            .problems
            .iter()
            .filter(|p| p.kind == ProblemKind::CrLineEnds)
            .collect();
        assert_eq!(warn.len(), 1);
        assert_eq!(warn[0].severity, Severity::Warning);
        let small = std::io::BufReader::with_capacity(7, &cr[..]);
        let mut r = GoReader::new(small, None, GoOptions::default());
        let mut n = 0;
        while r.next_record().is_some() {
            n += 1;
        }
        assert_eq!((n, r.summary().complete), (2, true));
    }

    #[test]
    fn a_cr_only_file_longer_than_the_line_limit_is_read_whole() {
        // The first line stops at its CR: a CR-only file is not one "line"
        // cut at MAX_LINE_BYTES with the rest dropped.
        let rows = MAX_LINE_BYTES / 10 + 1000;
        let mut f = HDR.to_vec();
        for i in 0..rows {
            f.extend_from_slice(format!("PRD~{i}\n").as_bytes());
        }
        f.extend_from_slice(format!("TRL~{}\n", rows + 2).as_bytes());
        let cr: Vec<u8> = f
            .iter()
            .map(|&b| if b == b'\n' { b'\r' } else { b })
            .collect();
        assert!(cr.len() > MAX_LINE_BYTES);
        let mut r = GoReader::new(&cr[..], None, GoOptions::default());
        let mut n = 0;
        while r.next_record().is_some() {
            n += 1;
        }
        let s = r.summary();
        assert_eq!((n, s.read, s.accepted), (rows, rows as u64, rows as u64));
        assert!(s.complete, "{:?}", s.problems);
    }

    #[test]
    fn a_huge_line_is_rejected_and_skipped_with_bounded_memory() {
        let mut f = HDR.to_vec();
        f.extend_from_slice(b"PRA~");
        f.resize(f.len() + 3 * MAX_LINE_BYTES, b'x');
        f.extend_from_slice(b"\nPRD~1\nTRL~4\n");
        let mut r = GoReader::new(&f[..], None, GoOptions::default());
        let e = r.next_record().unwrap();
        assert!(!e.accepted);
        let p = e.problems.first().unwrap();
        assert_eq!(p.kind, ProblemKind::LineTooLong(MAX_LINE_BYTES));
        assert_eq!(e.problems.len(), 1, "its fields are not checked");
        // Its record's layout names the fields up to the cut (a reader of
        // rejected rows can tell whose row it was).
        assert_eq!(e.layout.map(|l| l.code), Some("PRA"));
        assert!(e.typed_fields().is_some());
        assert!(p.raw.as_ref().unwrap().len() < 2 * crate::problem::MAX_RAW_BYTES);
        assert!(r.line.capacity() <= 2 * MAX_LINE_BYTES);
        let e = r.next_record().unwrap();
        assert_eq!(e.line, 3);
        assert!(r.next_record().is_none());
        let s = r.summary();
        assert_eq!((s.read, s.accepted, s.rejected), (2, 1, 1));
        assert!(s.complete, "{:?}", s.problems);
    }

    #[test]
    fn concatenated_files() {
        let mut f = HDR.to_vec();
        f.extend_from_slice(b"PRD~1\nTRL~3\n");
        f.extend_from_slice(HDR);
        f.extend_from_slice(b"PRD~2\nTRL~3\n");
        let (rows, s) = run(&f, None, GoOptions::default());
        assert_eq!(rows.len(), 1);
        assert!(
            s[0].problems
                .iter()
                .any(|p| p.kind == ProblemKind::ContentAfterTrailer && p.line == 4)
        );
        let opts = GoOptions {
            split_concatenated: true,
            ..GoOptions::default()
        };
        let (rows, s) = run(&f, None, opts);
        assert_eq!(rows.len(), 2);
        assert_eq!(s.len(), 2);
        assert!(s.iter().all(|s| s.complete && s.read == 1));
    }

    #[test]
    fn blank_lines_are_not_records_nor_counted_in_the_trailer() {
        let mut f = HDR.to_vec();
        f.extend_from_slice(b"\nPRD~1\r\n\r\nTRL~3\r\n");
        let (rows, s) = run(&f, None, GoOptions::default());
        assert_eq!(rows.len(), 1);
        assert_eq!(s[0].blank_lines, 2);
        assert!(s[0].complete, "{:?}", s[0].problems);
    }
}
