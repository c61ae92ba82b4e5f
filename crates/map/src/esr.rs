//! ESR Generic Outbound → canonical [`Worker`]s, resolved as at a date.
//!
//! ESR rows are date-tracked: a person, assignment, position or organisation
//! may have several rows, each with an effective start and end date. The
//! mapping reads a whole GO file, applies its delete rows (`PRD`, `ASD`,
//! `POD`, `ORD`, `ETD`…: every row with the deleted key is dropped), keeps
//! for each key the row in effect on [`EsrOptions::as_at`] (start ≤ date ≤
//! end; the latest start wins, then the later line), and builds one
//! [`Worker`] per person in effect on that date:
//!
//! - `PRA` person: ESR person id (VPD-scoped, the record key; the VPD is
//!   HDR-3, else [`EsrOptions::vpd`], else the file name's), employee
//!   number, NI number (format-checked), names (official, preferred, maiden,
//!   previous), gender, birth date, office e-mail, hire and termination dates;
//! - `ASA` assignments in effect, each with its `POA` position (number, title,
//!   staff group, job role, occupation code), `ORA` organisation and `LCA`
//!   location (ODS site code, address), grade, FTE, status and primary flag,
//!   and its life: start (Earliest Assignment Start Date), end and state
//!   (active, suspended, terminated) from its rows, its status, the
//!   employee status flags and the person's Actual Termination Date (see
//!   docs/mapping.md, "Assignment life");
//! - `ETA` "NHS Regs and Memships" rows → professional registrations typed by
//!   body (GMC, NMC, HCPC, GPhC, else other), number checked per body.
//!
//! Accounting is per file: every non-empty field of every data row (HDR/TRL
//! are the envelope, checked by the reader, and not counted) is either
//! consumed or listed as unmapped. Rows set aside by a delete or because they
//! are not in effect on the date count as consumed (the rule used them) and
//! each is named once in the report's notes; rows of record types the model
//! does not hold (absences, costings, competencies…), their deletes, and
//! reference rows no worker refers to are listed field by field as unmapped.
//! A delete that matched no row of the file, an assignment or registration
//! row whose person gave no worker, and an assignment's reference to a row
//! not in effect (kept as a bare id) are each noted. [`EsrMapping::failure`]
//! says when the file is incomplete, rows were rejected or nothing resolved.
//!
//! [`map_go_files`] applies change files on top of a full file (by
//! sequence; a later file's rows of an id replace the earlier rows of that
//! id over the same days, a delete takes out every
//! earlier row of its id) and maps the state once: a worker then carries
//! what the earlier files said and the change file did not repeat.
//! [`EsrMapping::deleted`] lists the persons and assignments the delete
//! rows remove, for a server to remove the records sent before.
//!
//! ```
//! use carecodec_map::esr::{EsrOptions, map_go};
//! use chrono::NaiveDate;
//!
//! let file = "HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n\
//! PRA~7100001~20230401~47121231~80000001~Mr.~Smith~John~~~~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20230401 120000~~~~~\n\
//! TRL~3\n";
//! let out = map_go(file.as_bytes(), Some("GO_999_GDW_GOF_20250301_00000101.DAT"),
//!                  &EsrOptions::new(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()));
//! assert_eq!(out.workers.len(), 1);
//! assert_eq!(out.workers[0].names[0].value.family.as_deref(), Some("Smith"));
//! assert!(out.report.balanced());
//! assert!(!out.report.quarantined());
//! // The trailer counts every line, HDR and TRL included: nothing to note.
//! assert!(out.report.notes.iter().all(|n| !n.contains("trailer")), "{:?}", out.report.notes);
//! ```

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::sync::Arc;

use carecodec_esr::filename::{ExtractType, FileName};
use carecodec_esr::layout::{FieldSpec, RecordLayout};
use carecodec_esr::problem::Severity;
use carecodec_esr::reader::{Entry, GoOptions, GoReader};
use carecodec_esr::value::{EndDate, FieldRef, Regulator, parse_dmy, valid_ni};
use carecodec_model::{
    Action, Address, Assignment, AssignmentState, Gender, HumanName, Identifier, IdentityDecision,
    Invalid, Location, MappingReport, Organisation, PartialDate, Position, Registration, Source,
    Sourced, Sources, Telecom, Unmapped, Worker,
};
use chrono::NaiveDate;

/// How to map an ESR file.
///
/// ```
/// use carecodec_map::esr::EsrOptions;
/// use chrono::NaiveDate;
///
/// let opts = EsrOptions::new(NaiveDate::from_ymd_opt(2025, 4, 1).unwrap());
/// assert_eq!(opts.as_at, NaiveDate::from_ymd_opt(2025, 4, 1));
/// assert_eq!(opts.vpd, None);
/// assert_eq!(EsrOptions::at_extract_date().as_at, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EsrOptions {
    /// The date the workers are resolved as at; `None`: the extract's own
    /// date (HDR-2, when the file was created), never the host's clock.
    pub as_at: Option<NaiveDate>,
    /// The VPD when the header carries none; when neither gives one, the
    /// file name's VPD is taken (with a note), else the workers are
    /// quarantined.
    pub vpd: Option<String>,
}

impl EsrOptions {
    /// Options resolving rows as at `as_at`.
    ///
    /// ```
    /// use carecodec_map::esr::{map_go, EsrOptions};
    /// use chrono::NaiveDate;
    ///
    /// // Person 7100001 is in effect from 1 April 2023.
    /// let file = "HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n\
    /// PRA~7100001~20230401~47121231~80000001~Mr.~Smith~John~~~~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20230401 120000~~~~~\n\
    /// TRL~3\n";
    /// let as_at = |y, m, d| EsrOptions::new(NaiveDate::from_ymd_opt(y, m, d).unwrap());
    /// assert!(map_go(file.as_bytes(), None, &as_at(2023, 3, 31)).workers.is_empty());
    /// assert_eq!(map_go(file.as_bytes(), None, &as_at(2023, 4, 1)).workers.len(), 1);
    /// ```
    pub fn new(as_at: NaiveDate) -> EsrOptions {
        EsrOptions {
            as_at: Some(as_at),
            vpd: None,
        }
    }

    /// Options resolving rows as at the date the extract was created (HDR-2).
    ///
    /// ```
    /// use carecodec_map::esr::{map_go, EsrOptions};
    /// use chrono::NaiveDate;
    ///
    /// // Person 7100001 left on 28 February 2025; the extract is of 1 March 2025 (HDR-2).
    /// let file = "HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n\
    /// PRA~7100001~20230401~20250228~80000001~Mr.~Smith~John~~~~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20230401 120000~~~~~\n\
    /// TRL~3\n";
    /// assert!(map_go(file.as_bytes(), None, &EsrOptions::at_extract_date()).workers.is_empty());
    /// let day_before = EsrOptions::new(NaiveDate::from_ymd_opt(2025, 2, 28).unwrap());
    /// assert_eq!(map_go(file.as_bytes(), None, &day_before).workers.len(), 1);
    /// ```
    pub fn at_extract_date() -> EsrOptions {
        EsrOptions {
            as_at: None,
            vpd: None,
        }
    }
}

/// The workers of one file and the file's report.
///
/// ```
/// use carecodec_map::esr::{map_go, EsrOptions};
///
/// let file = "HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n\
/// PRA~7100001~20230401~47121231~80000001~Mr.~Smith~John~~~~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20230401 120000~~~~~\n\
/// TRL~3\n";
/// let out = map_go(file.as_bytes(), None, &EsrOptions::at_extract_date());
/// assert_eq!(out.workers.len(), 1);
/// assert_eq!((out.read, out.accepted, out.rejected), (1, 1, 0));
/// assert_eq!(out.report.identity.len(), 1);
/// assert!(out.report.balanced() && out.report.invalid.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct EsrMapping {
    /// One worker per person in effect on the date, in the order the
    /// persons first came: by each person's first `PRA` row in the file;
    /// from [`map_go_files`], the state's first file's persons in its
    /// order, then those each later file adds (a person whose row a later
    /// file re-sent keeps their place).
    pub workers: Vec<Worker>,
    /// Accounting, invalid values and one identity decision per worker.
    pub report: MappingReport,
    /// The reader's verdict on the file: false when it found a file error
    /// (missing header or trailer, a trailer count that does not match, a
    /// bad header…), so the file must not be applied as a delta.
    pub complete: bool,
    /// The file errors that made it incomplete, as text.
    pub file_errors: Vec<String>,
    /// Records the reader read (HDR, TRL and blank lines not counted), of
    /// every file given: `read == accepted + rejected`, as `esr check`
    /// counts them.
    pub read: usize,
    /// Records the reader accepted (the mapping's input; one it leaves out
    /// is in the report's `unmapped` or `notes`).
    pub accepted: usize,
    /// Rows the reader rejected (listed in the report's `invalid`).
    pub rejected: usize,
    /// The date the rows were resolved as at; `None` when there was none
    /// (no `--as-at` and no HDR creation date): nothing was resolved.
    pub as_at: Option<NaiveDate>,
    /// [`map_go_files`]: each file, in the order applied, and what was
    /// done with it (empty from [`map_go`]).
    pub files: Vec<EsrFile>,
    /// [`map_go_files`]: the file that stopped the final chain (from the
    /// last full file applied on: a file not applied, or an incomplete
    /// first file) and why; [`EsrMapping::complete`] is then false. A stop
    /// a later full file re-based past is only noted
    /// ([`FileUse::Superseded`]).
    pub stopped: Option<String>,
    /// The persons and assignments the files' delete rows (`PRD`, `ASD`)
    /// remove, for the records sent before to be removed too
    /// ([`write_deletions_bundle`](crate::fhir::write_deletions_bundle)):
    /// see [`EsrDeletion`].
    pub deleted: Vec<EsrDeletion>,
}

/// What an ESR delete row removes.
///
/// ```
/// use carecodec_map::esr::{map_go, DeletedRecord, EsrOptions};
///
/// // A change file of one person delete (`PRD`): its Practitioner goes.
/// let name = "GO_999_GDW_GOC_20250302_00000102.DAT";
/// let file = "HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021503~999~20250301 000000~20250302 000000~01\n\
/// PRD~7100002\n\
/// TRL~3\n";
/// let out = map_go(file.as_bytes(), Some(name), &EsrOptions::at_extract_date());
/// let what: Vec<DeletedRecord> = out.deleted.iter().map(|d| d.what).collect();
/// assert_eq!(what, [DeletedRecord::Person]);
/// assert_eq!(out.deleted[0].key, "7100002");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeletedRecord {
    /// A person (`PRD`): its Practitioner.
    Person,
    /// An assignment (`ASD`): its PractitionerRole.
    Assignment,
}

/// A person or assignment an ESR delete row removes, keyed as its FHIR
/// resource is (see [`worker_bundle`](crate::fhir::worker_bundle)).
///
/// A person delete always gives one (the Practitioner's id needs only the
/// VPD and person id: it may be on a server from an earlier run even when
/// no row of it is in the files). An assignment delete gives one per
/// Assignment Number of the rows it removed (the PractitionerRole is keyed
/// on it, not on the Assignment ID); when no removed row gives one, only the
/// report's note carries the delete. A delete of a record the mapping still
/// holds after it (sent again: a re-add) gives none, with a note. A delete
/// sent twice gives one, from its last row.
///
/// ```
/// use carecodec_map::esr::{map_go, DeletedRecord, EsrOptions};
///
/// // A change file: person 7100002 is deleted, and assignment 7200001,
/// // sent earlier in the file, with it (its number keys its role).
/// let file = "HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021503~999~20250301 000000~20250302 000000~01\n\
/// ASA~7100001~7200001~20230401~47121231~~E~80000001~ACTIVE_ASSIGN~Active Assignment~~998 Monthly~~510001~~~~~~~~Yes~37.5~Week~37.5~1~~610001~810001~4000001|Staff Nurse|N0A|Acute Medicine|~NHS|XR05|Band 5~~~~Nursing and Midwifery Registered|Staff Nurse~~~~~~~~~~20230401 120000~~~~~~\n\
/// ASD~7200001\n\
/// PRD~7100002\n\
/// TRL~5\n";
/// let out = map_go(file.as_bytes(), Some("GO_999_GDW_GOC_20250302_00000102.DAT"), &EsrOptions::at_extract_date());
/// let d: Vec<_> = out.deleted.iter().map(|d| (d.what, d.vpd.as_str(), d.key.as_str())).collect();
/// assert_eq!(d, [(DeletedRecord::Assignment, "999", "80000001"), (DeletedRecord::Person, "999", "7100002")]);
/// assert_eq!(out.deleted[1].source.to_string(), "ESR GO_999_GDW_GOC_20250302_00000102.DAT:4 Person ID");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EsrDeletion {
    /// A person or an assignment.
    pub what: DeletedRecord,
    /// The VPD that scopes the key.
    pub vpd: String,
    /// The ESR key of its FHIR id: the Person ID of a person, the
    /// Assignment Number of an assignment.
    pub key: String,
    /// The delete row (its key field).
    pub source: Source,
}

impl EsrMapping {
    /// Why the file's workers are not the whole truth, in one line: file
    /// errors, rejected rows, no as-at date; `None` for a clean file. The
    /// CLI prints it and exits 1.
    ///
    /// ```
    /// use carecodec_map::esr::{map_go, EsrOptions};
    ///
    /// let file = "HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n\
    /// PRA~7100001~20230401~47121231~80000001~Mr.~Smith~John~~~~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20230401 120000~~~~~\n";
    /// // No trailer: the file may be truncated.
    /// let out = map_go(file.as_bytes(), None, &EsrOptions::at_extract_date());
    /// assert!(!out.complete);
    /// assert_eq!(out.failure().as_deref(), Some("file incomplete (missing trailer: the file is incomplete): not to be applied as a delta"));
    /// let whole = format!("{file}TRL~3\n");
    /// assert_eq!(map_go(whole.as_bytes(), None, &EsrOptions::at_extract_date()).failure(), None);
    /// ```
    pub fn failure(&self) -> Option<String> {
        let mut why = Vec::new();
        if !self.complete {
            why.push(match &self.stopped {
                Some(s) => s.clone(),
                None => format!(
                    "file incomplete ({}): not to be applied as a delta",
                    self.file_errors.join("; ")
                ),
            });
        }
        match self.rejected {
            0 => {}
            1 => why.push("1 row rejected by the reader".to_owned()),
            n => why.push(format!("{n} rows rejected by the reader")),
        }
        if self.as_at.is_none() {
            why.push("no as-at date given and no HDR creation date: nothing resolved".to_owned());
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

/// What of a field's typed value the mapping uses (text is in [`Row::text`]).
#[derive(Debug, Clone, Copy)]
enum Typed {
    Other,
    Date(NaiveDate),
    End(EndDate),
    Flag(bool),
}

/// The names of a row's fields, in order: the layout's own table (nothing
/// per row). A delete row has its code then its key; a row of an unknown
/// record type its code then unnamed fields.
#[derive(Debug, Clone, Copy)]
enum Names {
    Layout(&'static [FieldSpec]),
    Delete(&'static FieldSpec),
    Unknown,
}

impl Names {
    fn get(self, i: usize) -> Option<&'static str> {
        match (self, i) {
            (Names::Layout(specs), _) => specs.get(i).map(|s| s.name),
            (Names::Delete(_) | Names::Unknown, 0) => Some("Record Type"),
            (Names::Delete(key), 1) => Some(key.name),
            (Names::Delete(_), _) => None,
            (Names::Unknown, _) => Some("field"),
        }
    }
}

/// One field of a row: where its text ends in [`Row::text`] (it starts
/// where the one before ends) and what it was typed as.
#[derive(Debug, Clone, Copy)]
struct Field {
    end: u32,
    typed: Typed,
}

/// One data row: code, line, and its fields. The decoded text of every
/// field is kept in one string per row, and the field names are the
/// layout's, so a row costs two allocations and 12 bytes a field (a whole
/// file's rows are held at once).
struct Row {
    code: Cow<'static, str>,
    line: u64,
    delete: bool,
    text: String,
    names: Names,
    fields: Vec<Field>,
    /// Where this row's fields start in `Ctx::used`.
    first: usize,
    /// Which of `Ctx::files` the row is of.
    file: usize,
    /// The layout of a row read with one (a delete row: the deleted
    /// record's): its key and effective start say which rows a later file's
    /// row replaces (see `map_go_files`).
    layout: Option<&'static RecordLayout>,
}

impl Row {
    /// A row sized for `fields` fields and `bytes` bytes of text (the
    /// record's length bounds its decoded text but for escapes), so filling
    /// it does not grow its two buffers field by field.
    fn new(
        code: Cow<'static, str>,
        line: u64,
        delete: bool,
        names: Names,
        (fields, bytes): (usize, usize),
    ) -> Row {
        Row {
            code,
            line,
            delete,
            text: String::with_capacity(bytes),
            names,
            fields: Vec::with_capacity(fields),
            first: 0,
            file: 0,
            layout: None,
        }
    }

    /// Appends the next field: its decoded text and what it was typed as.
    fn push(&mut self, text: &str, typed: Typed) {
        self.text.push_str(text);
        let end = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        self.fields.push(Field { end, typed });
    }

    /// The name of field `i`.
    fn name(&self, i: usize) -> &'static str {
        self.names.get(i).unwrap_or("field")
    }

    fn index(&self, name: &str) -> Option<usize> {
        (0..self.fields.len()).find(|&i| self.names.get(i) == Some(name))
    }

    /// The untrimmed text of field `i`.
    fn field_text(&self, i: usize) -> &str {
        let start = match i.checked_sub(1) {
            Some(j) => self.fields.get(j).map_or(0, |f| f.end as usize),
            None => 0,
        };
        self.fields
            .get(i)
            .and_then(|f| self.text.get(start..f.end as usize))
            .unwrap_or_default()
    }

    fn typed(&self, i: usize) -> Option<Typed> {
        self.fields.get(i).map(|f| f.typed)
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.index(name).and_then(|i| self.raw_at(i))
    }

    /// The trimmed text of field `i`, if not empty.
    fn raw_at(&self, i: usize) -> Option<&str> {
        Some(self.field_text(i).trim()).filter(|s| !s.is_empty())
    }

    fn key(&self, name: &str) -> Option<String> {
        self.raw(name).map(str::to_owned)
    }

    /// (start, end) of a date-tracked row; undated rows are always in effect.
    fn period(&self) -> (Option<NaiveDate>, EndDate) {
        let start = ["Effective Start Date", "Effective From Date"]
            .iter()
            .find_map(|n| match self.index(n).and_then(|i| self.typed(i)) {
                Some(Typed::Date(d)) => Some(d),
                _ => None,
            });
        let end = ["Effective End Date", "Effective To Date"]
            .iter()
            .find_map(|n| match self.index(n).and_then(|i| self.typed(i)) {
                Some(Typed::End(e)) => Some(e),
                Some(Typed::Date(d)) => Some(EndDate::On(d)),
                _ => None,
            })
            .unwrap_or(EndDate::Open);
        (start, end)
    }

    fn in_effect(&self, date: NaiveDate) -> bool {
        let (start, end) = self.period();
        start.is_none_or(|s| s <= date) && end.covers(date)
    }
}

struct Ctx {
    /// The file named by the notes on the whole mapping (the last applied).
    file: Arc<str>,
    /// Each file's name, shared by every value's source (a row's `file`
    /// indexes it).
    files: Vec<Arc<str>>,
    vpd: String,
    /// The date rows are resolved as at (set once known).
    as_at: Option<NaiveDate>,
    rows: Vec<Row>,
    /// Whether each field of each row was consumed: row `r`'s fields from
    /// `rows[r].first` (one vector for the file, not one per row).
    used: Vec<bool>,
    report: MappingReport,
    /// Keys (see `row_key`) deleted by a delete row, with the file and line
    /// of the (last) delete: it sets aside that file's rows of the key
    /// before it (a row after it is a re-add, kept; a later file's delete
    /// takes an earlier file's rows out before: `excluded`).
    deleted: HashMap<String, (usize, u64)>,
    /// Rows not applied: superseded or deleted by a later file, or of a file
    /// not applied (see `map_go_files`); their fields are unmapped.
    excluded: HashSet<usize>,
    /// Rows a later file's rows of the same code and key cover in part:
    /// the periods covered (the row is not in effect on those days).
    covered: HashMap<usize, Vec<Period>>,
    /// Keys whose rows a later file's delete took out, with where.
    gone: HashMap<String, String>,
    /// Delete rows that took out rows of an earlier file.
    carried: HashSet<usize>,
    /// The earlier files' rows each delete row took out (for the
    /// Assignment Numbers of a deleted assignment: `deletions`).
    took: HashMap<usize, Vec<usize>>,
    /// Keys of rows set aside by the as-at rule (deleted, or not in effect).
    set_aside: HashSet<String>,
    /// Keys of rows the reader rejected.
    rejected: HashSet<String>,
    /// Fields not valid UTF-8 in a UTF-8 file (row, field), read with
    /// U+FFFD for the bytes that are not: each is reported `interpreted`.
    undecoded: Vec<(usize, usize)>,
    /// The reader's warnings on accepted rows, by (row, field): what it
    /// found, and whether the mapper read the value (`mark`). Each becomes
    /// an `invalid` entry (`report_warnings`).
    warnings: HashMap<(usize, usize), (String, bool)>,
    /// Whether each file's rows joined the final state (applied, from the
    /// last full file on: see `map_go_files`); empty for one file, whose
    /// rows all did. The workers come in the order the state first had
    /// their persons (`resolve`).
    joined: Vec<bool>,
}

impl Ctx {
    /// A context for `rows` of `files` (the last one names the mapping).
    fn new(
        files: Vec<Arc<str>>,
        mut rows: Vec<Row>,
        vpd: String,
        report: MappingReport,
        as_at: Option<NaiveDate>,
    ) -> Ctx {
        let mut fields = 0;
        for r in &mut rows {
            r.first = fields;
            fields += r.fields.len();
        }
        Ctx {
            file: files.last().cloned().unwrap_or_else(|| Arc::from("-")),
            files,
            vpd,
            as_at,
            rows,
            used: vec![false; fields],
            report,
            deleted: HashMap::new(),
            excluded: HashSet::new(),
            gone: HashMap::new(),
            covered: HashMap::new(),
            carried: HashSet::new(),
            took: HashMap::new(),
            set_aside: HashSet::new(),
            rejected: HashSet::new(),
            undecoded: Vec::new(),
            warnings: HashMap::new(),
            joined: Vec::new(),
        }
    }

    /// Whether file `f`'s rows joined the final state (see `joined`).
    fn joined(&self, f: usize) -> bool {
        self.joined.is_empty() || self.joined.get(f) == Some(&true)
    }

    /// The name of file `i`.
    fn file_name(&self, i: usize) -> Arc<str> {
        Arc::clone(self.files.get(i).unwrap_or(&self.file))
    }

    /// Where rows are looked for: "this file", or the files applied.
    fn here(&self) -> &'static str {
        if self.files.len() > 1 {
            "the files applied"
        } else {
            "this file"
        }
    }

    /// Reports a value read as invalid, with what was done with it.
    fn invalid(&mut self, source: Source, raw: String, reason: impl Into<String>, action: Action) {
        self.report.invalid.push(Invalid {
            source,
            raw,
            reason: reason.into(),
            action,
        });
    }

    /// [`Ctx::invalid`] for a text value read: at its first source, with its
    /// text as the raw value.
    fn invalid_value(&mut self, v: &Sourced<String>, reason: impl Into<String>, action: Action) {
        if let Some(src) = v.sources.first() {
            self.invalid(src.clone(), v.value.clone(), reason, action);
        }
    }

    /// Why the row keyed `key` (see `row_key`) is not among the rows in
    /// effect: deleted, not in effect on the date, rejected, or not in the
    /// file at all (a change file's rows refer to rows sent earlier).
    fn absent_why(&self, key: &str) -> String {
        if let Some(&(f, _)) = self.deleted.get(key) {
            if self.files.len() > 1 {
                format!("deleted in {}", self.file_name(f))
            } else {
                "deleted in this file".to_owned()
            }
        } else if self.set_aside.contains(key) {
            match self.as_at {
                Some(d) => format!("not in effect on {d}"),
                None => "not resolved".to_owned(),
            }
        } else if self.rejected.contains(key) {
            "rejected by the reader".to_owned()
        } else if let Some(g) = self.gone.get(key) {
            g.clone()
        } else {
            format!("not in {}", self.here())
        }
    }

    fn source(&self, row: usize, name: &'static str) -> Source {
        let (file, line) = self.rows.get(row).map_or((0, 0), |r| (r.file, r.line));
        Source::esr(self.file_name(file), line, name)
    }

    fn mark(&mut self, row: usize, i: usize) {
        let Some(r) = self.rows.get(row) else { return };
        if i < r.fields.len() {
            if let Some(u) = self.used.get_mut(r.first + i) {
                *u = true;
            }
        }
        // A value the reader warned of, read: reported kept (see
        // `report_warnings`). Most files have no warning: no lookup.
        if !self.warnings.is_empty() {
            if let Some((_, read)) = self.warnings.get_mut(&(row, i)) {
                *read = true;
            }
        }
    }

    fn consume_row(&mut self, row: usize) {
        let Some(r) = self.rows.get(row) else { return };
        if let Some(u) = self.used.get_mut(r.first..r.first + r.fields.len()) {
            u.fill(true);
        }
    }

    /// Trimmed text of field `name` in `row`, consumed. Control characters
    /// other than tab, CR and LF (FHIR strings forbid them) are removed and
    /// the value reported `interpreted` (`dropped` if nothing is left).
    fn text(&mut self, row: usize, name: &'static str) -> Option<Sourced<String>> {
        let r = self.rows.get(row)?;
        let i = r.index(name)?;
        let v = r.raw_at(i)?.to_owned();
        self.mark(row, i);
        let src = self.source(row, name);
        if !v.chars().any(forbidden_control) {
            return Some(Sourced::new(v, src));
        }
        let kept: String = v.chars().filter(|&c| !forbidden_control(c)).collect();
        let kept = kept.trim();
        let action = if kept.is_empty() {
            Action::Dropped
        } else {
            Action::Interpreted
        };
        self.invalid(
            src.clone(),
            v.clone(),
            "control characters (FHIR strings forbid them below U+0020 but tab, CR, LF): removed",
            action,
        );
        (!kept.is_empty()).then(|| Sourced::new(kept.to_owned(), src))
    }

    /// A date field (`YYYYMMDD`, or `DD/MM/YYYY…` in flexfields), consumed;
    /// an unparseable one is reported invalid and dropped.
    fn date(&mut self, row: usize, name: &'static str) -> Option<Sourced<NaiveDate>> {
        let r = self.rows.get(row)?;
        let i = r.index(name)?;
        let value = match r.typed(i) {
            Some(Typed::End(EndDate::Open)) => {
                // Open-ended (`47121231`): read, and no date to keep.
                self.mark(row, i);
                return None;
            }
            Some(Typed::Date(d) | Typed::End(EndDate::On(d))) => Some(d),
            Some(_) => parse_dmy(r.field_text(i).as_bytes()),
            None => None,
        };
        // Year 0000 is a calendar date but no FHIR date (0001 to 9999).
        let out_of_range = value.is_some_and(|d| !(1..=9999).contains(&chrono::Datelike::year(&d)));
        let value = value.filter(|_| !out_of_range);
        // The text is kept only to report an invalid date.
        let raw = r.raw_at(i)?;
        let raw = if value.is_none() {
            raw.to_owned()
        } else {
            String::new()
        };
        self.mark(row, i);
        let src = self.source(row, name);
        match value {
            Some(d) => Some(Sourced::new(d, src)),
            None => {
                let reason = if out_of_range {
                    "a year FHIR cannot hold (0001 to 9999)"
                } else {
                    "not a date"
                };
                self.invalid(src, raw, reason, Action::Dropped);
                None
            }
        }
    }

    /// Marks field `name` of `row` consumed when it has a value, without
    /// keeping it (what `text` marks, without copying the text).
    fn touch(&mut self, row: usize, name: &'static str) {
        let Some(r) = self.rows.get(row) else { return };
        let Some(i) = r.index(name) else { return };
        if r.raw_at(i).is_some() {
            self.mark(row, i);
        }
    }

    fn flag(&mut self, row: usize, name: &'static str) -> bool {
        let Some(r) = self.rows.get(row) else {
            return false;
        };
        let Some(i) = r.index(name) else {
            return false;
        };
        let v = match r.typed(i) {
            Some(Typed::Flag(b)) => Some(b),
            _ => {
                let t = r.field_text(i).trim();
                (!t.is_empty())
                    .then(|| t.eq_ignore_ascii_case("y") || t.eq_ignore_ascii_case("yes"))
            }
        };
        // Read, so consumed (as `text` would, without copying it).
        if v.is_some() && r.raw_at(i).is_some() {
            self.mark(row, i);
        }
        v.unwrap_or(false)
    }

    fn note(&mut self, row: usize, why: &str) {
        if let Some(r) = self.rows.get(row) {
            let line = r.line;
            let code = r.code.clone();
            let file = self.file_name(r.file);
            self.report
                .notes
                .push(format!("{file}:{line} {code}: {why}"));
        }
    }
}

/// A control character FHIR strings forbid: below U+0020, but tab, CR, LF.
fn forbidden_control(c: char) -> bool {
    c < ' ' && !matches!(c, '\t' | '\r' | '\n')
}

/// Key field of each entity (the deletable unit), by record-code prefix.
/// A row's identity in the file: its record prefix (the first two letters
/// of its code, always two: `key_field` knows no other) then its key, in
/// `buf`, which is returned. A lookup reuses one buffer, so probing the
/// row maps allocates nothing.
fn row_key<'b>(buf: &'b mut String, code: &str, key: &str) -> &'b str {
    buf.clear();
    buf.push_str(code.get(..2).unwrap_or_default());
    buf.push_str(key);
    buf
}

fn key_field(code: &str) -> Option<&'static str> {
    match code.get(..2)? {
        "PR" => Some("Person ID"),
        "AS" => Some("Assignment ID"),
        "PO" => Some("Position ID"),
        "OR" => Some("Organisation ID"),
        "LC" => Some("Location ID"),
        "ET" => Some("Person Extra Information ID"),
        _ => None,
    }
}

/// Maps a Generic Outbound file to workers as at `opts.as_at`.
///
/// Reads the whole file (rows of one person are spread across it); memory
/// grows with the file. Rows the reader rejects are listed as invalid and
/// their fields as unmapped.
///
/// `file_name` names the file in every [`Source`] and note: pass it as the
/// user gave it (a path tells two files of one name in two folders apart).
/// Its final path component (after the last `/` or `\`) is the GO
/// transport name, read for the VPD, sub-file, extract type, date and
/// sequence ([`FileName`]) and checked against the header (HDR-1); a bare
/// file name is both. `None` (standard input): named `-`, no transport name.
///
/// ```
/// use carecodec_map::esr::{map_go, EsrOptions};
///
/// let name = "GO_999_GDW_GOF_20250301_00000101.DAT";
/// let file = "HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n\
/// PRA~7100001~20230401~47121231~80000001~Mr.~Smith~John~~~~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20230401 120000~~~~~\n\
/// TRL~3\n";
/// let out = map_go(file.as_bytes(), Some(name), &EsrOptions::at_extract_date());
/// let id = &out.workers[0].identifiers[0];
/// assert_eq!((id.value.kind(), id.value.value()), ("esr-person", "7100001"));
/// assert_eq!(id.sources[0].to_string(), format!("ESR {name}:2 Person ID"));
/// // Named by its path: the sources say which file; the GO name is its last part.
/// let out = map_go(file.as_bytes(), Some("inbox/2025-03-01/GO_999_GDW_GOF_20250301_00000101.DAT"),
///                  &EsrOptions::at_extract_date());
/// assert_eq!(out.failure(), None);
/// assert_eq!(out.workers[0].identifiers[0].sources[0].to_string(),
///            "ESR inbox/2025-03-01/GO_999_GDW_GOF_20250301_00000101.DAT:2 Person ID");
/// ```
pub fn map_go<R: BufRead>(input: R, file_name: Option<&str>, opts: &EsrOptions) -> EsrMapping {
    map_loaded(read_go(input, file_name), opts)
}

/// One GO file read: its rows (of file 0) and what its reader said of it.
struct Loaded {
    /// The file's name as given (a path too: see `map_go`), `-` for none.
    file: Arc<str>,
    rows: Vec<Row>,
    /// Rows the reader rejected (their index in `rows`), and why.
    rejected: Vec<(usize, String)>,
    /// The reader's counts: records read and accepted.
    read: usize,
    accepted: usize,
    /// Fields not valid UTF-8 in a UTF-8 file (row, field), read with
    /// U+FFFD for the bytes that are not.
    undecoded: Vec<(usize, usize)>,
    /// The reader's warnings on accepted rows: (row, field, what).
    warnings: Vec<(usize, usize, String)>,
    /// The reader's file problems, as notes.
    notes: Vec<String>,
    complete: bool,
    file_errors: Vec<String>,
    header_vpd: Option<String>,
    name_vpd: Option<String>,
    header_date: Option<NaiveDate>,
    /// The parsed transport file name (its place in the sequence).
    name: Option<FileName>,
    /// The extract type of the transport name, else of the header's name
    /// (HDR-1: a renamed file, or one read from standard input).
    extract: Option<ExtractType>,
    /// A subscriber's snapshot request (`HDR~<name>~<timestamp>`), not an
    /// extract.
    snapshot_request: bool,
}

/// Reads a whole GO file into rows.
fn read_go<R: BufRead>(input: R, file_name: Option<&str>) -> Loaded {
    let mut reader = GoReader::new(input, file_name, GoOptions::default());
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    let mut undecoded = Vec::new();
    let mut warnings = Vec::new();
    while let Some(entry) = reader.next_record() {
        let typed = entry.typed_fields();
        // The names as the typed view gives them (see `TypedFields`).
        let names = match (typed.as_ref(), entry.layout) {
            (Some(_), Some(l)) if entry.delete => {
                l.fields.get(l.key).map_or(Names::Unknown, Names::Delete)
            }
            (Some(_), Some(l)) => Names::Layout(l.fields),
            _ => Names::Unknown,
        };
        // A known record's code is its layout's; only an unknown one is copied.
        let code = match entry.text(0) {
            Some(c) => match entry.layout {
                Some(l) if l.code == c => Cow::Borrowed(l.code),
                _ => Cow::Owned(c.into_owned()),
            },
            None => Cow::Borrowed(""),
        };
        let mut row = Row::new(
            code,
            entry.line,
            entry.delete,
            names,
            (
                typed
                    .as_ref()
                    .map_or(entry.record.field_count(), ExactSizeIterator::len),
                entry.record.bytes().len(),
            ),
        );
        if typed.is_some() {
            row.layout = entry.layout;
        }
        // Every rejected row, of a layout or not (an unknown record code, a
        // line cut for length), is listed: its fields are then unmapped.
        if !entry.accepted {
            rejected.push((
                rows.len(),
                entry
                    .problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        } else {
            // An accepted row's warnings (an invalid e-mail, FTE above 1…)
            // each reach the report as an `invalid` entry.
            warnings.extend(
                entry
                    .problems
                    .iter()
                    .map(|p| (rows.len(), p.field_index.unwrap_or(0), p.kind.to_string())),
            );
        }
        let Some(typed) = typed else {
            // Unknown record code: every non-empty field is unmapped.
            for i in 0..entry.record.field_count() {
                if let Some(t) = entry.text(i) {
                    note_undecoded(&entry, i, &t, (rows.len(), &mut undecoded));
                    row.push(&t, Typed::Other);
                }
            }
            rows.push(row);
            continue;
        };
        // The typed view borrows from the line: each field's text is decoded
        // once, straight into the row's string.
        for (i, (name, value)) in typed.enumerate() {
            let t = match value {
                FieldRef::Date(d) => Typed::Date(d),
                FieldRef::End(e) => Typed::End(e),
                FieldRef::Flag(b) => Typed::Flag(b),
                _ => Typed::Other,
            };
            // A delete row's fields are its code and key, at positions 0 and 1.
            debug_assert_eq!(Some(name), names.get(i), "field {i} of line {}", entry.line);
            let text = entry.text(i).unwrap_or_default();
            note_undecoded(&entry, i, &text, (rows.len(), &mut undecoded));
            row.push(&text, t);
        }
        // Fields after the layout's last (a rejected row with too many) are
        // unnamed, and unmapped as the rest of the row is.
        for i in row.fields.len()..entry.record.field_count() {
            let text = entry.text(i).unwrap_or_default();
            note_undecoded(&entry, i, &text, (rows.len(), &mut undecoded));
            row.push(&text, Typed::Other);
        }
        rows.push(row);
    }
    let file: Arc<str> = Arc::from(file_name.unwrap_or("-"));
    let summary = reader.summary();
    let header_vpd = summary
        .header
        .as_ref()
        .map(|h| h.vpd.trim().to_owned())
        .filter(|v| !v.is_empty());
    let mut notes = Vec::new();
    // The VPD keys every id the workers' Bundles write: one holding control
    // characters (a garbled header) is not used, so none reaches a FHIR string.
    let header_vpd = match header_vpd {
        Some(v) if v.chars().any(forbidden_control) => {
            notes.push(format!(
                "{file}: the header's VPD {v:?} holds control characters: not used"
            ));
            None
        }
        v => v,
    };
    for p in &summary.problems {
        notes.push(format!("{file}: {p}"));
    }
    let complete = summary.complete;
    let file_errors: Vec<String> = summary
        .problems
        .iter()
        .filter(|p| p.severity == Severity::File)
        .map(|p| p.kind.to_string())
        .collect();
    if !complete {
        notes.push(format!(
            "{file}: file incomplete (the file errors above): not to be applied as a delta"
        ));
    }
    let header_date = summary
        .header
        .as_ref()
        .and_then(|h| h.created)
        .map(|t| t.date());
    let name_vpd = summary
        .name
        .as_ref()
        .map(|n| n.vpd.trim().to_owned())
        .filter(|v| !v.is_empty() && !v.chars().any(forbidden_control));
    Loaded {
        name: summary.name.clone(),
        extract: summary.name.as_ref().map(|n| n.extract).or_else(|| {
            let h = summary.header.as_ref()?;
            FileName::parse(&h.file_name).ok().map(|n| n.extract)
        }),
        snapshot_request: summary.header.as_ref().is_some_and(|h| h.snapshot_request),
        file,
        rows,
        rejected,
        read: count(summary.read),
        accepted: count(summary.accepted),
        undecoded,
        warnings,
        notes,
        complete,
        file_errors,
        header_vpd,
        name_vpd,
        header_date,
    }
}

/// A reader's record count as a `usize` (saturating: a count past
/// `usize::MAX` cannot be held in memory anyway).
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Adds field `i` of `entry` (row `row`) to `undecoded` when its `text` has
/// U+FFFD for bytes that are not UTF-8 (a UTF-8 file: ISO-8859-1 decodes
/// every byte).
fn note_undecoded(
    entry: &Entry<'_>,
    i: usize,
    text: &str,
    (row, undecoded): (usize, &mut Vec<(usize, usize)>),
) {
    if text.contains('\u{FFFD}')
        && entry
            .field(i)
            .is_some_and(|b| std::str::from_utf8(b).is_err())
    {
        undecoded.push((row, i));
    }
}

/// The VPD that scopes every ESR id: HDR-3, else the caller's, else the
/// file name's (noted); none: the workers are quarantined (see `identity`).
fn pick_vpd(l: &Loaded, opts: &EsrOptions, notes: &mut Vec<String>) -> String {
    match (&l.header_vpd, &opts.vpd, &l.name_vpd) {
        (Some(v), ..) | (None, Some(v), _) => v.clone(),
        (None, None, Some(v)) => {
            notes.push(format!(
                "{}: the header carries no VPD: the file name's VPD {v} scopes its ids",
                l.file
            ));
            v.clone()
        }
        (None, None, None) => String::new(),
    }
}

/// Maps one file read.
fn map_loaded(mut l: Loaded, opts: &EsrOptions) -> EsrMapping {
    let mut notes = Vec::new();
    let vpd = pick_vpd(&l, opts, &mut notes);
    let mut report = MappingReport::default();
    report.notes.append(&mut l.notes);
    report.notes.append(&mut notes);
    let as_at = opts.as_at.or(l.header_date);
    let out = EsrMapping {
        complete: l.complete,
        file_errors: l.file_errors,
        read: l.read,
        accepted: l.accepted,
        rejected: l.rejected.len(),
        as_at,
        ..EsrMapping::default()
    };
    let mut ctx = Ctx::new(vec![l.file], l.rows, vpd, report, as_at);
    ctx.undecoded = l.undecoded;
    ctx.warnings = warned(l.warnings);
    resolve(ctx, l.rejected, out)
}

/// How [`map_go_files`] used one file.
///
/// ```
/// use carecodec_map::esr::{map_go_files, EsrOptions, FileUse};
///
/// let full = "HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n\
/// PRA~7100001~20230401~47121231~80000001~Mr.~Smith~John~~~~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20230401 120000~~~~~\n\
/// TRL~3\n";
/// let change = "HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021503~999~20250301 000000~20250302 000000~01\n\
/// PRD~7100001\n\
/// TRL~3\n";
/// // The full file, its change file, and the change file delivered again.
/// let out = map_go_files(
///     [
///         (Some("GO_999_GDW_GOF_20250301_00000101.DAT"), full.as_bytes()),
///         (Some("GO_999_GDW_GOC_20250302_00000102.DAT"), change.as_bytes()),
///         (Some("GO_999_GDW_GOC_20250302_00000102.DAT"), change.as_bytes()),
///     ],
///     &EsrOptions::at_extract_date(),
/// );
/// let used: Vec<FileUse> = out.files.iter().map(|f| f.applied).collect();
/// assert_eq!(used, [FileUse::Base, FileUse::Changes, FileUse::Redelivery]);
/// assert_eq!(out.failure(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileUse {
    /// The first file: the state starts from it (a change file too: then
    /// the state holds only what it holds).
    Base,
    /// A full or refresh file after others: the state before it is dropped.
    Rebase,
    /// A change file applied on top of the state.
    Changes,
    /// The sequence of the file before it again: a re-delivery, skipped.
    Redelivery,
    /// Not applied: it, or a file before it, broke the sequence or is
    /// incomplete (see [`EsrMapping::stopped`]).
    NotApplied,
    /// Not applied: it, or a file before it, broke the sequence or is
    /// incomplete, and a later full (or refresh) file re-based past it
    /// (noted; not a failure).
    Superseded,
}

/// One file given to [`map_go_files`], in the order applied.
///
/// ```
/// use carecodec_esr::filename::ExtractType;
/// use carecodec_map::esr::{map_go_files, EsrOptions, FileUse};
///
/// let change = "HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021503~999~20250301 000000~20250302 000000~01\n\
/// PRD~7100001\n\
/// TRL~3\n";
/// let full = "HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n\
/// TRL~2\n";
/// // Given change file first: applied in sequence order, the full file first.
/// let out = map_go_files(
///     [
///         (Some("GO_999_GDW_GOC_20250302_00000102.DAT"), change.as_bytes()),
///         (Some("GO_999_GDW_GOF_20250301_00000101.DAT"), full.as_bytes()),
///     ],
///     &EsrOptions::at_extract_date(),
/// );
/// let first = &out.files[0];
/// assert_eq!(first.name, "GO_999_GDW_GOF_20250301_00000101.DAT");
/// assert_eq!(first.extract, Some(ExtractType::Full));
/// assert_eq!(first.applied, FileUse::Base);
/// assert_eq!(out.files[1].extract, Some(ExtractType::Changes));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EsrFile {
    /// The file's name, as given (`-` when none).
    pub name: String,
    /// Its extract type, from its GO file name, else its header's (HDR-1).
    pub extract: Option<ExtractType>,
    /// What was done with it.
    pub applied: FileUse,
}

/// A row's record code and key among the files (`PRA~7100001`), built in
/// `buf`: a later file's rows of the same code and key replace the earlier
/// files' rows whose effective dates overlap theirs (see `map_go_files`).
/// Delete rows and rows read without a layout have none.
fn code_key_of<'b>(r: &Row, buf: &'b mut String) -> Option<&'b str> {
    let l = r.layout?;
    if r.delete {
        return None;
    }
    let key = r.raw_at(l.key)?;
    buf.clear();
    buf.push_str(&r.code);
    buf.push('~');
    buf.push_str(key);
    Some(buf.as_str())
}

/// True when two effective periods share a day (no start: from always; an
/// undated row is always in effect).
fn overlaps(a: (Option<NaiveDate>, EndDate), b: (Option<NaiveDate>, EndDate)) -> bool {
    let starts_by = |s: Option<NaiveDate>, end: EndDate| s.is_none_or(|s| end.covers(s));
    starts_by(a.0, b.1) && starts_by(b.0, a.1)
}

/// The family key (`row_key`) of a row a delete can take out, or of a
/// delete row.
fn family_of(r: &Row, buf: &mut String) -> Option<String> {
    let l = r.layout?;
    let key = r.raw_at(if r.delete { 1 } else { l.key })?;
    Some(row_key(buf, &r.code, key).to_owned())
}

/// Why file `next` may not be applied after `prev` (the last file applied),
/// or how it is applied.
fn next_use(prev: Option<&Loaded>, next: &Loaded) -> Result<FileUse, String> {
    let Some(n) = &next.name else {
        return Err("no GO file name: its place in the sequence is unknown".to_owned());
    };
    let Some((p, prev)) = prev.and_then(|l| l.name.as_ref().map(|n| (n, l))) else {
        return Err("the file before it has no GO file name: the sequence is unknown".to_owned());
    };
    if n.vpd != p.vpd || n.sub_file != p.sub_file {
        return Err(format!(
            "VPD {} sub-file {} after VPD {} sub-file {}: not the same sequence",
            n.vpd, n.sub_file, p.vpd, p.sub_file
        ));
    }
    if next.snapshot_request {
        return Err("a snapshot request, not an extract".to_owned());
    }
    if !next.complete {
        return Err(format!("file incomplete ({})", next.file_errors.join("; ")));
    }
    match n.extract {
        ExtractType::Full | ExtractType::Refresh => Ok(FileUse::Rebase),
        // The same file again is a re-delivery; other rows under the same
        // sequence are a conflict: which file is the truth is not known.
        ExtractType::Changes if n.sequence == p.sequence && same_rows(prev, next) => {
            Ok(FileUse::Redelivery)
        }
        ExtractType::Changes if n.sequence == p.sequence => Err(format!(
            "sequence {} again, as {}, with other rows: not a re-delivery, a conflict \
             (which of the two files is the truth is not known)",
            n.sequence, prev.file
        )),
        ExtractType::Changes if Some(n.sequence) == p.sequence.checked_add(1) => {
            Ok(FileUse::Changes)
        }
        _ => Err(format!(
            "sequence {} after sequence {}: a gap (a change file must be the next)",
            n.sequence, p.sequence
        )),
    }
}

/// True when two files hold the same rows (code, line and every field's
/// text, the reader's verdict on each): a re-delivery of one file, whatever
/// its header's timestamps say.
fn same_rows(a: &Loaded, b: &Loaded) -> bool {
    a.rows.len() == b.rows.len()
        && a.rejected.len() == b.rejected.len()
        && a.rejected.iter().zip(&b.rejected).all(|(x, y)| x.0 == y.0)
        && a.rows.iter().zip(&b.rows).all(|(x, y)| {
            x.code == y.code
                && x.line == y.line
                && x.delete == y.delete
                && x.text == y.text
                && x.fields
                    .iter()
                    .map(|f| f.end)
                    .eq(y.fields.iter().map(|f| f.end))
        })
}

/// Maps several Generic Outbound files of one VPD and sub-file as one
/// state: the files are applied in (extract date, sequence) order (from
/// their names), and one [`Worker`] is built per person of the state after
/// the last file applied, as at `opts.as_at` (default: that file's HDR-2).
/// Each file is given with its name as for [`map_go`]: as the user gave it
/// (a path names it in every source, note and [`EsrFile`]), its final path
/// component read as the GO name.
///
/// - The first file is the base. A full (or refresh) file after it
///   re-bases: every row before it is dropped.
/// - A file dated after another of its VPD and sub-file with a lower
///   sequence is not applied (a failure naming both): the date order and
///   the sequence order disagree, and neither is guessed.
/// - A change file must be the next sequence of the same VPD and sub-file;
///   the same sequence again is a re-delivery, skipped, when it holds the
///   same rows (else a conflict: not applied, see below). A file's rows of
///   one record code and key replace every earlier file's row of that code
///   and key whose effective dates they cover (the later file is the truth
///   for the days it covers: a re-sent row, a corrected start, a split or a
///   split undone); a row they cover in part is in effect only on the days
///   no later row covers; earlier rows over other days stay (history;
///   undated records always overlap). A delete `XXD~<id>`
///   takes out every earlier file's row of that family and id (its own
///   file's rows are set aside as [`map_go`] does).
/// - A gap in the sequence, another VPD or sub-file, a file with no GO
///   name or an incomplete file (file errors) is not applied, nor any
///   change file after it: [`EsrMapping::complete`] is false and
///   [`EsrMapping::failure`] names the file and why; the state of the files
///   before it is mapped. (The first file is mapped even when incomplete,
///   as [`map_go`] maps it.) A full (or refresh) file after the stop
///   re-bases past it: the files skipped are [`FileUse::Superseded`]
///   (noted), and only a stop after the last full file is a failure.
///
/// Nothing is hidden: the fields of a row not applied (superseded, deleted
/// by a later file, re-based away, or of a file not applied) are listed as
/// unmapped, with a note naming the file and line that took it out; each
/// value's [`Source`] names its own file. Accounting is over all files.
/// With one file this is [`map_go`] (and [`EsrMapping::files`] names it).
///
/// ```
/// use carecodec_map::esr::{map_go_files, EsrOptions, FileUse};
///
/// let full = "HDR~GO_999_GDW_GOF_20250301_00000101.DAT~20250301 021503~999~00000000 000000~20250301 000000~01\n\
/// PRA~7100001~20230401~47121231~80000001~Mr.~Smith~John~~~~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~old@example.invalid~~~20230401 120000~~~~~\n\
/// PRA~7100002~20230401~47121231~80000002~Ms.~Jones~Ann~~~~~F~19900101~JK000012A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20230401 120000~~~~~\n\
/// TRL~4\n";
/// // The change file sends a new e-mail (same identity: replaced) and
/// // deletes person 7100002.
/// let change = "HDR~GO_999_GDW_GOC_20250302_00000102.DAT~20250302 021503~999~20250301 000000~20250302 000000~01\n\
/// PRA~7100001~20230401~47121231~80000001~Mr.~Smith~John~~~~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~new@example.invalid~~~20250301 120000~~~~~\n\
/// PRD~7100002\n\
/// TRL~4\n";
/// let out = map_go_files(
///     [
///         (Some("GO_999_GDW_GOC_20250302_00000102.DAT"), change.as_bytes()),
///         (Some("GO_999_GDW_GOF_20250301_00000101.DAT"), full.as_bytes()),
///     ],
///     &EsrOptions::at_extract_date(),
/// );
/// assert_eq!(out.failure(), None);
/// assert_eq!(out.files.iter().map(|f| f.applied).collect::<Vec<_>>(), [FileUse::Base, FileUse::Changes]);
/// assert_eq!(out.workers.len(), 1);
/// let email = &out.workers[0].telecom[0];
/// assert_eq!(email.value.value, "new@example.invalid");
/// assert_eq!(email.sources[0].to_string(), "ESR GO_999_GDW_GOC_20250302_00000102.DAT:2 Office E-mail Address");
/// // The replaced row's fields are unmapped, with a note saying by what.
/// assert!(out.report.unmapped.iter().any(|u| u.raw == "old@example.invalid"));
/// assert!(out.report.balanced());
/// ```
pub fn map_go_files<'n, R: BufRead>(
    files: impl IntoIterator<Item = (Option<&'n str>, R)>,
    opts: &EsrOptions,
) -> EsrMapping {
    let mut loaded: Vec<Loaded> = files
        .into_iter()
        .map(|(name, input)| read_go(input, name))
        .collect();
    // (extract date, sequence) order; files with no GO name last, as given.
    loaded.sort_by_key(|l| match &l.name {
        Some(n) => (false, n.date, n.sequence),
        None => (true, None, 0),
    });
    let (uses, stopped) = plan(&loaded);
    let files: Vec<EsrFile> = loaded
        .iter()
        .zip(&uses)
        .map(|(l, u)| EsrFile {
            name: l.file.to_string(),
            extract: l.extract,
            applied: u.0,
        })
        .collect();
    if loaded.len() == 1 {
        let mut out = loaded
            .pop()
            .map(|l| map_loaded(l, opts))
            .unwrap_or_default();
        out.files = files;
        return out;
    }
    merge(loaded, &uses, files, stopped, opts)
}

/// Why file `k` (in (date, sequence) order) is out of order: an earlier
/// dated file of its VPD and sub-file has a higher sequence, so the dates
/// and the sequences disagree on which comes first (not guessed). Keeps
/// `highest` (the highest sequence so far of each VPD and sub-file).
fn out_of_order<'a>(
    loaded: &'a [Loaded],
    highest: &mut HashMap<(&'a str, &'a str), (u64, usize)>,
    k: usize,
) -> Option<String> {
    let n = loaded.get(k)?.name.as_ref()?;
    let key = (n.vpd.as_str(), n.sub_file.as_str());
    match highest.get(&key).copied() {
        Some((seq, j)) if seq > n.sequence => {
            let other = loaded.get(j)?;
            let day = |d: Option<NaiveDate>| d.map_or_else(|| "-".to_owned(), |d| d.to_string());
            Some(format!(
                "dated {} with sequence {}, after {} dated {} with sequence {}: the date order \
                 and the sequence order disagree (which comes first is not known)",
                day(n.date),
                n.sequence,
                other.file,
                day(other.name.as_ref().and_then(|o| o.date)),
                seq
            ))
        }
        Some(_) | None => {
            highest.insert(key, (n.sequence, k));
            None
        }
    }
}

/// How each file (in order) is used, with why for a file not applied
/// (noted), and the failure: the file that stopped the final chain (from
/// the last full file applied on) and why.
///
/// A file out of sequence or incomplete stops the sequence: no change file
/// after it is applied. A full (or refresh) file after it re-bases past it
/// (the remedy ESR gives for a broken sequence): the files skipped before
/// it are `Superseded`, and applying continues from it.
fn plan(loaded: &[Loaded]) -> (Vec<(FileUse, Option<String>)>, Option<String>) {
    let mut uses: Vec<(FileUse, Option<String>)> = Vec::with_capacity(loaded.len());
    // The last file applied.
    let mut prev: Option<&Loaded> = None;
    // The file that stopped the sequence, why, and whether the files after
    // it are named in the failure (not for an incomplete first file).
    let mut stop: Option<(usize, String, bool)> = None;
    // The highest sequence so far of each VPD and sub-file, and its file.
    let mut highest: HashMap<(&str, &str), (u64, usize)> = HashMap::new();
    for (k, l) in loaded.iter().enumerate() {
        let step = match out_of_order(loaded, &mut highest, k) {
            Some(why) => Err(why),
            None if k == 0 => Ok(FileUse::Base),
            None => next_use(prev, l),
        };
        if let Some((s, why, _)) = &stop {
            if !matches!(step, Ok(FileUse::Rebase)) {
                uses.push((FileUse::NotApplied, None));
                continue;
            }
            // A full file re-bases past the stop.
            let by = &l.file;
            let first = loaded.get(*s).map(|f| f.file.clone());
            for (j, u) in uses.iter_mut().enumerate().skip(*s) {
                if u.0 != FileUse::NotApplied {
                    continue;
                }
                let name = loaded.get(j).map(|f| f.file.clone()).unwrap_or_default();
                let cause = if j == *s {
                    why.clone()
                } else {
                    format!("{name}: after {}", first.as_deref().unwrap_or("-"))
                };
                *u = (
                    FileUse::Superseded,
                    Some(format!(
                        "{cause}: not applied, superseded by the full file {by} (a re-base)"
                    )),
                );
            }
            stop = None;
        }
        match step {
            Ok(u) => {
                if u != FileUse::Redelivery {
                    prev = Some(l);
                }
                // Nothing but a full file is applied after an incomplete
                // first file (the files after it are complete).
                if !l.complete {
                    stop = Some((
                        k,
                        format!(
                            "{}: file incomplete ({}): no change file after it is applied",
                            l.file,
                            l.file_errors.join("; ")
                        ),
                        false,
                    ));
                }
                uses.push((u, None));
            }
            Err(why) => {
                stop = Some((k, format!("{}: not applied ({why})", l.file), true));
                uses.push((FileUse::NotApplied, None));
            }
        }
    }
    let stopped = stop.map(|(s, why, rest)| {
        let after = loaded.len().saturating_sub(s + 1);
        match after {
            _ if !rest => why,
            0 => why,
            1 => format!("{why}, nor the file after it"),
            n => format!("{why}, nor the {n} files after it"),
        }
    });
    (uses, stopped)
}

/// Applies the files (in order, as `plan` says) and maps the state.
fn merge(
    loaded: Vec<Loaded>,
    uses: &[(FileUse, Option<String>)],
    files: Vec<EsrFile>,
    stopped: Option<String>,
    opts: &EsrOptions,
) -> EsrMapping {
    let applied = |u: FileUse| matches!(u, FileUse::Base | FileUse::Rebase | FileUse::Changes);
    let mut notes = Vec::new();
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    let mut undecoded = Vec::new();
    let mut warnings = Vec::new();
    let mut names = Vec::with_capacity(loaded.len());
    let mut ranges = Vec::with_capacity(loaded.len());
    let (mut vpd, mut header_date, mut complete, mut file_errors) = (None, None, true, Vec::new());
    let (mut read, mut accepted) = (0usize, 0usize);
    // Applied files after the last one with a valid HDR-2.
    let mut undated: Vec<Arc<str>> = Vec::new();
    // The final chain: from the last full file re-basing the state on (the
    // files before it do not make the state incomplete).
    let last_base = uses
        .iter()
        .rposition(|u| u.0 == FileUse::Rebase)
        .unwrap_or(0);
    for (k, (l, (u, _))) in loaded.into_iter().zip(uses).enumerate() {
        notes.extend(l.notes.iter().cloned());
        if vpd.is_none() {
            vpd = Some(pick_vpd(&l, opts, &mut notes));
        }
        // The as-at default: the last applied file's HDR-2 that is valid
        // (one without is a file error, noted by the reader).
        if applied(*u) {
            match l.header_date {
                Some(d) => {
                    header_date = Some(d);
                    undated.clear();
                }
                None => undated.push(l.file.clone()),
            }
        }
        if !l.complete && k >= last_base {
            complete = false;
            file_errors.extend(l.file_errors.iter().map(|e| format!("{}: {e}", l.file)));
        }
        let offset = rows.len();
        read = read.saturating_add(l.read);
        accepted = accepted.saturating_add(l.accepted);
        rejected.extend(l.rejected.into_iter().map(|(i, why)| (i + offset, why)));
        undecoded.extend(l.undecoded.into_iter().map(|(i, f)| (i + offset, f)));
        warnings.extend(l.warnings.into_iter().map(|(i, f, w)| (i + offset, f, w)));
        rows.extend(l.rows.into_iter().map(|mut r| {
            r.file = k;
            r
        }));
        ranges.push(offset..rows.len());
        names.push(l.file);
    }
    if stopped.is_some() {
        complete = false;
    }
    if let (None, Some(d)) = (opts.as_at, header_date) {
        for f in undated {
            notes.push(format!(
                "{f}: no valid HDR creation date: the state is resolved as at {d}, the last \
                 applied file's that has one"
            ));
        }
    }
    let as_at = opts.as_at.or(header_date);
    let mut report = MappingReport::default();
    report.notes.append(&mut notes);
    let mut ctx = Ctx::new(names, rows, vpd.unwrap_or_default(), report, as_at);
    ctx.undecoded = undecoded;
    ctx.warnings = warned(warnings);
    // The notes on the whole state name the last file applied.
    if let Some(k) = uses.iter().rposition(|u| applied(u.0)) {
        ctx.file = ctx.file_name(k);
    }
    let rejected_rows: HashSet<usize> = rejected.iter().map(|(i, _)| *i).collect();
    apply_files(&mut ctx, uses, &ranges, &rejected_rows);
    let out = EsrMapping {
        complete,
        file_errors,
        read,
        accepted,
        rejected: rejected.len(),
        as_at,
        files,
        stopped,
        ..EsrMapping::default()
    };
    resolve(ctx, rejected, out)
}

/// Takes out of the state, file by file, the rows a later file replaces,
/// deletes or re-bases away, and the rows of files not applied, each with
/// a note (`ctx.excluded`; their fields stay unmapped).
fn apply_files(
    ctx: &mut Ctx,
    uses: &[(FileUse, Option<String>)],
    ranges: &[std::ops::Range<usize>],
    rejected: &HashSet<usize>,
) {
    // The state: rows of the files applied so far, by code and key, and by
    // family (what a delete takes out).
    let mut by_code_key: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_family: HashMap<String, Vec<usize>> = HashMap::new();
    let mut buf = String::new();
    // The first file of the state: the rows before it are all out.
    let mut state_from = 0;
    for (k, ((u, why), range)) in uses.iter().zip(ranges).enumerate() {
        let name = ctx.file_name(k);
        match u {
            FileUse::Redelivery | FileUse::NotApplied => {
                ctx.excluded.extend(range.clone());
                let why = if *u == FileUse::Redelivery {
                    "the same sequence again (a re-delivery): skipped"
                } else {
                    "not applied (see the failure)"
                };
                ctx.report
                    .notes
                    .push(format!("{name}: {why}: its fields are unmapped"));
                continue;
            }
            FileUse::Superseded => {
                ctx.excluded.extend(range.clone());
                let why = why
                    .clone()
                    .unwrap_or_else(|| format!("{name}: not applied"));
                ctx.report
                    .notes
                    .push(format!("{why}: its fields are unmapped"));
                continue;
            }
            FileUse::Rebase => {
                let mut earlier: Vec<usize> = Vec::new();
                let since = ranges.get(state_from..k).unwrap_or_default();
                state_from = k;
                for i in since.iter().flat_map(Clone::clone) {
                    if ctx.excluded.insert(i) {
                        if let Some(r) = ctx.rows.get(i) {
                            earlier.push(r.file);
                        }
                    }
                }
                earlier.sort_unstable();
                earlier.dedup();
                for f in earlier {
                    let old = ctx.file_name(f);
                    ctx.report.notes.push(format!(
                        "{old}: its rows still in the state are superseded by the full file \
                         {name} (a re-base): their fields are unmapped"
                    ));
                }
                by_code_key.clear();
                by_family.clear();
            }
            FileUse::Base | FileUse::Changes => {}
        }
        // This file's rows replace and delete the earlier files' rows.
        let out = taken_out(
            ctx,
            range.clone(),
            &name,
            rejected,
            &by_code_key,
            &by_family,
        );
        for (j, why) in out {
            if ctx.excluded.insert(j) {
                ctx.note(j, &format!("{why}: not applied (its fields are unmapped)"));
            }
        }
        // Then this file's rows join the state.
        for i in range.clone() {
            let Some(r) = ctx.rows.get(i) else { continue };
            if rejected.contains(&i) || r.delete {
                continue;
            }
            if let Some(ck) = code_key_of(r, &mut buf) {
                by_code_key.entry(ck.to_owned()).or_default().push(i);
            }
            if let Some(fam) = family_of(r, &mut buf) {
                by_family.entry(fam).or_default().push(i);
            }
        }
    }
    // The files whose rows made the final state: applied, from the last
    // full file on.
    ctx.joined = uses
        .iter()
        .enumerate()
        .map(|(k, (u, _))| {
            k >= state_from && matches!(u, FileUse::Base | FileUse::Rebase | FileUse::Changes)
        })
        .collect();
}

/// The earlier files' rows (still in the state) that the rows of one file
/// (`range`, named `name`) take out, each with why, in the order of the
/// file's rows: a delete takes out every row of its family and id; the
/// rows of one record code and key take out each row of that code and key
/// whose effective dates overlap any of theirs (Oracle date-tracking keeps
/// one row per id a day, so the later file is the truth for the days it
/// covers: a re-sent row, a corrected start, a split undone); earlier rows
/// they do not overlap stay (history).
fn taken_out(
    ctx: &mut Ctx,
    range: std::ops::Range<usize>,
    name: &str,
    rejected: &HashSet<usize>,
    by_code_key: &HashMap<String, Vec<usize>>,
    by_family: &HashMap<String, Vec<usize>>,
) -> Vec<(usize, String)> {
    let mut buf = String::new();
    // This file's rows by code and key, in order.
    let mut mine: HashMap<String, Vec<usize>> = HashMap::new();
    for i in range.clone() {
        let Some(r) = ctx.rows.get(i) else { continue };
        if rejected.contains(&i) {
            continue;
        }
        if let Some(ck) = code_key_of(r, &mut buf) {
            if by_code_key.contains_key(ck) {
                mine.entry(ck.to_owned()).or_default().push(i);
            }
        }
    }
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut partly: Vec<(usize, String)> = Vec::new();
    for i in range {
        if rejected.contains(&i) {
            continue;
        }
        let Some(r) = ctx.rows.get(i) else { continue };
        let at = |line: u64| format!("{name}:{line}");
        if r.delete {
            let Some(fam) = family_of(r, &mut buf) else {
                continue;
            };
            let hit: Vec<usize> = by_family
                .get(&fam)
                .into_iter()
                .flatten()
                .copied()
                .filter(|j| !ctx.excluded.contains(j))
                .collect();
            let line = r.line;
            if !hit.is_empty() {
                ctx.carried.insert(i);
                ctx.gone.insert(fam, format!("deleted in {}", at(line)));
                ctx.took.entry(i).or_default().extend(hit.iter().copied());
            }
            out.extend(
                hit.into_iter()
                    .map(|j| (j, format!("deleted by {}", at(line)))),
            );
            continue;
        }
        let Some(ck) = code_key_of(r, &mut buf) else {
            continue;
        };
        // Each code and key once, at its first row in the file.
        let Some(group) = mine.remove(ck) else {
            continue;
        };
        for &j in by_code_key.get(ck).into_iter().flatten() {
            if ctx.excluded.contains(&j) {
                continue;
            }
            let Some(old) = ctx.rows.get(j).map(Row::period) else {
                continue;
            };
            // The same row sent again (same start) names it, else the first
            // row over its dates.
            let over: Vec<(usize, bool, Period)> = group
                .iter()
                .filter_map(|&g| Some((g, ctx.rows.get(g)?)))
                .filter(|(_, new)| overlaps(old, new.period()))
                .map(|(g, new)| (g, new.period().0 == old.0, new.period()))
                .collect();
            let hit = over.iter().find(|o| o.1).or_else(|| over.first());
            let Some(&(g, same_start, _)) = hit else {
                continue;
            };
            let line = ctx.rows.get(g).map_or(0, |r| r.line);
            // Every day of it covered by a later row (this file's or an
            // earlier later file's): out; else kept for the days left.
            let mut by = ctx.covered.get(&j).cloned().unwrap_or_default();
            by.extend(over.iter().map(|o| o.2));
            if covered(old, &mut by) {
                ctx.covered.remove(&j);
                // The same id and start: sent again as it was, or changed
                // (naming the fields that differ).
                let changed = match (ctx.rows.get(j), ctx.rows.get(g)) {
                    (Some(a), Some(b)) if same_start => changed_fields(a, b),
                    _ => Vec::new(),
                };
                let how = if !same_start {
                    "a later file's row of the same id over its effective dates".to_owned()
                } else if changed.is_empty() {
                    "the same row, sent again unchanged".to_owned()
                } else {
                    format!(
                        "the same row (same id and effective start), changed: {}",
                        changed.join(", ")
                    )
                };
                out.push((j, format!("superseded by {} ({how})", at(line))));
            } else {
                ctx.covered.insert(j, by);
                partly.push((
                    j,
                    format!(
                        "partly superseded by {} (a later file's row of the same id over some \
                         of its effective dates): in effect only on the days no later row covers",
                        at(line)
                    ),
                ));
            }
        }
    }
    for (j, why) in partly {
        ctx.note(j, &why);
    }
    out
}

/// The names of the fields whose (trimmed) text differs between two rows
/// of one record (the same row sent again, changed or not).
fn changed_fields(a: &Row, b: &Row) -> Vec<&'static str> {
    (0..a.fields.len().max(b.fields.len()))
        .filter(|&i| a.field_text(i).trim() != b.field_text(i).trim())
        .map(|i| b.name(i))
        .collect()
}

/// An effective period: start (`None`: from always) and end.
type Period = (Option<NaiveDate>, EndDate);

/// True when the periods `by` (sorted here) cover every day of `span`.
fn covered(span: Period, by: &mut [Period]) -> bool {
    by.sort_by_key(|p| p.0);
    // The first day of `span` not covered yet (`None`: from always).
    let mut from = span.0;
    for &(s, e) in by.iter() {
        if let Some(s) = s {
            if from.is_none_or(|f| s > f) {
                return false;
            }
        }
        match e {
            EndDate::Open => return true,
            EndDate::On(d) if from.is_none_or(|f| d >= f) => match d.succ_opt() {
                Some(next) => from = Some(next),
                None => return true,
            },
            _ => {}
        }
        if let (EndDate::On(end), Some(f)) = (span.1, from) {
            if f > end {
                return true;
            }
        }
    }
    false
}

/// Resolves the rows of `ctx` as at its date into workers, and accounts
/// for every field.
fn resolve(mut ctx: Ctx, rejected: Vec<(usize, String)>, mut out: EsrMapping) -> EsrMapping {
    let read_rejected: HashSet<usize> = rejected.iter().map(|(i, _)| *i).collect();
    for (i, why) in rejected {
        let raw = ctx
            .rows
            .get(i)
            .map(|r| {
                (0..r.fields.len())
                    .map(|i| r.field_text(i))
                    .collect::<Vec<_>>()
                    .join("~")
            })
            .unwrap_or_default();
        let src = ctx.source(i, "Record Type");
        ctx.invalid(
            src,
            raw,
            format!("row rejected by the reader: {why}"),
            Action::Dropped,
        );
    }
    index_rejected(&mut ctx, &read_rejected);
    for (row, i) in std::mem::take(&mut ctx.undecoded) {
        let Some(r) = ctx.rows.get(row) else { continue };
        let (name, raw) = (r.name(i), r.field_text(i).to_owned());
        let src = ctx.source(row, name);
        ctx.invalid(
            src,
            raw,
            "not UTF-8 (the file's byte order mark says UTF-8): read with U+FFFD for the bytes \
             that are not",
            Action::Interpreted,
        );
    }
    // Rows not applied (superseded or deleted by a later file, or of a file
    // not applied: see `map_go_files`) are passed over as rejected ones are.
    let mut skip = read_rejected.clone();
    skip.extend(ctx.excluded.iter().copied());
    let rejected_rows = skip;
    apply_deletes(&mut ctx, &rejected_rows);

    // Rows are known by their record prefix and key joined (`PR` + person
    // id: see `row_key`); `probe` is reused to look them up.
    let mut probe = String::new();
    // Live rows: not deleted, not rejected, in effect; the rest are set aside.
    let Some(as_at) = ctx.as_at else {
        ctx.report.notes.push(format!(
            "{}: no as-at date given and no HDR creation date: nothing resolved",
            ctx.file
        ));
        out.deleted = deletions(&mut ctx, &rejected_rows, &[]);
        report_warnings(&mut ctx);
        finish(&mut ctx);
        out.report = ctx.report;
        return out;
    };
    ctx.report
        .notes
        .push(format!("{}: resolved as at {as_at}", ctx.file));
    ctx.as_at = Some(as_at);
    let mut live: HashMap<String, usize> = HashMap::new();
    // Every date-tracked row of each assignment (deleted and rejected rows
    // aside), in effect or not: the assignment's life spans them.
    let mut tracked: HashMap<String, Vec<usize>> = HashMap::new();
    for i in 0..ctx.rows.len() {
        let Some(r) = ctx.rows.get(i) else { continue };
        if r.delete || rejected_rows.contains(&i) {
            continue;
        }
        let Some(kf) = key_field(&r.code) else {
            continue;
        };
        let Some(key) = r.key(kf) else { continue };
        let (file, line) = (r.file, r.line);
        row_key(&mut probe, &r.code, &key);
        match ctx.deleted.get(probe.as_str()) {
            Some(&(f, at)) if f == file && line < at => {
                ctx.set_aside.insert(probe.clone());
                ctx.consume_row(i);
                ctx.note(
                    i,
                    &format!("{kf} {key} deleted in this file: row set aside"),
                );
                continue;
            }
            // Sent again after its delete, in the same file: a re-add.
            Some(&(f, at)) if f == file => {
                ctx.note(
                    i,
                    &format!(
                        "{kf} {key} deleted at line {at} and sent again after it: kept (a re-add)"
                    ),
                );
            }
            Some(_) | None => {}
        }
        let Some(r) = ctx.rows.get(i) else { continue };
        if probe.starts_with("AS") {
            tracked.entry(probe.clone()).or_default().push(i);
        }
        if !r.in_effect(as_at) {
            ctx.set_aside.insert(probe.clone());
            ctx.consume_row(i);
            ctx.note(
                i,
                &format!("{kf} {key} not in effect on {as_at}: row set aside"),
            );
            continue;
        }
        // A later file's row of the same id covers the date.
        let later = ctx.covered.get(&i).is_some_and(|c| {
            c.iter()
                .any(|&(s, e)| s.is_none_or(|s| s <= as_at) && e.covers(as_at))
        });
        if later {
            ctx.set_aside.insert(probe.clone());
            ctx.consume_row(i);
            ctx.note(
                i,
                &format!("{kf} {key}: a later file's row covers {as_at}: row set aside"),
            );
            continue;
        }
        let start = r.period().0;
        match live.get(probe.as_str()).copied() {
            Some(j) => {
                let other = ctx.rows.get(j).and_then(|o| o.period().0);
                let (keep, drop) = if start >= other { (i, j) } else { (j, i) };
                if let Some(k) = live.get_mut(probe.as_str()) {
                    *k = keep;
                }
                ctx.consume_row(drop);
                ctx.note(
                    drop,
                    &format!("{kf} {key}: superseded by a later row in effect on {as_at}"),
                );
            }
            None => {
                live.insert(probe.clone(), i);
            }
        }
    }

    note_unmatched_deletes(&mut ctx, &rejected_rows);

    let persons = persons_in_order(&ctx, &live, &read_rejected, &mut probe);
    // Assignment and extra-information rows in effect, by person, in file order.
    let mut by_person: HashMap<String, Vec<(&'static str, usize)>> = HashMap::new();
    for (k, &i) in &live {
        let tag = match k.get(..2) {
            Some("AS") => "AS",
            Some("ET") => "ET",
            _ => continue,
        };
        if let Some(p) = ctx.rows.get(i).and_then(|r| r.raw("Person ID")) {
            by_person.entry(p.to_owned()).or_default().push((tag, i));
        }
    }
    for rows in by_person.values_mut() {
        rows.sort_unstable_by_key(|(_, i)| *i);
    }
    let mut workers = Vec::with_capacity(persons.len());
    for &pi in &persons {
        let w = worker(&mut ctx, pi, &live, &by_person, &tracked);
        let decision = identity(&w);
        ctx.report.identity.push(decision);
        workers.push(w);
    }
    note_orphans(&mut ctx, &persons, &by_person);
    registration_conflicts(&workers, &mut ctx.report);
    out.deleted = deletions(&mut ctx, &rejected_rows, &workers);
    report_warnings(&mut ctx);
    finish(&mut ctx);
    out.workers = workers;
    out.report = ctx.report;
    out
}

/// The row in effect (in `live`) of each person, in the order the state
/// first had the person: by the person's first `PRA` row (any, in effect
/// or not, replaced by a later file or not; not one the reader rejected)
/// among the files whose rows joined the state, in the order applied. One
/// file: its order. A full file and its change files: the full file's
/// persons in its order, then the persons each change file adds, whichever
/// file re-sent a person's row.
fn persons_in_order(
    ctx: &Ctx,
    live: &HashMap<String, usize>,
    read_rejected: &HashSet<usize>,
    probe: &mut String,
) -> Vec<usize> {
    // (row, the row in effect of its person) of each person row of the state.
    let mut rows: Vec<(usize, usize)> = Vec::new();
    for (i, r) in ctx.rows.iter().enumerate() {
        if r.delete
            || key_field(&r.code) != Some("Person ID")
            || read_rejected.contains(&i)
            || !ctx.joined(r.file)
        {
            continue;
        }
        let Some(id) = r.raw("Person ID") else {
            continue;
        };
        if let Some(&j) = live.get(row_key(probe, &r.code, id)) {
            rows.push((i, j));
        }
    }
    // Each person once, at their first row; then in that order.
    rows.sort_unstable_by_key(|&(i, j)| (j, i));
    rows.dedup_by_key(|p| p.1);
    rows.sort_unstable();
    rows.into_iter().map(|(_, j)| j).collect()
}

/// Fills `ctx.rejected` with the keys of rows the reader rejected.
fn index_rejected(ctx: &mut Ctx, rejected_rows: &HashSet<usize>) {
    let mut probe = String::new();
    for &i in rejected_rows {
        let Some(r) = ctx.rows.get(i) else { continue };
        if r.delete {
            continue;
        }
        if let Some(key) = key_field(&r.code).and_then(|kf| r.raw(kf)) {
            let k = row_key(&mut probe, &r.code, key).to_owned();
            ctx.rejected.insert(k);
        }
    }
}

/// Reads the delete rows into `ctx.deleted`. A delete of a record type the
/// model holds is consumed (the as-at rule applies it). A delete of a
/// record type the model does not hold is left unmapped, as that type's
/// other rows are, with a note. A rejected delete is not applied (it is in
/// `invalid`).
fn apply_deletes(ctx: &mut Ctx, rejected_rows: &HashSet<usize>) {
    let mut probe = String::new();
    let mut not_held = Vec::new();
    for (i, r) in ctx.rows.iter().enumerate() {
        if !r.delete || rejected_rows.contains(&i) {
            continue;
        }
        match key_field(&r.code) {
            Some(kf) => {
                if let Some(key) = r.raw(kf) {
                    ctx.deleted.insert(
                        row_key(&mut probe, &r.code, key).to_owned(),
                        (r.file, r.line),
                    );
                }
            }
            None => not_held.push(i),
        }
    }
    for i in 0..ctx.rows.len() {
        if ctx
            .rows
            .get(i)
            .is_some_and(|r| r.delete && key_field(&r.code).is_some())
            && !rejected_rows.contains(&i)
        {
            ctx.consume_row(i);
        }
    }
    for i in not_held {
        let why = if ctx.carried.contains(&i) {
            "delete of a record type the model does not hold: it took that type's rows of the \
             earlier files out of the state (its fields are unmapped)"
        } else {
            "delete of a record type the model does not hold: not applied (its fields are unmapped)"
        };
        ctx.note(i, why);
    }
}

/// The persons and assignments the delete rows applied remove (see
/// [`EsrDeletion`]), in the order of their (last) delete rows: a person by
/// its id; an assignment by each Assignment Number of the rows it took out
/// (an earlier file's, or its own file's before it). A delete of what
/// `workers` still hold (sent again after it) gives none, noted.
fn deletions(ctx: &mut Ctx, skip: &HashSet<usize>, workers: &[Worker]) -> Vec<EsrDeletion> {
    let mut out: Vec<(usize, EsrDeletion)> = Vec::new();
    let mut again = Vec::new();
    for (i, r) in ctx.rows.iter().enumerate() {
        if !r.delete || skip.contains(&i) {
            continue;
        }
        let (what, kf) = match r.code.get(..2) {
            Some("PR") => (DeletedRecord::Person, "Person ID"),
            Some("AS") => (DeletedRecord::Assignment, "Assignment ID"),
            _ => continue,
        };
        let Some(id) = r.raw(kf).and_then(clean) else {
            continue;
        };
        let keys = match what {
            DeletedRecord::Person => vec![id],
            DeletedRecord::Assignment => assignment_numbers(ctx, i, &id, skip),
        };
        for key in keys {
            let held = workers.iter().any(|w| match what {
                DeletedRecord::Person => w.identifiers.iter().any(
                    |x| matches!(&x.value, Identifier::EsrPerson { value, .. } if *value == key),
                ),
                DeletedRecord::Assignment => w
                    .assignments
                    .iter()
                    .any(|a| a.number.as_ref().is_some_and(|n| n.value.value() == key)),
            });
            if held {
                again.push((i, key));
                continue;
            }
            // A delete sent twice: its last row.
            out.retain(|(_, d)| (d.what, d.key.as_str()) != (what, key.as_str()));
            let d = EsrDeletion {
                what,
                vpd: ctx.vpd.clone(),
                key,
                source: ctx.source(i, kf),
            };
            out.push((i, d));
        }
    }
    for (i, key) in again {
        let what = if ctx.rows.get(i).is_some_and(|r| r.code.starts_with("PR")) {
            "person"
        } else {
            "assignment"
        };
        ctx.note(
            i,
            &format!("the {what} {key} is in the state again after this delete: not deleted"),
        );
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, d)| d).collect()
}

/// The Assignment Numbers (distinct, in row order) of the rows of
/// assignment `id` that delete row `del` took out: the earlier files' rows
/// it took (`ctx.took`), and its own file's rows before it.
fn assignment_numbers(ctx: &Ctx, del: usize, id: &str, skip: &HashSet<usize>) -> Vec<String> {
    let Some(d) = ctx.rows.get(del) else {
        return Vec::new();
    };
    let took = ctx.took.get(&del).map(Vec::as_slice).unwrap_or_default();
    let mut rows: Vec<usize> = took.to_vec();
    rows.extend(
        ctx.rows
            .iter()
            .enumerate()
            .take(del)
            .filter(|(j, r)| {
                r.file == d.file
                    && !r.delete
                    && !skip.contains(j)
                    && r.code.starts_with("AS")
                    && r.raw("Assignment ID") == Some(id)
            })
            .map(|(j, _)| j),
    );
    rows.sort_unstable();
    let mut numbers: Vec<String> = Vec::new();
    for j in rows {
        let n = ctx
            .rows
            .get(j)
            .and_then(|r| r.raw("Assignment Number"))
            .and_then(clean);
        if let Some(n) = n.filter(|n| !numbers.contains(n)) {
            numbers.push(n);
        }
    }
    numbers
}

/// An id as `Ctx::text` keeps it: control characters removed, trimmed;
/// `None` when nothing is left.
fn clean(v: &str) -> Option<String> {
    let kept: String = v.chars().filter(|&c| !forbidden_control(c)).collect();
    Some(kept.trim().to_owned()).filter(|k| !k.is_empty())
}

/// Notes each delete whose key matched no row of the file (a row sent
/// earlier): the note is then all that carries the delete.
fn note_unmatched_deletes(ctx: &mut Ctx, rejected_rows: &HashSet<usize>) {
    let mut probe = String::new();
    let mut notes = Vec::new();
    for (i, r) in ctx.rows.iter().enumerate() {
        if !r.delete || rejected_rows.contains(&i) || ctx.carried.contains(&i) {
            continue;
        }
        let Some(kf) = key_field(&r.code) else {
            continue;
        };
        let Some(key) = r.raw(kf) else { continue };
        let k = row_key(&mut probe, &r.code, key);
        if !ctx.set_aside.contains(k) && !ctx.rejected.contains(k) {
            // A person is deleted by its id alone (`deletions`); the rest
            // need a row of theirs to key what was sent.
            let carried = if r.code.starts_with("PR") {
                "the delete is carried by the person id alone"
            } else {
                "the delete is not carried into the model"
            };
            notes.push((
                i,
                format!(
                    "{kf} {key} deleted, and no row of it is in {}: {carried}",
                    ctx.here()
                ),
            ));
        }
    }
    for (i, why) in notes {
        ctx.note(i, &why);
    }
}

/// Notes each assignment or extra-information row in effect whose person
/// gave no worker (its fields stay unmapped): the person is deleted, not in
/// effect, rejected, or not in the file (a change file that changes only an
/// assignment).
fn note_orphans(
    ctx: &mut Ctx,
    persons: &[usize],
    by_person: &HashMap<String, Vec<(&'static str, usize)>>,
) {
    let mapped: HashSet<&str> = persons
        .iter()
        .filter_map(|&i| ctx.rows.get(i).and_then(|r| r.raw("Person ID")))
        .collect();
    let mut orphans: Vec<(usize, String)> = Vec::new();
    let mut probe = String::new();
    for (pid, rows) in by_person {
        if mapped.contains(pid.as_str()) {
            continue;
        }
        let why = ctx.absent_why(row_key(&mut probe, "PR", pid));
        for &(tag, i) in rows {
            let what = if tag == "AS" {
                "assignment"
            } else {
                "extra information"
            };
            orphans.push((
                i,
                format!("Person ID {pid} {why}: {what} not mapped (its fields are unmapped)"),
            ));
        }
    }
    orphans.sort_unstable();
    for (i, why) in orphans {
        ctx.note(i, &why);
    }
}

fn worker(
    ctx: &mut Ctx,
    pi: usize,
    live: &HashMap<String, usize>,
    by_person: &HashMap<String, Vec<(&'static str, usize)>>,
    tracked: &HashMap<String, Vec<usize>>,
) -> Worker {
    let mut w = Worker::default();
    ctx.touch(pi, "Record Type");
    let _ = ctx.date(pi, "Effective Start Date");
    let _ = ctx.date(pi, "Effective End Date");
    let vpd = ctx.vpd.clone();
    let person_id = ctx.text(pi, "Person ID");
    if let Some(id) = &person_id {
        w.identifiers
            .push(id.clone().map(|value| Identifier::EsrPerson {
                vpd: vpd.clone(),
                value,
            }));
    }
    if let Some(n) = ctx.text(pi, "Employee Number") {
        w.identifiers.push(n.map(|value| Identifier::EsrEmployee {
            vpd: vpd.clone(),
            value,
        }));
    }
    if let Some(ni) = ctx.text(pi, "National Insurance Number") {
        let value: String = ni
            .value
            .split_whitespace()
            .collect::<String>()
            .to_uppercase();
        let valid = valid_ni(&value);
        if !valid {
            ctx.invalid_value(
                &ni,
                "not a valid NI number format",
                Action::NotUsedForMatching,
            );
        }
        w.identifiers
            .push(ni.map(|_| Identifier::NiNumber { value, valid }));
    }
    if let Some(u) = ctx.text(pi, "NHS Unique ID") {
        w.identifiers.push(u.map(|value| Identifier::Other {
            system: Some("ESR NHS Unique ID".into()),
            value,
        }));
    }
    // Names.
    let title = ctx.text(pi, "Title");
    let family = ctx.text(pi, "Last Name");
    let first = ctx.text(pi, "First Name");
    let middle = ctx.text(pi, "Middle Names");
    let mut sources = Sources::new();
    for s in [&title, &family, &first, &middle].into_iter().flatten() {
        sources.extend(s.sources.iter().cloned());
    }
    if !sources.is_empty() {
        let mut given: Vec<String> = first.map(|f| f.value).into_iter().collect();
        if let Some(m) = middle {
            given.extend(m.value.split_whitespace().map(str::to_owned));
        }
        w.names.push(Sourced::from_many(
            HumanName {
                family: family.as_ref().map(|f| f.value.clone()),
                given,
                prefix: title
                    .map(|t| t.value.trim_end_matches('.').to_owned())
                    .into_iter()
                    .collect(),
                suffix: Vec::new(),
                usage: Some("official".into()),
                period: None,
            },
            sources,
        ));
    }
    if let Some(p) = ctx.text(pi, "Preferred Name") {
        let fam = family.as_ref().map(|f| f.value.clone());
        w.names.push(p.map(|g| HumanName {
            family: fam,
            given: vec![g],
            usage: Some("usual".into()),
            ..HumanName::default()
        }));
    }
    for (field, usage) in [("Maiden Name", "maiden"), ("Previous Last Name", "old")] {
        if let Some(f) = ctx.text(pi, field) {
            w.names.push(f.map(|v| HumanName {
                family: Some(v),
                usage: Some(usage.into()),
                ..HumanName::default()
            }));
        }
    }
    w.gender = ctx.text(pi, "Gender").and_then(|g| {
        let v = match g.value.to_ascii_uppercase().as_str() {
            "M" | "MALE" | "1" => Gender::Male,
            "F" | "FEMALE" | "2" => Gender::Female,
            "U" | "UNKNOWN" | "0" | "X" => Gender::Unknown,
            "9" | "I" | "O" => Gender::Other,
            _ => {
                ctx.invalid_value(&g, "unknown gender code", Action::Dropped);
                return None;
            }
        };
        Some(g.map(|_| v))
    });
    w.birth_date = ctx
        .date(pi, "Date of Birth")
        .map(|d| d.map(PartialDate::day));
    // An address without exactly one `@` (the reader's warning) is no
    // e-mail address: not kept, so never written as one.
    if let Some(e) =
        ctx.text(pi, "Office E-mail Address")
            .filter(|e| match e.value.matches('@').count() {
                1 => true,
                _ => {
                    let why = "invalid e-mail address (not exactly one @): not kept, so not \
                           written as an e-mail";
                    ctx.invalid_value(e, why, Action::Dropped);
                    false
                }
            })
    {
        w.telecom.push(e.map(|value| Telecom {
            system: Some("email".into()),
            value,
            usage: Some("work".into()),
            period: None,
            rank: None,
        }));
    }
    w.hire_date = ctx.date(pi, "Hire Date");
    w.termination_date = ctx.date(pi, "Actual Termination Date");

    let Some(pid) = person_id.map(|p| p.value) else {
        return w;
    };
    // Assignments and registrations of this person, in file order.
    let mine = by_person.get(&pid).cloned().unwrap_or_default();
    // The person's employee status decides its assignments' state: read
    // (consumed) only when there is one to decide.
    let leaver = if mine.iter().any(|(p, _)| *p == "AS") {
        ctx.text(pi, "Employee Status Flag")
    } else {
        None
    };
    let person_end = PersonEnd {
        termination: w.termination_date.clone(),
        leaver: leaver.filter(|f| f.value.eq_ignore_ascii_case("X")),
    };
    for (prefix, ai) in mine {
        if prefix == "AS" {
            let mut a = assignment(ctx, ai, live);
            let mut probe = String::new();
            let rows = ctx
                .rows
                .get(ai)
                .and_then(|r| r.raw("Assignment ID"))
                .and_then(|k| tracked.get(row_key(&mut probe, "AS", k)))
                .map_or(&[][..], Vec::as_slice);
            life(ctx, ai, rows, &person_end, &mut a);
            w.assignments.push(a);
        } else if let Some(r) = registration(ctx, ai) {
            w.registrations.push(r);
        }
    }
    w
}

fn assignment(ctx: &mut Ctx, ai: usize, live: &HashMap<String, usize>) -> Assignment {
    let vpd = ctx.vpd.clone();
    for f in ["Record Type", "Person ID", "Assignment ID"] {
        ctx.touch(ai, f);
    }
    let number = ctx.text(ai, "Assignment Number").map(|n| {
        n.map(|value| Identifier::EsrAssignment {
            vpd: vpd.clone(),
            value,
        })
    });
    let primary = ctx.flag(ai, "Primary Assignment");
    let user_status = ctx.text(ai, "User Assignment Status");
    let system_status = ctx.text(ai, "System Assignment Status");
    let status = user_status.or(system_status);
    let grade = ctx.text(ai, "Grade");
    let fte = ctx.text(ai, "FTE");
    let mut a = Assignment {
        number,
        primary,
        status,
        grade,
        fte,
        ..Assignment::default()
    };
    let mut probe = String::new();
    if let Some(pi) = reference(ctx, ai, ("Position ID", "PO"), live, &mut probe) {
        ctx.touch(ai, "Position Name");
        a.position = Some(position(ctx, pi));
        a.staff_group = ctx.text(pi, "Job Staff Group");
        a.job_role = ctx.text(pi, "Job Role");
        a.occupation_code = ctx.text(pi, "Occupation Code");
    } else {
        // The position row is not here (a change file need not repeat it):
        // the ASA's own Position Name flexfield gives the position number,
        // title and occupation code; the Position ID stays unmapped.
        if let Some(pos) = ctx.text(ai, "Position Name") {
            note_unkept_segments(ctx, ai, &pos.value);
            let segment = |n: usize| {
                let v = pos
                    .value
                    .split('|')
                    .nth(n)
                    .map(str::trim)
                    .unwrap_or_default();
                (pos.value.contains('|') && !v.is_empty())
                    .then(|| Sourced::from_many(v.to_owned(), pos.sources.clone()))
            };
            let number = segment(0).map(|n| {
                n.map(|value| Identifier::EsrPosition {
                    vpd: vpd.clone(),
                    value,
                })
            });
            a.occupation_code = segment(2);
            a.position = Some(Position {
                number,
                title: Some(pos.map(|v| kff_title(&v))),
            });
        }
        // The ASA's Job Name (`<staff group>|<job role>`) gives the staff
        // group and job role the position row would have.
        // Without a `|` it is left unmapped (which part it is is unknown).
        let kff = ctx
            .rows
            .get(ai)
            .and_then(|r| r.raw("Job Name"))
            .is_some_and(|v| v.contains('|'));
        let job = if kff { ctx.text(ai, "Job Name") } else { None };
        if let Some(job) = job {
            let mut parts = job.value.split('|').map(str::trim);
            let mut part = || {
                parts
                    .next()
                    .filter(|v| !v.is_empty())
                    .map(|v| Sourced::from_many(v.to_owned(), job.sources.clone()))
            };
            a.staff_group = part();
            a.job_role = part();
        }
    }
    if let Some(oi) = reference(ctx, ai, ("Organisation ID", "OR"), live, &mut probe) {
        a.organisation = Some(organisation(ctx, oi));
    } else if let Some(id) = ctx.text(ai, "Organisation ID") {
        a.organisation = Some(Organisation {
            identifiers: vec![id.map(|value| Identifier::Other {
                system: Some("ESR organisation ID".into()),
                value,
            })],
            ..Organisation::default()
        });
    }
    if let Some(li) = reference(ctx, ai, ("Assignment Location ID", "LC"), live, &mut probe) {
        a.location = Some(location(ctx, li));
    } else if let Some(id) = ctx.text(ai, "Assignment Location ID") {
        a.location = Some(Location {
            identifiers: vec![id.map(|value| Identifier::Other {
                system: Some("ESR location ID".into()),
                value,
            })],
            ..Location::default()
        });
    }
    a
}

/// The row in effect that field `field` of assignment row `ai` refers to
/// (rows of record prefix `prefix`), the field then consumed; when there is
/// none, a note says why and what is kept (the field is left for the
/// caller: a bare id in the model, or unmapped). `probe` is scratch space.
fn reference(
    ctx: &mut Ctx,
    ai: usize,
    (field, prefix): (&'static str, &str),
    live: &HashMap<String, usize>,
    probe: &mut String,
) -> Option<usize> {
    row_key(probe, prefix, ctx.rows.get(ai)?.raw(field)?);
    if let Some(&i) = live.get(probe.as_str()) {
        ctx.touch(ai, field);
        return Some(i);
    }
    let why = ctx.absent_why(probe);
    let kept = if prefix == "PO" {
        "the position is taken from the assignment's Position Name; the id is unmapped"
    } else {
        "kept as a bare id"
    };
    let id = probe.get(2..).unwrap_or_default();
    ctx.note(ai, &format!("{field} {id}: the row is {why}: {kept}"));
    None
}

/// Notes the segments of a position key flexfield
/// (`<number>|<title>|<occupation code>|<area of work>|`) beyond the
/// third, which the model does not hold, once per row.
fn note_unkept_segments(ctx: &mut Ctx, row: usize, value: &str) {
    let rest = value.splitn(4, '|').nth(3).unwrap_or_default();
    let rest = rest.trim_matches(|c: char| c == '|' || c.is_whitespace());
    if !rest.is_empty() {
        ctx.note(
            row,
            &format!("Position Name segments not held by the model (area of work…): {rest}"),
        );
    }
}

/// The title segment of a position key flexfield (`4000001|Staff Nurse|N0A|…`).
fn kff_title(v: &str) -> String {
    let parts: Vec<&str> = v.split('|').collect();
    match parts.as_slice() {
        [_, title, ..] if !title.is_empty() => (*title).to_owned(),
        _ => v.to_owned(),
    }
}

fn position(ctx: &mut Ctx, pi: usize) -> Position {
    let vpd = ctx.vpd.clone();
    for f in [
        "Record Type",
        "Position ID",
        "Effective From Date",
        "Effective To Date",
    ] {
        ctx.touch(pi, f);
    }
    Position {
        number: ctx.text(pi, "Position Number").map(|n| {
            n.map(|value| Identifier::EsrPosition {
                vpd: vpd.clone(),
                value,
            })
        }),
        title: position_title(ctx, pi),
    }
}

/// The title of position row `pi` (2nd segment of its Position Name), the
/// segments the model does not hold noted the first time the row is read.
fn position_title(ctx: &mut Ctx, pi: usize) -> Option<Sourced<String>> {
    let first = ctx.rows.get(pi).and_then(|r| {
        let i = r.index("Position Name")?;
        Some(!ctx.used.get(r.first + i).copied().unwrap_or(true))
    });
    let title = ctx.text(pi, "Position Name")?;
    if first == Some(true) {
        note_unkept_segments(ctx, pi, &title.value);
    }
    Some(title.map(|v| kff_title(&v)))
}

fn organisation(ctx: &mut Ctx, oi: usize) -> Organisation {
    for f in ["Record Type", "Effective From Date", "Effective To Date"] {
        ctx.touch(oi, f);
    }
    let mut identifiers = Vec::new();
    if let Some(id) = ctx.text(oi, "Organisation ID") {
        identifiers.push(id.map(|value| Identifier::Other {
            system: Some("ESR organisation ID".into()),
            value,
        }));
    }
    if let Some(nacs) = ctx.text(oi, "NACS Code") {
        identifiers.push(nacs.map(Identifier::OdsOrganisation));
    }
    let part_of = ctx.text(oi, "Parent Organisation ID").map(|p| {
        p.map(|value| Identifier::Other {
            system: Some("ESR organisation ID".into()),
            value,
        })
    });
    Organisation {
        identifiers,
        name: ctx.text(oi, "Organisation Name"),
        part_of,
        address: None,
    }
}

fn location(ctx: &mut Ctx, li: usize) -> Location {
    ctx.touch(li, "Record Type");
    let mut identifiers = Vec::new();
    if let Some(id) = ctx.text(li, "Location ID") {
        identifiers.push(id.map(|value| Identifier::Other {
            system: Some("ESR location ID".into()),
            value,
        }));
    }
    if let Some(site) = ctx.text(li, "Site Code") {
        identifiers.push(site.map(Identifier::OdsSite));
    }
    let name = ctx
        .text(li, "Location Description")
        .or_else(|| ctx.text(li, "Location Code"));
    ctx.touch(li, "Location Code");
    let lines: Vec<Sourced<String>> = [
        "Assignment Address 1st line",
        "Assignment Address 2nd line",
        "Assignment Address 3rd line",
    ]
    .iter()
    .filter_map(|f| ctx.text(li, f))
    .collect();
    let town = ctx.text(li, "Town");
    let county = ctx.text(li, "County");
    let postcode = ctx.text(li, "Postcode");
    let country = ctx.text(li, "Country");
    let mut sources = Sources::new();
    for s in lines
        .iter()
        .chain(town.iter())
        .chain(county.iter())
        .chain(postcode.iter())
        .chain(country.iter())
    {
        sources.extend(s.sources.iter().cloned());
    }
    let address = (!sources.is_empty()).then(|| {
        Sourced::from_many(
            Address {
                lines: lines.into_iter().map(|l| l.value).collect(),
                city: town.map(|t| t.value),
                district: county.map(|c| c.value),
                postcode: postcode.map(|p| p.value),
                country: country.map(|c| c.value),
                usage: Some("work".into()),
                kind: None,
                period: None,
            },
            sources,
        )
    });
    Location {
        identifiers,
        name,
        address,
        ..Location::default()
    }
}

/// An ETA "NHS Regs and Memships" row as a registration; other ETA rows are
/// left unmapped.
fn registration(ctx: &mut Ctx, ei: usize) -> Option<Registration> {
    let info = ctx.rows.get(ei)?.raw("Information Type")?.to_owned();
    if info != "NHS Regs and Memships" {
        return None;
    }
    for f in [
        "Record Type",
        "Person ID",
        "Person Extra Information ID",
        "Information Type",
        "PEI_INFORMATION_CATEGORY",
    ] {
        ctx.touch(ei, f);
    }
    let body = ctx.text(ei, "PEI_INFORMATION1");
    let Some(number) = ctx.text(ei, "PEI_INFORMATION2") else {
        // A body without a number registers nothing: reported, dropped (the
        // row's dates stay unmapped).
        if let Some(b) = &body {
            ctx.invalid_value(
                b,
                "a registration body without a registration number",
                Action::Dropped,
            );
        }
        return None;
    };
    let from = ctx.date(ei, "PEI_INFORMATION3");
    let until = ctx.date(ei, "PEI_INFORMATION5");
    // An expiry before the registration date is no period (FHIR per-1):
    // reported, and the expiry dropped.
    let until = match (from.as_ref().map(|f| f.value), until) {
        (Some(f), Some(u)) if u.value < f => {
            if let Some(src) = u.sources.first() {
                let raw = ctx
                    .rows
                    .get(ei)
                    .and_then(|r| r.raw("PEI_INFORMATION5"))
                    .unwrap_or_default()
                    .to_owned();
                ctx.invalid(
                    src.clone(),
                    raw,
                    format!("registration expiry before its registration date {f}"),
                    Action::Dropped,
                );
            }
            None
        }
        (_, u) => u,
    };
    let value = number.value.trim().to_owned();
    let regulator = body.as_ref().and_then(|b| Regulator::from_body(&b.value));
    let ident = match regulator {
        Some(Regulator::Gmc) => Identifier::Gmc(value),
        Some(Regulator::Nmc) => Identifier::Nmc(value),
        Some(Regulator::Hcpc) => Identifier::Hcpc(value),
        Some(Regulator::Gphc) => Identifier::Gphc(value),
        _ => Identifier::Other {
            system: body.as_ref().map(|b| b.value.clone()),
            value,
        },
    };
    // A number not of its register's shape is kept as text, never a key
    // (it used to stay a GMC number and key the Practitioner's update).
    let ident = match (ident.registration_problem(), ident.invalid_registration()) {
        (Some(why), Some(kept)) => {
            let reason = format!(
                "not a {} registration number ({why}): kept as text, never a key",
                body.as_ref().map_or("", |b| b.value.as_str())
            );
            ctx.invalid_value(&number, reason, Action::NotUsedForMatching);
            kept
        }
        _ => ident,
    };
    let mut sources = number.sources;
    if let Some(b) = body {
        sources.extend(b.sources);
    }
    Some(Registration {
        identifier: Sourced::from_many(ident, sources),
        from,
        until,
    })
}

/// What of the person ends every assignment: the Actual Termination Date
/// and an Employee Status Flag `X` (ex-employee).
struct PersonEnd {
    termination: Option<Sourced<NaiveDate>>,
    leaver: Option<Sourced<String>>,
}

/// An ESR assignment status as an [`AssignmentState`], case-insensitively:
/// Oracle's system statuses (`ACTIVE_ASSIGN`, `SUSP_ASSIGN`, `TERM_ASSIGN`,
/// and the contingent-worker and applicant ones), else a user status whose
/// words say it (`Terminate Assignment`, `Suspended`); `None` for any
/// other (a user status is a trust's own name: `Fixed Term` is no
/// termination).
fn status_state(status: &str) -> Option<AssignmentState> {
    let s = status.trim().to_ascii_uppercase();
    match s.as_str() {
        "ACTIVE_ASSIGN" | "ACTIVE_CWK" | "ACTIVE_APL" | "ACCEPTED" => {
            return Some(AssignmentState::Active);
        }
        "SUSP_ASSIGN" | "SUSP_CWK_ASG" => return Some(AssignmentState::Suspended),
        "TERM_ASSIGN" | "TERM_CWK_ASG" | "TERM_APL" | "END" => {
            return Some(AssignmentState::Terminated);
        }
        _ => {}
    }
    let word = |prefix: &str| {
        s.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w.starts_with(prefix))
    };
    if word("TERMINAT") {
        Some(AssignmentState::Terminated)
    } else if word("SUSPEN") {
        Some(AssignmentState::Suspended)
    } else {
        None
    }
}

/// The state a row's status fields give (system status first).
fn row_state(r: &Row) -> Option<AssignmentState> {
    ["System Assignment Status", "User Assignment Status"]
        .iter()
        .find_map(|f| r.raw(f).and_then(status_state))
}

/// The assignment's life, set on `a`: its start (Earliest Assignment Start
/// Date, else the start of the first of the date-track rows that run
/// without a gap into the row in effect), its end (the first of Assignment
/// End Date, Last Working Day, the person's Actual Termination Date, and
/// the end of the last row that runs on from the row in effect without a
/// gap and is not itself terminated: a row that ends only because a later
/// row of the same assignment follows does not end the assignment), and its
/// state (terminated by its status, its or the person's employee status
/// `X`, or an end before the as-at date; suspended by its status; else
/// active: the row is in effect). `rows` are the assignment's rows in the
/// file (deleted and rejected ones aside).
fn life(ctx: &mut Ctx, ai: usize, rows: &[usize], person: &PersonEnd, a: &mut Assignment) {
    let row_start = ctx.date(ai, "Effective Start Date");
    let _ = ctx.date(ai, "Effective End Date");
    let (Some(here), Some(as_at)) = (ctx.rows.get(ai), ctx.as_at) else {
        return;
    };
    let terminated_row = row_state(here) == Some(AssignmentState::Terminated);
    let day_before = here.period().0.and_then(|d| d.pred_opt());
    // The rows before and after this one, each the day after the last.
    let next_of = |ctx: &Ctx, i: usize| -> Option<usize> {
        let EndDate::On(end) = ctx.rows.get(i)?.period().1 else {
            return None;
        };
        let day = end.succ_opt()?;
        rows.iter()
            .copied()
            .find(|&j| ctx.rows.get(j).and_then(|r| r.period().0) == Some(day))
    };
    let prev_of = |ctx: &Ctx, i: usize| -> Option<usize> {
        let day = ctx.rows.get(i)?.period().0?.pred_opt()?;
        rows.iter()
            .copied()
            .find(|&j| ctx.rows.get(j).map(|r| r.period().1) == Some(EndDate::On(day)))
    };
    let mut first = ai;
    for _ in 0..rows.len() {
        match prev_of(ctx, first) {
            Some(j) => first = j,
            None => break,
        }
    }
    let mut last = ai;
    if terminated_row {
        // A terminated row says the assignment ended before it.
        if let Some(j) = prev_of(ctx, ai) {
            last = j;
        }
    } else {
        for _ in 0..rows.len() {
            match next_of(ctx, last) {
                Some(j)
                    if ctx.rows.get(j).and_then(row_state) != Some(AssignmentState::Terminated) =>
                {
                    last = j;
                }
                _ => break,
            }
        }
    }
    a.start = match ctx.date(ai, "Earliest Assignment Start Date") {
        Some(d) => Some(d),
        None if first == ai => row_start,
        None => ctx.date(first, "Effective Start Date"),
    };
    let mut ends: Vec<Sourced<NaiveDate>> = Vec::new();
    ends.extend(ctx.date(ai, "Assignment End Date"));
    ends.extend(ctx.date(ai, "Last Working Day"));
    // The person's termination ends this assignment unless it is before the
    // assignment began (an earlier period of service: a rehire).
    let termination = person
        .termination
        .as_ref()
        .filter(|t| a.start.as_ref().is_none_or(|s| t.value >= s.value));
    ends.extend(termination.cloned());
    if terminated_row && last == ai {
        // No row before it: the day before the terminated row starts.
        // (Not when that is before the assignment began: no end is known.)
        if let Some(d) = day_before.filter(|d| a.start.as_ref().is_none_or(|s| *d >= s.value)) {
            ends.push(Sourced::new(d, ctx.source(ai, "Effective Start Date")));
        }
    } else {
        ends.extend(ctx.date(last, "Effective End Date"));
    }
    let mut end = ends.into_iter().min_by_key(|d| d.value);
    if let (Some(e), Some(s)) = (&end, &a.start) {
        if e.value < s.value {
            if let Some(src) = e.sources.first() {
                ctx.invalid(
                    src.clone(),
                    e.value.format("%Y%m%d").to_string(),
                    format!("the assignment's end is before its start ({})", s.value),
                    Action::Dropped,
                );
            }
            end = None;
        }
    }
    // The state, with the fields that decided it.
    let mut why = Sources::new();
    let mut state = None;
    let flag = ctx.text(ai, "Employee Status Flag");
    let said = ["System Assignment Status", "User Assignment Status"]
        .into_iter()
        .find_map(|f| {
            let st = ctx
                .rows
                .get(ai)
                .and_then(|r| r.raw(f))
                .and_then(status_state)?;
            Some((f, st))
        });
    if let Some((f, st)) = said {
        why.push(ctx.source(ai, f));
        state = Some(st);
    }
    let mut leaver = |src: Option<&Source>| {
        if let Some(src) = src {
            if state != Some(AssignmentState::Terminated) {
                why = Sources::new();
            }
            why.push(src.clone());
            state = Some(AssignmentState::Terminated);
        }
    };
    leaver(
        flag.as_ref()
            .filter(|f| f.value.eq_ignore_ascii_case("X"))
            .and_then(|f| f.sources.first()),
    );
    leaver(person.leaver.as_ref().and_then(|f| f.sources.first()));
    leaver(
        termination
            .filter(|t| t.value <= as_at)
            .and_then(|t| t.sources.first()),
    );
    leaver(
        end.as_ref()
            .filter(|e| e.value < as_at)
            .and_then(|e| e.sources.first()),
    );
    a.end = end;
    a.state = Some(match state {
        Some(st) => Sourced::from_many(st, why),
        None => Sourced::new(
            AssignmentState::Active,
            Source::Derived {
                rule: format!("ESR assignment row in effect on {as_at}"),
            },
        ),
    });
}

/// Notes in both identity decisions when two workers of a file hold the same
/// registration (one number, one body): each keeps its own key (its ESR
/// person id), nothing is merged, and whoever loads the file is told.
/// Numbers reported not used for matching are left out.
fn registration_conflicts(workers: &[Worker], report: &mut MappingReport) {
    let unusable: HashSet<&Source> = report
        .invalid
        .iter()
        .filter(|i| i.action == Action::NotUsedForMatching)
        .map(|i| &i.source)
        .collect();
    let mut holders: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (wi, w) in workers.iter().enumerate() {
        for r in &w.registrations {
            if r.identifier.sources.iter().any(|s| unusable.contains(s)) {
                continue;
            }
            let k = (r.identifier.value.kind(), r.identifier.value.value());
            let v = holders.entry(k).or_default();
            if !v.contains(&wi) {
                v.push(wi);
            }
        }
    }
    let mut conflicts: Vec<(usize, String)> = Vec::new();
    for ((kind, number), who) in &holders {
        if who.len() < 2 {
            continue;
        }
        for &wi in who {
            let others: Vec<&str> = who
                .iter()
                .filter(|&&o| o != wi)
                .filter_map(|&o| workers.get(o).and_then(person_id))
                .collect();
            conflicts.push((
                wi,
                format!(
                    "; identity conflict: {kind} {number} is also held by ESR person {}",
                    others.join(", ")
                ),
            ));
        }
    }
    conflicts.sort();
    // The workers' decisions are the last ones made, one each, in order.
    let first = report.identity.len().saturating_sub(workers.len());
    for (wi, why) in conflicts {
        if let Some(d) = report.identity.get_mut(first + wi) {
            d.reason.push_str(&why);
        }
    }
}

fn person_id(w: &Worker) -> Option<&str> {
    w.identifiers.iter().find_map(|i| match &i.value {
        Identifier::EsrPerson { value, .. } => Some(value.as_str()),
        _ => None,
    })
}

/// The ESR person id, scoped by its VPD, keys a worker (it is the record
/// key of every row); a worker without one, or whose VPD is not known, is
/// quarantined.
///
/// ```
/// use carecodec_map::esr::identity;
/// use carecodec_model::{Identifier, Source, Sourced, Worker};
///
/// let mut w = Worker::default();
/// assert!(identity(&w).quarantined());
/// let person = Identifier::EsrPerson { vpd: "999".into(), value: "7100001".into() };
/// w.identifiers.push(Sourced::new(person, Source::esr("GO.DAT", 2, "Person ID")));
/// assert_eq!(identity(&w).key.unwrap().value(), "7100001");
/// // Without its VPD the person id keys nothing.
/// let unscoped = Identifier::EsrPerson { vpd: "".into(), value: "7100001".into() };
/// w.identifiers[0] = Sourced::new(unscoped, Source::esr("GO.DAT", 2, "Person ID"));
/// assert!(identity(&w).quarantined());
/// ```
pub fn identity(w: &Worker) -> IdentityDecision {
    let person = w
        .identifiers
        .iter()
        .find(|i| matches!(i.value, Identifier::EsrPerson { .. }))
        .map(|i| i.value.clone());
    let scoped =
        |i: &Identifier| matches!(i, Identifier::EsrPerson { vpd, .. } if !vpd.trim().is_empty());
    let (key, reason) = match person {
        Some(p) if scoped(&p) => (Some(p), "ESR person id (the record key, VPD-scoped)"),
        Some(_) => (
            None,
            "quarantined: no VPD (HDR-3 empty, none given, none in the file name) to scope the ESR person id",
        ),
        None => (None, "quarantined: no ESR person id"),
    };
    let reason = reason.to_owned();
    IdentityDecision {
        seen: w.identifiers.clone(),
        key,
        reason,
    }
}

/// The reader's warnings on accepted rows, by (row, field), none read yet
/// (two on one field are said together).
fn warned(list: Vec<(usize, usize, String)>) -> HashMap<(usize, usize), (String, bool)> {
    let mut out: HashMap<(usize, usize), (String, bool)> = HashMap::new();
    for (row, field, what) in list {
        match out.get_mut(&(row, field)) {
            Some((w, _)) => {
                w.push_str("; ");
                w.push_str(&what);
            }
            None => {
                out.insert((row, field), (what, false));
            }
        }
    }
    out
}

/// Reports each warning the reader gave on an accepted row (an invalid
/// e-mail, FTE above 1, a non-numeric id …) as an `invalid` entry with what
/// was done: a value the mapper read is kept as sent (`kept-as-text`); one
/// it did not read is in no output (`dropped`: its row was set aside, see
/// the notes, or the field is not mapped, see `unmapped`). A value the
/// mapper reported itself (an NI number not used for matching, an e-mail
/// not written) is not reported twice.
fn report_warnings(ctx: &mut Ctx) {
    let mut warnings: Vec<((usize, usize), (String, bool))> =
        std::mem::take(&mut ctx.warnings).into_iter().collect();
    // In file order (a map's order is not the file's).
    warnings.sort_unstable_by_key(|(at, _)| *at);
    if warnings.is_empty() {
        return;
    }
    // The values reported already, looked up once each (a large file may
    // have many warnings and many invalid values).
    let reported: HashSet<Source> = ctx
        .report
        .invalid
        .iter()
        .map(|v| v.source.clone())
        .collect();
    for ((row, i), (what, read)) in warnings {
        let Some(r) = ctx.rows.get(row) else { continue };
        let (name, raw) = (r.name(i), r.field_text(i).trim().to_owned());
        let used = ctx.used.get(r.first + i).copied().unwrap_or(false);
        let src = ctx.source(row, name);
        if reported.contains(&src) {
            continue;
        }
        let (done, action) = if read {
            ("kept as sent", Action::KeptAsText)
        } else if used {
            (
                "not in the output: its row was set aside (see the notes)",
                Action::Dropped,
            )
        } else {
            (
                "not in the output: the field is not mapped (see unmapped)",
                Action::Dropped,
            )
        };
        ctx.invalid(
            src,
            raw,
            format!("{what} (the ESR reader's warning): {done}"),
            action,
        );
    }
}

fn finish(ctx: &mut Ctx) {
    let mut total = 0usize;
    let mut mapped = 0usize;
    let mut unmapped = Vec::new();
    for r in &ctx.rows {
        let used = ctx.used.get(r.first..r.first + r.fields.len());
        for fi in 0..r.fields.len() {
            let name = r.name(fi);
            let raw = r.field_text(fi);
            if raw.trim().is_empty() {
                continue;
            }
            total += 1;
            if used.and_then(|u| u.get(fi)).copied().unwrap_or(false) {
                mapped += 1;
            } else {
                unmapped.push(Unmapped {
                    source: Source::esr(ctx.file_name(r.file), r.line, name),
                    raw: raw.to_owned(),
                });
            }
        }
    }
    ctx.report.source_leaves = total;
    ctx.report.mapped = mapped;
    ctx.report.unmapped = unmapped;
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "GO_998_GDW_GOF_20250401_00000001.DAT";

    fn go(body: &str) -> String {
        // The trailer counts every line, HDR and TRL included.
        let n = body.lines().count() + 2;
        format!(
            "HDR~{FILE}~20250401 020000~998~00000000 000000~20250401 000000~01\n{body}TRL~{n}\n"
        )
    }

    fn at(y: i32, m: u32, d: u32) -> EsrOptions {
        EsrOptions::new(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    const SAMPLE: &str = "\
LCA~510001~998 z 0001 Sample Community Hospital~Sample Community Hospital~~~~~Sampleton~~ZZ99 1AA~GB~~~Y~ZZ9AB~~~~~~20250101 090000
ORA~610001~998 Sample Health NHS Trust~NHS_DE~20100401~~71001~~~998A000~~~510001~20250101 090000~~
POA~810001~20230401~47121231~4000001~4000001|Staff Nurse|N0A|Acute Medicine|~3.0~~Nursing and Midwifery Registered~Staff Nurse~N0A~XR05~XR05|2~~610001~Active~~~~~~~20230401 120000~
PRA~7100001~20230401~47121231~80000001~Mr.~Sample~Owen~James~~Jim~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~owen.sample@example.invalid~~~20230401~~~~~
PRA~7100001~20200101~20230331~80000001~Mr.~Sample~Owen~~~~~M~19880512~JK000011A~~20200101~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20200101 120000~~~~~
ASA~7100001~7200001~20230401~47121231~~E~80000001~ACTIVE_ASSIGN~Active Assignment~~998 Monthly~~510001~~~~~~~~Yes~37.5~Week~37.5~1~~610001~810001~4000001|Staff Nurse|N0A|Acute Medicine|~NHS|XR05|Band 5~~~~Nursing and Midwifery Registered|Staff Nurse~~~~~~~~~~20230401 120000~~~~~~
ETA~7100001~7400001~NHS Regs and Memships~NHS Regs and Memships~Nursing and Midwifery Council~ 01Z2345A~ 01/04/2023 00:00:00~~ 31/03/2027 00:00:00~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~20230401 120000
";

    #[test]
    fn resolves_person_assignment_position_org_location_registration() {
        let out = map_go(go(SAMPLE).as_bytes(), Some(FILE), &at(2025, 4, 1));
        assert!(
            out.report.notes.iter().all(|n| !n.contains("trailer")),
            "{:?}",
            out.report.notes
        );
        assert!(out.report.invalid.is_empty(), "{:?}", out.report.invalid);
        assert!(out.report.balanced());
        assert_eq!(out.workers.len(), 1);
        let w = &out.workers[0];
        assert_eq!(
            w.identifiers[0].value,
            Identifier::EsrPerson {
                vpd: "998".into(),
                value: "7100001".into()
            }
        );
        assert!(w.identifiers.iter().any(|i| matches!(
            &i.value,
            Identifier::NiNumber { valid: true, value } if value == "JK000011A"
        )));
        let name = &w.names[0].value;
        assert_eq!(name.family.as_deref(), Some("Sample"));
        assert_eq!(name.given, vec!["Owen", "James"]);
        assert_eq!(name.prefix, vec!["Mr"]);
        assert_eq!(w.names[1].value.usage.as_deref(), Some("usual"));
        assert_eq!(w.gender.as_ref().map(|g| g.value), Some(Gender::Male));
        assert_eq!(w.telecom.len(), 1);
        let a = &w.assignments[0];
        assert!(a.primary);
        assert_eq!(a.fte.as_ref().map(|f| f.value.as_str()), Some("1"));
        assert_eq!(
            a.position
                .as_ref()
                .and_then(|p| p.title.as_ref())
                .map(|t| t.value.as_str()),
            Some("Staff Nurse")
        );
        assert_eq!(
            a.staff_group.as_ref().map(|s| s.value.as_str()),
            Some("Nursing and Midwifery Registered")
        );
        assert!(a.organisation.as_ref().is_some_and(|o| o.name.is_some()));
        let loc = a.location.as_ref().unwrap();
        assert!(
            loc.identifiers
                .iter()
                .any(|i| i.value == Identifier::OdsSite("ZZ9AB".into()))
        );
        assert_eq!(
            loc.address
                .as_ref()
                .and_then(|a| a.value.postcode.as_deref()),
            Some("ZZ99 1AA")
        );
        let reg = &w.registrations[0];
        assert_eq!(reg.identifier.value, Identifier::Nmc("01Z2345A".into()));
        assert_eq!(
            reg.until.as_ref().map(|d| d.value),
            NaiveDate::from_ymd_opt(2027, 3, 31)
        );
        assert!(
            matches!(&reg.until.as_ref().unwrap().sources[0], Source::Esr { field, .. } if field == "PEI_INFORMATION5")
        );
        // The 2020 person row is set aside with a note, not listed as unmapped.
        assert!(
            out.report
                .notes
                .iter()
                .any(|n| n.contains(":6 PRA") && n.contains("not in effect"))
        );
        assert!(
            !out.report
                .unmapped
                .iter()
                .any(|u| matches!(&u.source, Source::Esr { line: 6, .. }))
        );
        // Every source names its file and line.
        assert!(
            matches!(&w.names[0].sources[0], Source::Esr { line: 5, field, .. } if field == "Title")
        );
        assert_eq!(out.report.identity.len(), 1);
        assert!(!out.report.quarantined());
    }

    #[test]
    fn as_at_an_earlier_date_picks_the_earlier_row() {
        let out = map_go(go(SAMPLE).as_bytes(), Some(FILE), &at(2021, 6, 1));
        assert!(out.report.balanced());
        let w = &out.workers[0];
        // The 2020 row has no middle or preferred name, and the assignment starts in 2023.
        assert_eq!(w.names[0].value.given, vec!["Owen"]);
        assert_eq!(w.names.len(), 1);
        assert!(w.assignments.is_empty());
        assert!(w.registrations.len() == 1, "ETA rows are not date-tracked");
        // The position starts in 2023: set aside. The organisation is in effect but
        // no worker refers to it: unmapped, field by field.
        assert!(!out.report.unmapped.iter().any(|u| u.raw == "4000001"));
        assert!(
            out.report
                .unmapped
                .iter()
                .any(|u| u.raw == "998 Sample Health NHS Trust")
        );
    }

    #[test]
    fn default_date_is_the_extract_date() {
        let out = map_go(
            go(SAMPLE).as_bytes(),
            Some(FILE),
            &EsrOptions::at_extract_date(),
        );
        assert!(
            out.report
                .notes
                .iter()
                .any(|n| n.ends_with("resolved as at 2025-04-01"))
        );
        assert_eq!(out.workers[0].assignments.len(), 1);
    }

    #[test]
    fn deletes_remove_the_person() {
        let body = format!("{SAMPLE}PRD~7100001\n");
        let out = map_go(go(&body).as_bytes(), Some(FILE), &at(2025, 4, 1));
        assert!(out.workers.is_empty());
        assert!(out.report.balanced());
        assert!(out.report.notes.iter().any(|n| n.contains("deleted")));
    }

    #[test]
    fn a_year_fhir_cannot_hold_is_reported() {
        let body = "PRA~7100003~20200101~~80000003~Ms.~Doe~Ann~~~~~F~00000101~~~20200101~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20200101 120000~~~~~\n";
        let out = map_go(go(body).as_bytes(), Some(FILE), &at(2025, 4, 1));
        let dob: Vec<_> = out
            .report
            .invalid
            .iter()
            .filter(|i| i.raw == "00000101")
            .collect();
        assert_eq!(dob.len(), 1, "{:?}", out.report.invalid);
        assert_eq!(dob[0].reason, "a year FHIR cannot hold (0001 to 9999)");
        assert!(out.workers[0].birth_date.is_none());
        assert!(out.report.balanced());
    }

    #[test]
    fn bad_ni_number_and_registration_are_reported() {
        let body = "PRA~7100003~20200101~~80000003~Ms.~Doe~Ann~~~~~F~19800101~QQ12~~20200101~~~E~~~~~~~~~~~~~~EMP~Employee~~~~20200101 120000~~~~~\n\
ETA~7100003~7400003~NHS Regs and Memships~NHS Regs and Memships~General Medical Council~ 12AB~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~20230401 120000\n";
        let out = map_go(go(body).as_bytes(), Some(FILE), &at(2025, 4, 1));
        assert!(out.report.balanced());
        assert_eq!(out.workers.len(), 1);
        assert!(
            out.report.invalid.iter().any(
                |i| i.action == Action::NotUsedForMatching && i.reason.contains("registration")
            )
        );
        // Kept as text, never a GMC number (it used to be one, and key the
        // Practitioner's conditional update).
        assert_eq!(
            out.workers[0].registrations[0].identifier.value,
            Identifier::Other {
                system: Some("GMC (invalid)".into()),
                value: "12AB".into()
            }
        );
        let bundle = crate::fhir::worker_bundle(&out.workers[0]).unwrap();
        let text = bundle.to_string();
        assert!(!text.contains("gmc-number"), "{text}");
        // An ESR worker is keyed on its person id: an update by id, never a
        // conditional update on the invalid number.
        let request = &bundle["entry"][0]["request"];
        assert_eq!(request["method"], "PUT", "{text}");
        assert!(!request["url"].as_str().unwrap().contains('?'), "{text}");
    }

    /// The SAMPLE person and assignment without the rows they refer to.
    const PRA: &str = "PRA~7100001~20230401~47121231~80000001~Mr.~Sample~Owen~James~~Jim~~M~19880512~JK000011A~~20230401~~~E~~~~~~~~~~~~~~EMP~Employee~owen.sample@example.invalid~~~20230401~~~~~\n";
    const ASA: &str = "ASA~7100001~7200001~20230401~47121231~~E~80000001~ACTIVE_ASSIGN~Active Assignment~~998 Monthly~~510001~~~~~~~~Yes~37.5~Week~37.5~1~~610001~810001~4000001|Staff Nurse|N0A|Acute Medicine|~NHS|XR05|Band 5~~~~Nursing and Midwifery Registered|Staff Nurse~~~~~~~~~~20230401 120000~~~~~~\n";

    /// An "NHS Regs and Memships" ETA row of person 7100001 (the SAMPLE's,
    /// with its id, body, number, registration and expiry dates replaced).
    fn eta(id: u32, body: &str, number: &str, from: &str, until: &str) -> String {
        let sample = SAMPLE.lines().find(|l| l.starts_with("ETA~")).unwrap();
        let mut f: Vec<String> = sample.split('~').map(str::to_owned).collect();
        f[2] = id.to_string();
        f[5] = body.to_owned();
        f[6] = number.to_owned();
        f[7] = from.to_owned();
        f[9] = until.to_owned();
        format!("{}\n", f.join("~"))
    }

    fn unmapped(out: &EsrMapping, line: u64, field: &str) -> bool {
        out.report.unmapped.iter().any(
            |u| matches!(&u.source, Source::Esr { line: l, field: f, .. } if *l == line && f == field),
        )
    }

    fn noted(out: &EsrMapping, what: &str) -> bool {
        out.report.notes.iter().any(|n| n.contains(what))
    }

    #[test]
    fn an_assignment_keeps_the_ids_of_rows_not_in_the_file() {
        // A change file with the person and the assignment only: the
        // organisation, location and position rows were sent earlier. The
        // ids used to count as mapped and be lost.
        let out = map_go(
            go(&format!("{PRA}{ASA}")).as_bytes(),
            Some(FILE),
            &at(2025, 4, 1),
        );
        assert!(out.report.balanced());
        let a = &out.workers[0].assignments[0];
        let org = a.organisation.as_ref().unwrap();
        assert_eq!(
            org.identifiers[0].value,
            Identifier::Other {
                system: Some("ESR organisation ID".into()),
                value: "610001".into()
            }
        );
        assert!(
            matches!(&org.identifiers[0].sources[0], Source::Esr { line: 3, field, .. } if field == "Organisation ID")
        );
        let loc = a.location.as_ref().unwrap();
        assert_eq!(loc.identifiers[0].value.value(), "510001");
        // The position from the ASA's Position Name flexfield: number, title,
        // occupation code; the area of work is noted; the Position ID is unmapped.
        let pos = a.position.as_ref().unwrap();
        assert_eq!(
            pos.number.as_ref().map(|n| &n.value),
            Some(&Identifier::EsrPosition {
                vpd: "998".into(),
                value: "4000001".into()
            })
        );
        assert_eq!(pos.title.as_ref().unwrap().value, "Staff Nurse");
        assert_eq!(a.occupation_code.as_ref().unwrap().value, "N0A");
        assert!(unmapped(&out, 3, "Position ID"));
        assert!(!unmapped(&out, 3, "Organisation ID"));
        assert!(noted(
            &out,
            ":3 ASA: Position ID 810001: the row is not in this file"
        ));
        assert!(noted(
            &out,
            ":3 ASA: Organisation ID 610001: the row is not in this file: kept as a bare id"
        ));
        assert!(noted(&out, ":3 ASA: Assignment Location ID 510001"));
        assert!(noted(
            &out,
            ":3 ASA: Position Name segments not held by the model (area of work…): Acute Medicine"
        ));
    }

    #[test]
    fn an_assignment_names_a_deleted_or_future_row() {
        // The organisation deleted in this file, the position not yet in effect.
        let body = format!(
            "ORA~610001~998 Sample Health NHS Trust~NHS_DE~20100401~~71001~~~998A000~~~510001~20250101 090000~~\n\
POA~810001~20260401~47121231~4000001~4000001|Staff Nurse|N0A|Acute Medicine|~3.0~~Nursing and Midwifery Registered~Staff Nurse~N0A~XR05~XR05|2~~610001~Active~~~~~~~20230401 120000~\n\
{PRA}{ASA}ORD~610001\n"
        );
        let out = map_go(go(&body).as_bytes(), Some(FILE), &at(2025, 4, 1));
        assert!(out.report.balanced());
        assert!(noted(
            &out,
            ":5 ASA: Organisation ID 610001: the row is deleted in this file"
        ));
        assert!(noted(
            &out,
            ":5 ASA: Position ID 810001: the row is not in effect on 2025-04-01"
        ));
        let a = &out.workers[0].assignments[0];
        assert_eq!(
            a.organisation.as_ref().unwrap().identifiers[0]
                .value
                .value(),
            "610001"
        );
    }

    #[test]
    fn a_position_row_notes_the_segments_the_model_does_not_hold() {
        let out = map_go(go(SAMPLE).as_bytes(), Some(FILE), &at(2025, 4, 1));
        let segs: Vec<_> = out
            .report
            .notes
            .iter()
            .filter(|n| n.contains("Position Name segments"))
            .collect();
        assert_eq!(segs.len(), 1, "{segs:?}");
        assert!(segs[0].contains(":4 POA:") && segs[0].ends_with("Acute Medicine"));
    }

    #[test]
    fn a_registration_body_without_a_number_is_reported() {
        let body = format!(
            "{PRA}{}",
            eta(
                7400001,
                "Nursing and Midwifery Council",
                "",
                " 01/04/2023 00:00:00",
                ""
            )
        );
        let out = map_go(go(&body).as_bytes(), Some(FILE), &at(2025, 4, 1));
        assert!(out.report.balanced());
        assert!(out.workers[0].registrations.is_empty());
        let inv: Vec<_> = out
            .report
            .invalid
            .iter()
            .filter(|i| i.raw == "Nursing and Midwifery Council")
            .collect();
        assert_eq!(inv.len(), 1, "{:?}", out.report.invalid);
        assert_eq!(inv[0].action, Action::Dropped);
        assert!(inv[0].reason.contains("without a registration number"));
        assert!(unmapped(&out, 3, "PEI_INFORMATION3"));
    }

    #[test]
    fn deletes_that_match_nothing_are_noted() {
        // A change file: deletes of rows sent earlier, and of a record type
        // the model does not hold (costings), with that type's row.
        let body = format!(
            "{PRA}ASD~7200009\nCOD~7300002\nCOA~7100001~7200001~7300001~20250301~~998~~998B171~9901000~~~~~100~20250301 101000\nPRD~7100099\nETD~7400099\n"
        );
        let out = map_go(go(&body).as_bytes(), Some(FILE), &at(2025, 4, 1));
        assert!(out.report.balanced());
        assert!(noted(
            &out,
            ":3 ASD: Assignment ID 7200009 deleted, and no row of it is in this file"
        ));
        assert!(noted(
            &out,
            ":6 PRD: Person ID 7100099 deleted, and no row of it is in this file"
        ));
        assert!(noted(
            &out,
            ":7 ETD: Person Extra Information ID 7400099 deleted"
        ));
        assert!(noted(
            &out,
            ":4 COD: delete of a record type the model does not hold"
        ));
        // The costing delete is unmapped, as its COA is.
        assert!(out.report.unmapped.iter().any(|u| u.raw == "7300002"));
        assert!(out.report.unmapped.iter().any(|u| u.raw == "7300001"));
        assert!(!out.report.unmapped.iter().any(|u| u.raw == "7200009"));
        // A delete that set a row aside needs no such note.
        let out = map_go(
            go(&format!("{SAMPLE}PRD~7100001\n")).as_bytes(),
            Some(FILE),
            &at(2025, 4, 1),
        );
        assert!(
            !noted(&out, "no row of it is in this file"),
            "{:?}",
            out.report.notes
        );
    }

    #[test]
    fn rows_whose_person_gave_no_worker_are_noted() {
        let eta = eta(
            7400001,
            "Nursing and Midwifery Council",
            " 01Z2345A",
            "",
            "",
        );
        // The person not in the file (a change file that changes an assignment).
        let out = map_go(
            go(&format!("{ASA}{eta}")).as_bytes(),
            Some(FILE),
            &at(2025, 4, 1),
        );
        assert!(out.workers.is_empty());
        assert!(noted(
            &out,
            ":2 ASA: Person ID 7100001 not in this file: assignment not mapped"
        ));
        assert!(noted(
            &out,
            ":3 ETA: Person ID 7100001 not in this file: extra information not mapped"
        ));
        assert!(unmapped(&out, 2, "Assignment Number"));
        // Deleted, and not yet in effect.
        let out = map_go(
            go(&format!("{PRA}{ASA}PRD~7100001\n")).as_bytes(),
            Some(FILE),
            &at(2025, 4, 1),
        );
        assert!(noted(
            &out,
            ":3 ASA: Person ID 7100001 deleted in this file: assignment not mapped"
        ));
        let out = map_go(
            go(&format!("{PRA}{ASA}")).as_bytes(),
            Some(FILE),
            &at(2023, 3, 1),
        );
        assert!(noted(
            &out,
            ":2 PRA: Person ID 7100001 not in effect on 2023-03-01"
        ));
        assert!(
            !noted(&out, ":3 ASA: Person ID"),
            "the ASA is not in effect either"
        );
    }

    #[test]
    fn registering_bodies_are_recognised_by_name_not_substring() {
        let eta = |id: u32, body: &str, number: &str| eta(id, body, number, "", "");
        let body = [
            PRA.to_owned(),
            eta(1, "GMC", "7000002"),
            eta(2, "Pharmaceutical Society of Northern Ireland", "1234"),
            eta(3, "Royal Pharmaceutical Society", "2012345"),
            eta(4, "General  Pharmaceutical Council", "2012346"),
            eta(5, "Health & Care Professions Council", "PA12345"),
            eta(6, "nmc", "01Z2345A"),
            eta(7, "General Dental Council", "123456"),
            eta(8, "Not the General Medical Council", "7000003"),
        ]
        .concat();
        let out = map_go(go(&body).as_bytes(), Some(FILE), &at(2025, 4, 1));
        let ids: Vec<_> = out.workers[0]
            .registrations
            .iter()
            .map(|r| r.identifier.value.clone())
            .collect();
        let other = |body: &str, value: &str| Identifier::Other {
            system: Some(body.into()),
            value: value.into(),
        };
        assert_eq!(
            ids,
            [
                Identifier::Gmc("7000002".into()),
                other("Pharmaceutical Society of Northern Ireland", "1234"),
                other("Royal Pharmaceutical Society", "2012345"),
                Identifier::Gphc("2012346".into()),
                Identifier::Hcpc("PA12345".into()),
                Identifier::Nmc("01Z2345A".into()),
                other("General Dental Council", "123456"),
                other("Not the General Medical Council", "7000003"),
            ]
        );
        // No register's shape is checked against another body's number.
        assert!(out.report.invalid.is_empty(), "{:?}", out.report.invalid);
    }

    #[test]
    fn a_registration_expiring_before_it_starts_loses_its_expiry() {
        let body = format!(
            "{PRA}{}",
            eta(
                7400001,
                "Nursing and Midwifery Council",
                " 01Z2345A",
                " 01/04/2022 00:00:00",
                " 31/12/2020 00:00:00"
            )
        );
        let out = map_go(go(&body).as_bytes(), Some(FILE), &at(2025, 4, 1));
        assert!(out.report.balanced());
        let r = &out.workers[0].registrations[0];
        assert_eq!(
            r.from.as_ref().map(|d| d.value),
            NaiveDate::from_ymd_opt(2022, 4, 1)
        );
        assert_eq!(r.until, None);
        let inv: Vec<_> = out.report.invalid.iter().collect();
        assert_eq!(inv.len(), 1, "{inv:?}");
        assert_eq!(inv[0].raw, "31/12/2020 00:00:00");
        assert_eq!(inv[0].action, Action::Dropped);
        assert!(inv[0].reason.contains("expiry before"));
    }

    #[test]
    fn control_characters_are_removed_and_reported() {
        let pra = PRA.replace("~Sample~", "~Nul\u{0}Sam\u{7}ple~");
        let out = map_go(go(&pra).as_bytes(), Some(FILE), &at(2025, 4, 1));
        assert!(out.report.balanced());
        assert_eq!(
            out.workers[0].names[0].value.family.as_deref(),
            Some("NulSample")
        );
        let inv: Vec<_> = out.report.invalid.iter().collect();
        assert_eq!(inv.len(), 1, "{inv:?}");
        assert_eq!(inv[0].raw, "Nul\u{0}Sam\u{7}ple");
        assert_eq!(inv[0].action, Action::Interpreted);
        // The preferred name takes the same family name, clean.
        assert_eq!(
            out.workers[0].names[1].value.family.as_deref(),
            Some("NulSample")
        );
    }

    #[test]
    fn a_vpd_with_control_characters_is_not_used() {
        // Found by the map_esr fuzz target: HDR-3 `9\u{4}\u{0}98` keyed the
        // ids and reached the identifiers' assigner display.
        let text = go(PRA).replace("~998~", "~9\u{4}\u{0}98~");
        let out = map_go(text.as_bytes(), Some(FILE), &at(2025, 4, 1));
        assert!(out.report.balanced());
        assert!(noted(&out, "holds control characters: not used"));
        // The file name's VPD scopes the ids instead.
        assert!(noted(&out, "the file name's VPD 998"));
        let vpds: Vec<&str> = out.workers[0]
            .identifiers
            .iter()
            .filter_map(|i| match &i.value {
                Identifier::EsrPerson { vpd, .. } => Some(vpd.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(vpds, ["998"]);
    }

    #[test]
    fn a_file_with_a_cr_only_line_end_is_read() {
        let lf = go(SAMPLE);
        let cr = lf.replace('\n', "\r");
        let a = map_go(lf.as_bytes(), Some(FILE), &at(2025, 4, 1));
        let b = map_go(cr.as_bytes(), Some(FILE), &at(2025, 4, 1));
        assert_eq!(a.workers, b.workers);
        assert_eq!(b.report.source_leaves, a.report.source_leaves);
        assert!(noted(&b, "CR alone"));
        assert!(!noted(&b, "file error"), "{:?}", b.report.notes);
    }

    /// Whether `out` lists a row of line `line` rejected by the reader,
    /// dropped, for a reason containing `why`.
    fn rejected_row(out: &EsrMapping, line: u64, why: &str) -> bool {
        out.report.invalid.iter().any(|i| {
            matches!(&i.source, Source::Esr { line: l, .. } if *l == line)
                && i.action == Action::Dropped
                && i.reason.contains(why)
        })
    }

    #[test]
    fn a_row_longer_than_the_reader_keeps_is_rejected_and_reported() {
        // The reader keeps the first MiB of a longer line and rejects it:
        // until 2026-12-07 the row (of no layout) was left out of the
        // rejected rows, so the run passed with the person missing.
        let long = PRA.replace("~Owen~", &format!("~{}~", "A".repeat(1_200_000)));
        let out = map_go(
            go(&format!("{long}{ASA}")).as_bytes(),
            Some(FILE),
            &at(2025, 4, 1),
        );
        assert!(out.workers.is_empty());
        assert_eq!(out.rejected, 1);
        // Every record accounted for: the PRA rejected, the ASA accepted.
        assert_eq!((out.read, out.accepted), (2, 1));
        assert!(out.failure().is_some_and(|f| f.contains("1 row rejected")));
        assert!(
            rejected_row(&out, 2, "longer than"),
            "{:?}",
            out.report.invalid
        );
        assert!(out.report.balanced());
        // Its fields (up to the cut) are named and unmapped; the assignment
        // says why its person gave no worker.
        assert!(unmapped(&out, 2, "Person ID"));
        assert!(noted(
            &out,
            ":3 ASA: Person ID 7100001 rejected by the reader: assignment not mapped"
        ));
    }

    #[test]
    fn bytes_not_utf8_in_a_utf8_file_are_reported() {
        // A byte order mark says UTF-8; a First Name with a byte that is
        // not was read with U+FFFD, the row accepted, nothing reported.
        let mut file = b"\xEF\xBB\xBF".to_vec();
        file.extend_from_slice(go(PRA).replace("~Owen~", "~Ow\u{1}en~").as_bytes());
        let at_mark = file.iter().position(|&b| b == 1).unwrap();
        file[at_mark] = 0xFF;
        let out = map_go(&file[..], Some(FILE), &at(2025, 4, 1));
        assert_eq!(out.rejected, 0);
        assert_eq!(out.workers[0].names[0].value.given[0], "Ow\u{FFFD}en");
        let bad: Vec<_> = out
            .report
            .invalid
            .iter()
            .filter(|i| i.action == Action::Interpreted && i.reason.contains("not UTF-8"))
            .collect();
        assert_eq!(bad.len(), 1, "{:?}", out.report.invalid);
        assert!(
            matches!(&bad[0].source, Source::Esr { line: 2, field, .. } if field == "First Name")
        );
        // ISO-8859-1 (no mark): every byte is a character, nothing to report.
        let out = map_go(&file[3..], Some(FILE), &at(2025, 4, 1));
        assert_eq!(out.workers[0].names[0].value.given[0], "Ow\u{FF}en");
        assert!(
            out.report
                .invalid
                .iter()
                .all(|i| !i.reason.contains("UTF-8"))
        );
    }

    #[test]
    fn bundled_sample_file() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/data/esr")
            .join(FILE);
        let bytes = std::fs::read(&path).unwrap();
        let out = map_go(&bytes[..], Some(FILE), &at(2025, 4, 1));
        assert!(out.report.balanced());
        assert_eq!(out.workers.len(), 2);
        assert!(!out.report.quarantined());
        let gmc = out
            .workers
            .iter()
            .flat_map(|w| &w.registrations)
            .any(|r| r.identifier.value == Identifier::Gmc("7654321".into()));
        assert!(gmc);
        for w in &out.workers {
            for a in &w.assignments {
                assert!(a.number.is_some());
                assert!(a.organisation.is_some());
            }
        }
    }

    // Several files applied as one state (`map_go_files`).

    const F1: &str = "GO_998_GDW_GOF_20250401_00000001.DAT";
    const C2: &str = "GO_998_GDW_GOC_20250402_00000002.DAT";
    const C3: &str = "GO_998_GDW_GOC_20250403_00000003.DAT";

    /// A whole GO file named `name` (its header's date the name's).
    fn named(name: &str, body: &str) -> String {
        let date = &name[15..23];
        let n = body.lines().count() + 2;
        format!("HDR~{name}~{date} 020000~998~00000000 000000~{date} 000000~01\n{body}TRL~{n}\n")
    }

    fn files(list: &[(&str, &str)], opts: &EsrOptions) -> EsrMapping {
        let out = map_go_files(
            list.iter().map(|(n, body)| (Some(*n), body.as_bytes())),
            opts,
        );
        assert!(
            out.report.balanced(),
            "mapped {} + unmapped {} != {}",
            out.report.mapped,
            out.report.unmapped.len(),
            out.report.source_leaves
        );
        assert_eq!(out.read, out.accepted + out.rejected);
        out
    }

    fn unmapped_in(out: &EsrMapping, file: &str, line: u64, field: &str) -> bool {
        out.report.unmapped.iter().any(|u| {
            matches!(&u.source, Source::Esr { file: f, line: l, field: n } if &**f == file && *l == line && n == field)
        })
    }

    fn uses(out: &EsrMapping) -> Vec<FileUse> {
        out.files.iter().map(|f| f.applied).collect()
    }

    #[test]
    fn a_change_file_row_replaces_the_same_row_of_the_full_file() {
        let full = named(F1, SAMPLE);
        let pra = PRA.replace("owen.sample@", "owen.new@");
        let change = named(C2, &pra);
        // Given in any order: applied in (date, sequence) order.
        let out = files(&[(C2, &change), (F1, &full)], &at(2025, 4, 2));
        assert_eq!(out.failure(), None);
        assert_eq!(uses(&out), [FileUse::Base, FileUse::Changes]);
        // The records of both files are counted, as the reader counts them.
        let counted = |body: &str, name: &str| {
            let one = map_go(body.as_bytes(), Some(name), &at(2025, 4, 2));
            (one.read, one.accepted)
        };
        let (full_read, change_read) = (counted(&full, F1), counted(&change, C2));
        assert_eq!(change_read, (1, 1));
        assert!(full_read.0 > 1 && full_read.0 == full_read.1);
        assert_eq!((out.read, out.accepted), (full_read.0 + 1, full_read.1 + 1));
        assert_eq!(out.workers.len(), 1);
        let w = &out.workers[0];
        assert_eq!(w.telecom.len(), 1);
        assert_eq!(w.telecom[0].value.value, "owen.new@example.invalid");
        assert!(
            matches!(&w.telecom[0].sources[0], Source::Esr { file, line: 2, .. } if &**file == C2)
        );
        // The rest of the worker is the full file's, each value from its own file.
        assert_eq!(w.assignments.len(), 1);
        assert_eq!(w.registrations.len(), 1);
        assert!(
            matches!(&w.registrations[0].identifier.sources[0], Source::Esr { file, line: 8, .. } if &**file == F1)
        );
        // The replaced row: unmapped, with a note naming what replaced it.
        assert!(unmapped_in(&out, F1, 5, "Office E-mail Address"));
        assert!(noted(&out, &format!("{F1}:5 PRA: superseded by {C2}:2")));
        // As one file alone, the full file gives the old address.
        let alone = map_go(full.as_bytes(), Some(F1), &at(2025, 4, 2));
        assert_eq!(
            alone.workers[0].telecom[0].value.value,
            "owen.sample@example.invalid"
        );
    }

    #[test]
    fn a_later_row_over_the_same_days_replaces_an_earlier_files_row() {
        let full = named(F1, SAMPLE);
        // The start corrected (1 April 2023 → 15 March 2023) with a new
        // e-mail: the full file's row has the later start, yet the change
        // file is the truth for the days it covers.
        let corrected = PRA
            .replace("~20230401~47121231~", "~20230315~47121231~")
            .replace("owen.sample@", "owen.corrected@");
        let change = named(C2, &corrected);
        let out = files(&[(F1, &full), (C2, &change)], &at(2025, 4, 2));
        assert_eq!(out.failure(), None);
        assert_eq!(out.workers.len(), 1);
        assert_eq!(
            out.workers[0].telecom[0].value.value,
            "owen.corrected@example.invalid"
        );
        assert!(
            noted(
                &out,
                &format!(
                    "{F1}:5 PRA: superseded by {C2}:2 (a later file's row of the same id over its effective dates)"
                )
            ),
            "{:?}",
            out.report.notes
        );
        assert!(unmapped_in(&out, F1, 5, "Office E-mail Address"));
        // The 2020 row's last days (15 to 31 March 2023) are the corrected
        // row's: it stays for the days before, and is set aside on those.
        assert!(noted(
            &out,
            &format!("{F1}:6 PRA: partly superseded by {C2}:2")
        ));
        let out = files(&[(F1, &full), (C2, &change)], &at(2023, 3, 20));
        assert_eq!(
            out.workers[0].telecom[0].value.value,
            "owen.corrected@example.invalid"
        );
        assert!(noted(
            &out,
            &format!(
                "{F1}:6 PRA: Person ID 7100001: a later file's row covers 2023-03-20: row set aside"
            )
        ));
        let out = files(&[(F1, &full), (C2, &change)], &at(2023, 3, 1));
        assert!(out.workers[0].telecom.is_empty());
        // A split undone (Oracle "delete next change"): the first row re-sent
        // open-ended takes out the row after it.
        let merged = PRA
            .replace("~20230401~47121231~", "~20200101~47121231~")
            .replace("~Sample~", "~Merged~");
        let change = named(C2, &merged);
        let out = files(&[(F1, &full), (C2, &change)], &at(2025, 4, 2));
        assert_eq!(out.failure(), None);
        assert_eq!(
            out.workers[0].names[0].value.family.as_deref(),
            Some("Merged")
        );
        assert!(noted(&out, &format!("{F1}:5 PRA: superseded by {C2}:2")));
        assert!(noted(
            &out,
            &format!(
                "{F1}:6 PRA: superseded by {C2}:2 (the same row (same id and effective start), \
                 changed: Effective End Date, Last Name"
            )
        ));
        // A row over other days stays (history): as at 2021 the 2020 row;
        // a row sent from a later day only (no end-dated row before it)
        // leaves the earlier row in effect until then.
        let later = PRA
            .replace("~20230401~47121231~", "~20250401~47121231~")
            .replace("~Sample~", "~Later~");
        let change = named(C2, &later);
        let family = |d: EsrOptions| {
            let out = files(&[(F1, &full), (C2, &change)], &d);
            assert!(!noted(&out, &format!("{F1}:6 PRA: superseded")));
            out.workers[0].names[0].value.family.clone()
        };
        assert_eq!(family(at(2021, 1, 1)).as_deref(), Some("Sample"));
        assert_eq!(family(at(2024, 1, 1)).as_deref(), Some("Sample"));
        assert_eq!(family(at(2025, 4, 2)).as_deref(), Some("Later"));
    }

    #[test]
    fn a_change_file_splits_a_date_range() {
        let full = named(F1, SAMPLE);
        // The open row end-dated, and a new row from 1 April 2025.
        let ended = PRA.replace("~20230401~47121231~", "~20230401~20250331~");
        let renamed = PRA
            .replace("~20230401~47121231~", "~20250401~47121231~")
            .replace("~Sample~", "~Newname~");
        let change = named(C2, &format!("{ended}{renamed}"));
        let out = files(&[(F1, &full), (C2, &change)], &at(2025, 4, 2));
        assert_eq!(out.failure(), None);
        let family = |o: &EsrMapping| o.workers[0].names[0].value.family.clone();
        assert_eq!(family(&out).as_deref(), Some("Newname"));
        assert!(noted(&out, &format!("{F1}:5 PRA: superseded by {C2}:2")));
        // The full file's 2020 row is not the same identity: kept.
        assert!(!noted(&out, &format!("{F1}:6 PRA: superseded")));
        let before = files(&[(F1, &full), (C2, &change)], &at(2025, 3, 31));
        assert_eq!(family(&before).as_deref(), Some("Sample"));
        assert!(
            matches!(&before.workers[0].names[0].sources[1], Source::Esr { file, line: 2, .. } if &**file == C2)
        );
    }

    #[test]
    fn a_delete_takes_out_the_rows_of_earlier_files() {
        let full = named(F1, SAMPLE);
        let change = named(C2, "ASD~7200001\nETD~7400001\n");
        let out = files(&[(F1, &full), (C2, &change)], &at(2025, 4, 2));
        assert_eq!(out.failure(), None);
        let w = &out.workers[0];
        assert!(w.assignments.is_empty(), "{:?}", w.assignments);
        assert!(w.registrations.is_empty());
        assert!(noted(&out, &format!("{F1}:7 ASA: deleted by {C2}:2")));
        assert!(noted(&out, &format!("{F1}:8 ETA: deleted by {C2}:3")));
        assert!(unmapped_in(&out, F1, 7, "Assignment Number"));
        // The delete did something: no "matched nothing" note.
        assert!(!noted(&out, "no row of it"), "{:?}", out.report.notes);
        // A person deleted: both its rows out, no worker; a later file may
        // send the person again.
        let gone = named(C2, "PRD~7100001\n");
        let out = files(&[(F1, &full), (C2, &gone)], &at(2025, 4, 2));
        assert!(out.workers.is_empty());
        assert!(noted(&out, &format!("{F1}:5 PRA: deleted by {C2}:2")));
        assert!(noted(&out, &format!("{F1}:6 PRA: deleted by {C2}:2")));
        assert!(noted(
            &out,
            &format!("{F1}:7 ASA: Person ID 7100001 deleted in {C2}: assignment not mapped")
        ));
        let back = named(C3, PRA);
        let out = files(&[(F1, &full), (C2, &gone), (C3, &back)], &at(2025, 4, 3));
        assert_eq!(out.workers.len(), 1);
        assert!(
            matches!(&out.workers[0].identifiers[0].sources[0], Source::Esr { file, .. } if &**file == C3)
        );
    }

    #[test]
    fn a_full_file_rebases_the_state() {
        let full = named(F1, SAMPLE);
        let change = named(C2, "ASD~7200001\n");
        let f3 = "GO_998_GDW_GOF_20250403_00000009.DAT";
        let refull = named(f3, PRA);
        let out = files(
            &[(F1, &full), (C2, &change), (f3, &refull)],
            &at(2025, 4, 3),
        );
        assert_eq!(out.failure(), None);
        assert_eq!(
            uses(&out),
            [FileUse::Base, FileUse::Changes, FileUse::Rebase]
        );
        assert_eq!(out.workers.len(), 1);
        let w = &out.workers[0];
        assert!(w.assignments.is_empty() && w.registrations.is_empty());
        assert!(
            matches!(&w.identifiers[0].sources[0], Source::Esr { file, line: 2, .. } if &**file == f3)
        );
        assert!(noted(
            &out,
            &format!("{F1}: its rows still in the state are superseded by the full file {f3}")
        ));
        assert!(unmapped_in(&out, F1, 8, "PEI_INFORMATION3"));
        // The change file's delete row is gone with the state it applied to.
        assert!(unmapped_in(&out, C2, 2, "Assignment ID"));
    }

    #[test]
    fn a_sequence_gap_stops_the_files_from_being_applied() {
        let full = named(F1, SAMPLE);
        let pra = PRA.replace("owen.sample@", "owen.new@");
        let c2 = named(C2, &pra);
        let c4 = "GO_998_GDW_GOC_20250404_00000004.DAT";
        let c4b = named(c4, "ASD~7200001\n");
        let out = files(&[(F1, &full), (c4, &c4b), (C2, &c2)], &at(2025, 4, 4));
        assert!(!out.complete);
        assert_eq!(
            uses(&out),
            [FileUse::Base, FileUse::Changes, FileUse::NotApplied]
        );
        let why = out.failure().unwrap();
        assert!(
            why.contains(c4) && why.contains("sequence 4 after sequence 2: a gap"),
            "{why}"
        );
        // The state of the files before it: the new address, the assignment kept.
        let w = &out.workers[0];
        assert_eq!(w.telecom[0].value.value, "owen.new@example.invalid");
        assert_eq!(w.assignments.len(), 1);
        assert!(unmapped_in(&out, c4, 2, "Assignment ID"));
        // A snapshot request (a refresh asked for) is no extract: not a re-base.
        let req = "GO_998_GDW_GDR_20250402_00000001.DAT";
        let ask = format!("HDR~{req}~20250402 000000");
        let out = files(&[(F1, &full), (req, &ask)], &at(2025, 4, 4));
        assert!(
            out.failure()
                .unwrap()
                .contains("a snapshot request, not an extract")
        );
        assert_eq!(out.workers.len(), 1);
        // Another VPD or sub-file is not the same sequence either.
        let other = "GO_999_GDW_GOC_20250402_00000002.DAT";
        let o = named(other, &pra);
        let out = files(&[(F1, &full), (other, &o)], &at(2025, 4, 4));
        assert!(out.failure().unwrap().contains("not the same sequence"));
        assert_eq!(
            out.workers[0].telecom[0].value.value,
            "owen.sample@example.invalid"
        );
    }

    #[test]
    fn a_full_file_after_a_gap_rebases_past_it() {
        let full = named(F1, SAMPLE);
        let c3 = named(C3, "ASD~7200001\n");
        let f4 = "GO_998_GDW_GOF_20250404_00000004.DAT";
        let refresh = named(f4, &PRA.replace("owen.sample@", "owen.refresh@"));
        let out = files(&[(F1, &full), (C3, &c3), (f4, &refresh)], &at(2025, 4, 4));
        assert_eq!(out.failure(), None, "{:?}", out.report.notes);
        assert!(out.complete);
        assert_eq!(
            uses(&out),
            [FileUse::Base, FileUse::Superseded, FileUse::Rebase]
        );
        assert_eq!(
            out.workers[0].telecom[0].value.value,
            "owen.refresh@example.invalid"
        );
        assert!(
            noted(
                &out,
                &format!(
                    "{C3}: not applied (sequence 3 after sequence 1: a gap (a change file must be the next)): not applied, superseded by the full file {f4}"
                )
            ),
            "{:?}",
            out.report.notes
        );
        assert!(unmapped_in(&out, C3, 2, "Assignment ID"));
        // An incomplete change file (no trailer) before a full file: superseded too.
        let c2 = named(C2, PRA).replace("TRL~3\n", "");
        let out = files(&[(F1, &full), (C2, &c2), (f4, &refresh)], &at(2025, 4, 4));
        assert_eq!(out.failure(), None);
        assert_eq!(
            uses(&out),
            [FileUse::Base, FileUse::Superseded, FileUse::Rebase]
        );
        // A gap in the final chain still stops it and fails.
        let c6 = "GO_998_GDW_GOC_20250406_00000006.DAT";
        let gap = named(c6, "PRD~7100001\n");
        let out = files(
            &[(F1, &full), (C3, &c3), (f4, &refresh), (c6, &gap)],
            &at(2025, 4, 6),
        );
        assert_eq!(
            uses(&out),
            [
                FileUse::Base,
                FileUse::Superseded,
                FileUse::Rebase,
                FileUse::NotApplied
            ]
        );
        let why = out.failure().unwrap();
        assert!(
            why.starts_with(&format!("{c6}: not applied (sequence 6 after sequence 4")),
            "{why}"
        );
        assert_eq!(out.workers.len(), 1);
    }

    #[test]
    fn the_same_sequence_with_other_rows_is_a_conflict() {
        let full = named(F1, SAMPLE);
        let c2 = named(C2, &PRA.replace("owen.sample@", "first@"));
        let other = named(C2, &PRA.replace("owen.sample@", "second@"));
        for list in [
            [(F1, full.as_str()), (C2, c2.as_str()), (C2, other.as_str())],
            [(F1, full.as_str()), (C2, other.as_str()), (C2, c2.as_str())],
        ] {
            let out = files(&list, &at(2025, 4, 2));
            assert!(!out.complete);
            assert_eq!(
                uses(&out),
                [FileUse::Base, FileUse::Changes, FileUse::NotApplied]
            );
            let why = out.failure().unwrap();
            assert!(
                why.starts_with(&format!(
                    "{C2}: not applied (sequence 2 again, as {C2}, with other rows: not a re-delivery, a conflict"
                )),
                "{why}"
            );
        }
        // The same sequence under a later date, other rows: a conflict too.
        let c2b = "GO_998_GDW_GOC_20250403_00000002.DAT";
        let later = named(c2b, &PRA.replace("owen.sample@", "third@"));
        let out = files(&[(F1, &full), (C2, &c2), (c2b, &later)], &at(2025, 4, 3));
        assert!(out.failure().unwrap().contains("a conflict"));
        // The same rows again (another header timestamp): a re-delivery.
        let again = c2.replace("20250402 020000", "20250402 030000");
        let out = files(&[(F1, &full), (C2, &c2), (C2, &again)], &at(2025, 4, 2));
        assert_eq!(out.failure(), None);
        assert_eq!(
            uses(&out),
            [FileUse::Base, FileUse::Changes, FileUse::Redelivery]
        );
    }

    #[test]
    fn dates_and_sequences_that_disagree_stop_the_files() {
        // The change file follows the full file by sequence (2 after 1) but
        // is dated the day before it: which comes first is not guessed.
        let full = named(F1, SAMPLE);
        let early = "GO_998_GDW_GOC_20250331_00000002.DAT";
        let c = named(early, &PRA.replace("owen.sample@", "owen.new@"));
        let out = files(&[(F1, &full), (early, &c)], &at(2025, 4, 2));
        assert!(!out.complete);
        let why = out.failure().unwrap();
        assert!(
            why.starts_with(&format!(
                "{F1}: not applied (dated 2025-04-01 with sequence 1, after {early} dated 2025-03-31 with sequence 2: the date order and the sequence order disagree"
            )),
            "{why}"
        );
    }

    #[test]
    fn a_file_without_a_valid_creation_date_keeps_the_state_dated() {
        let full = named(F1, SAMPLE);
        // HDR-2 an impossible date: a file error, so the change file is not
        // applied, and the state keeps the full file's date.
        let bad = named(C2, &PRA.replace("owen.sample@", "owen.new@"))
            .replace("20250402 020000", "20250231 020000");
        let out = files(&[(F1, &full), (C2, &bad)], &EsrOptions::at_extract_date());
        assert_eq!(out.as_at, NaiveDate::from_ymd_opt(2025, 4, 1));
        assert_eq!(out.workers.len(), 1);
        let why = out.failure().unwrap();
        assert!(why.contains("HDR-2"), "{why}");
        // A first file without one, a full file after it: dated by the full
        // file; the other way round the full file's date stays.
        let undated = named(F1, SAMPLE).replace("20250401 020000", "");
        let f3 = "GO_998_GDW_GOF_20250403_00000003.DAT";
        let refull = named(f3, SAMPLE);
        let out = files(
            &[(F1, &undated), (f3, &refull)],
            &EsrOptions::at_extract_date(),
        );
        assert_eq!(out.as_at, NaiveDate::from_ymd_opt(2025, 4, 3));
        assert_eq!(out.failure(), None);
        assert_eq!(out.workers.len(), 1);
    }

    #[test]
    fn notes_on_the_state_and_on_deletes_say_what_was_done() {
        // A delete of a type the model does not hold (COD) that took an
        // earlier file's row out says so, not "not applied".
        let coa =
            "COA~7100001~7200001~7300001~20250301~~998~~998B171~9901000~~~~~100~20250301 101000\n";
        let full = named(F1, &format!("{SAMPLE}{coa}"));
        let change = named(C2, "COD~7300001\n");
        let out = files(&[(F1, &full), (C2, &change)], &at(2025, 4, 2));
        assert!(noted(&out, &format!("{F1}:9 COA: deleted by {C2}:2")));
        assert!(
            noted(
                &out,
                &format!("{C2}:2 COD: delete of a record type the model does not hold: it took")
            ),
            "{:?}",
            out.report.notes
        );
        assert!(!noted(
            &out,
            &format!("{C2}:2 COD: delete of a record type the model does not hold: not applied")
        ));
        // The notes on the whole state name the last file applied, not the
        // last file given (C3 is not applied: a gap).
        let c3 = named(C3, "PRD~7100001\n");
        let out = files(&[(F1, &full), (C3, &c3)], &EsrOptions::at_extract_date());
        assert!(noted(&out, &format!("{F1}: resolved as at 2025-04-01")));
        assert!(!noted(&out, &format!("{C3}: resolved as at")));
    }

    #[test]
    fn a_row_after_its_delete_in_one_file_is_a_re_add() {
        // map_go: the assignment deleted, then sent again: kept.
        let body = format!("{PRA}ASD~7200001\n{ASA}");
        let out = map_go(go(&body).as_bytes(), Some(FILE), &at(2025, 4, 1));
        assert!(out.report.balanced());
        assert_eq!(out.workers[0].assignments.len(), 1);
        assert!(noted(
            &out,
            "Assignment ID 7200001 deleted at line 3 and sent again after it: kept (a re-add)"
        ));
        // A row before its delete is still set aside.
        let body = format!("{PRA}{ASA}ASD~7200001\n");
        let out = map_go(go(&body).as_bytes(), Some(FILE), &at(2025, 4, 1));
        assert!(out.workers[0].assignments.is_empty());
        // map_go_files agrees: the change file's delete takes out the full
        // file's row, and its re-add after the delete is the assignment.
        let full = named(F1, SAMPLE);
        let moved = ASA.replace("~610001~810001~", "~610002~810001~");
        let change = named(C2, &format!("ASD~7200001\n{moved}"));
        let out = files(&[(F1, &full), (C2, &change)], &at(2025, 4, 2));
        let a = &out.workers[0].assignments;
        assert_eq!(a.len(), 1);
        assert!(
            matches!(&a[0].number.as_ref().unwrap().sources[0], Source::Esr { file, line: 3, .. } if &**file == C2)
        );
        assert!(noted(&out, &format!("{F1}:7 ASA: deleted by {C2}:2")));
    }

    #[test]
    fn without_its_position_row_an_assignment_keeps_the_job_name() {
        // The position deleted by a later file: the ASA's Job Name still
        // gives the staff group and job role (a PUT of the role keeps them).
        let full = named(F1, SAMPLE);
        let change = named(C2, "POD~810001\n");
        let out = files(&[(F1, &full), (C2, &change)], &at(2025, 4, 2));
        let a = &out.workers[0].assignments[0];
        assert_eq!(
            a.staff_group.as_ref().map(|v| v.value.as_str()),
            Some("Nursing and Midwifery Registered")
        );
        assert_eq!(
            a.job_role.as_ref().map(|v| v.value.as_str()),
            Some("Staff Nurse")
        );
        assert!(!unmapped_in(&out, F1, 7, "Job Name"));
    }

    #[test]
    fn an_incomplete_change_file_is_not_applied() {
        let full = named(F1, SAMPLE);
        let pra = PRA.replace("owen.sample@", "owen.new@");
        // No trailer: the file may be truncated.
        let c2 = named(C2, &pra).replace("TRL~3\n", "");
        let out = files(&[(F1, &full), (C2, &c2)], &at(2025, 4, 2));
        assert!(!out.complete);
        let why = out.failure().unwrap();
        assert!(
            why.starts_with(&format!(
                "{C2}: not applied (file incomplete (missing trailer"
            )),
            "{why}"
        );
        assert_eq!(
            out.workers[0].telecom[0].value.value,
            "owen.sample@example.invalid"
        );
        assert!(unmapped_in(&out, C2, 2, "Office E-mail Address"));
        assert!(noted(&out, &format!("{C2}: not applied")));
    }

    #[test]
    fn a_redelivered_change_file_is_skipped() {
        let full = named(F1, SAMPLE);
        let pra = PRA.replace("owen.sample@", "owen.new@");
        let c2 = named(C2, &pra);
        let out = files(&[(F1, &full), (C2, &c2), (C2, &c2)], &at(2025, 4, 2));
        assert_eq!(out.failure(), None);
        assert_eq!(
            uses(&out),
            [FileUse::Base, FileUse::Changes, FileUse::Redelivery]
        );
        assert!(noted(
            &out,
            "the same sequence again (a re-delivery): skipped"
        ));
        assert_eq!(
            out.workers[0].telecom[0].value.value,
            "owen.new@example.invalid"
        );
        // The next file follows the sequence of the one applied.
        let c3 = named(C3, "ETD~7400001\n");
        let out = files(
            &[(F1, &full), (C2, &c2), (C2, &c2), (C3, &c3)],
            &at(2025, 4, 3),
        );
        assert_eq!(out.failure(), None);
        assert!(out.workers[0].registrations.is_empty());
    }

    #[test]
    fn one_file_through_map_go_files_is_map_go() {
        let full = named(F1, SAMPLE);
        let one = files(&[(F1, &full)], &at(2025, 4, 2));
        let mut alone = map_go(full.as_bytes(), Some(F1), &at(2025, 4, 2));
        assert_eq!(uses(&one), [FileUse::Base]);
        alone.files = one.files.clone();
        assert_eq!(one, alone);
    }

    /// (what, VPD, key, source) of each deletion.
    fn deleted(out: &EsrMapping) -> Vec<(DeletedRecord, &str, &str, String)> {
        out.deleted
            .iter()
            .map(|d| (d.what, d.vpd.as_str(), d.key.as_str(), d.source.to_string()))
            .collect()
    }

    #[test]
    fn deletes_of_a_person_and_an_assignment_are_listed_by_their_fhir_keys() {
        let full = named(F1, SAMPLE);
        // The assignment is deleted by its id; its role is keyed by the
        // number of the full file's row (80000001).
        let change = named(C2, "ASD~7200001\nPRD~7100001\n");
        let out = files(&[(F1, &full), (C2, &change)], &at(2025, 4, 2));
        assert_eq!(out.failure(), None);
        assert!(out.workers.is_empty());
        assert_eq!(
            deleted(&out),
            [
                (
                    DeletedRecord::Assignment,
                    "998",
                    "80000001",
                    format!("ESR {C2}:2 Assignment ID")
                ),
                (
                    DeletedRecord::Person,
                    "998",
                    "7100001",
                    format!("ESR {C2}:3 Person ID")
                ),
            ]
        );
        // map_go: a delete row after the rows it sets aside.
        let one = map_go(
            go(&format!("{SAMPLE}ASD~7200001\nPRD~7100001\n")).as_bytes(),
            Some(FILE),
            &at(2025, 4, 1),
        );
        let keys: Vec<_> = deleted(&one).into_iter().map(|d| (d.0, d.2)).collect();
        assert_eq!(
            keys,
            [
                (DeletedRecord::Assignment, "80000001"),
                (DeletedRecord::Person, "7100001")
            ]
        );
        // Nothing deleted: nothing listed.
        assert!(files(&[(F1, &full)], &at(2025, 4, 1)).deleted.is_empty());
    }

    #[test]
    fn a_person_delete_alone_is_listed_and_an_unknown_assignment_is_noted() {
        // A change file alone: the person may be on a server from an
        // earlier run; its id needs only the VPD and the person id.
        let out = map_go(
            named(C2, "PRD~7100099\nASD~7200099\n").as_bytes(),
            Some(C2),
            &at(2025, 4, 2),
        );
        assert_eq!(
            deleted(&out),
            [(
                DeletedRecord::Person,
                "998",
                "7100099",
                format!("ESR {C2}:2 Person ID")
            )]
        );
        assert!(noted(
            &out,
            &format!(
                "{C2}:2 PRD: Person ID 7100099 deleted, and no row of it is in this file: the delete is carried by the person id alone"
            )
        ));
        // No row gives the assignment's number: no PractitionerRole id to
        // delete, and the note carries it.
        assert!(noted(
            &out,
            &format!(
                "{C2}:3 ASD: Assignment ID 7200099 deleted, and no row of it is in this file: the delete is not carried into the model"
            )
        ));
        // The same through map_go_files, after a full file without them.
        let full = named(F1, SAMPLE);
        let change = named(C2, "PRD~7100099\nASD~7200099\n");
        let out = files(&[(F1, &full), (C2, &change)], &at(2025, 4, 2));
        assert_eq!(
            deleted(&out)
                .into_iter()
                .map(|d| (d.0, d.2))
                .collect::<Vec<_>>(),
            [(DeletedRecord::Person, "7100099")]
        );
    }

    #[test]
    fn a_delete_of_what_is_sent_again_after_it_is_not_listed() {
        // Deleted in one change file, sent again in the next.
        let full = named(F1, SAMPLE);
        let gone = named(C2, "PRD~7100001\nASD~7200001\n");
        let back = named(C3, &SAMPLE.replace("~20250101 090000", "~20250101 090001"));
        let out = files(&[(F1, &full), (C2, &gone), (C3, &back)], &at(2025, 4, 3));
        assert_eq!(out.workers.len(), 1);
        assert!(out.deleted.is_empty(), "{:?}", out.deleted);
        assert!(noted(
            &out,
            &format!(
                "{C2}:2 PRD: the person 7100001 is in the state again after this delete: not deleted"
            )
        ));
        // A re-add in one file.
        let one = map_go(
            go(&format!("{PRA}PRD~7100001\n{PRA}")).as_bytes(),
            Some(FILE),
            &at(2025, 4, 1),
        );
        assert_eq!(one.workers.len(), 1);
        assert!(one.deleted.is_empty());
    }

    /// A GO file whose label is `label` (a path): its header names the
    /// base name, as ESR wrote it.
    fn at_path(label: &str, body: &str) -> String {
        named(label.rsplit('/').next().unwrap(), body)
    }

    /// The file of every ESR source of the mapping (values, unmapped,
    /// invalid, deletions).
    fn source_files(out: &EsrMapping) -> HashSet<String> {
        let mut srcs: Vec<&Source> = Vec::new();
        for w in &out.workers {
            srcs.extend(w.identifiers.iter().flat_map(|i| i.sources.iter()));
            srcs.extend(w.telecom.iter().flat_map(|t| t.sources.iter()));
        }
        srcs.extend(out.report.unmapped.iter().map(|u| &u.source));
        srcs.extend(out.report.invalid.iter().map(|u| &u.source));
        srcs.extend(out.deleted.iter().map(|d| &d.source));
        srcs.into_iter()
            .filter_map(|s| match s {
                Source::Esr { file, .. } => Some(file.to_string()),
                _ => None,
            })
            .collect()
    }

    /// Review finding 15: two inputs of one base name in two folders are
    /// told apart in every source, note and file listed; the GO name (VPD,
    /// sub-file, date, sequence) is still read from the base name.
    #[test]
    fn inputs_are_named_as_given_and_sequenced_by_their_base_name() {
        let (full, a, b) = (format!("in/{F1}"), format!("a/{C2}"), format!("b/{C2}"));
        let f1 = at_path(&full, SAMPLE);
        let c2 = at_path(&a, &PRA.replace("owen.sample@", "owen.new@"));
        // The same change file twice: the one given first is applied, the
        // other is a re-delivery, skipped.
        let out = files(&[(&b, &c2), (&full, &f1), (&a, &c2)], &at(2025, 4, 2));
        assert_eq!(out.failure(), None);
        assert_eq!(
            uses(&out),
            [FileUse::Base, FileUse::Changes, FileUse::Redelivery]
        );
        let names: Vec<&str> = out.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, [full.as_str(), b.as_str(), a.as_str()]);
        assert_eq!(
            out.workers[0].telecom[0].sources[0].to_string(),
            format!("ESR {b}:2 Office E-mail Address")
        );
        assert!(noted(
            &out,
            &format!("{a}: the same sequence again (a re-delivery): skipped")
        ));
        assert!(unmapped_in(&out, &a, 2, "Office E-mail Address"));
        assert!(noted(&out, &format!("{full}:5 PRA: superseded by {b}:2")));
        assert_eq!(
            source_files(&out),
            [full.clone(), a.clone(), b.clone()].into_iter().collect()
        );
        // No note names a file by its base name alone; none says the
        // header's name differs from the file's.
        for n in &out.report.notes {
            let label = n.split(&[':', ' '][..]).next().unwrap_or_default();
            assert!(
                label.is_empty() || [&full, &a, &b].contains(&&label.to_owned()),
                "{n}"
            );
            assert!(!n.contains("header"), "{n}");
        }
        // Two different change files under one base name: the conflict
        // names both paths.
        let other = at_path(&b, &PRA.replace("owen.sample@", "owen.other@"));
        let out = map_go_files(
            [
                (Some(full.as_str()), f1.as_bytes()),
                (Some(a.as_str()), c2.as_bytes()),
                (Some(b.as_str()), other.as_bytes()),
            ],
            &at(2025, 4, 2),
        );
        let failure = out.failure().unwrap();
        assert!(
            failure.starts_with(&format!(
                "{b}: not applied (sequence 2 again, as {a}, with other rows"
            )),
            "{failure}"
        );
        // One file: the label as given, the name's extract type and VPD.
        let out = map_go(c2.as_bytes(), Some(&a), &at(2025, 4, 2));
        assert_eq!(out.failure(), None);
        assert_eq!(source_files(&out), [a.clone()].into_iter().collect());
        let one = map_go_files([(Some(a.as_str()), c2.as_bytes())], &at(2025, 4, 2));
        assert_eq!(one.files[0].name, a);
        assert_eq!(one.files[0].extract, Some(ExtractType::Changes));
    }

    /// PRA row of person `id` (the PRA's, renumbered).
    fn pra(id: u32) -> String {
        PRA.replace("PRA~7100001~", &format!("PRA~{id}~"))
            .replace("owen.sample@", &format!("p{id}@"))
    }

    fn person_ids(out: &EsrMapping) -> Vec<&str> {
        out.workers
            .iter()
            .map(|w| w.identifiers[0].value.value())
            .collect()
    }

    /// Review finding 18: the workers are in the order the state first
    /// had each person in, whichever file re-sent a person's row: the full
    /// file's persons in its order, then those each change file adds.
    #[test]
    fn workers_keep_the_order_their_persons_came_in() {
        let full = named(
            F1,
            &format!("{}{}{}", pra(7100001), pra(7100002), pra(7100003)),
        );
        // A new person, person 2 re-sent (a new e-mail), another new person.
        let change = named(
            C2,
            &format!(
                "{}{}{}",
                pra(7100004),
                pra(7100002).replace("p7100002@", "new@"),
                pra(7100005)
            ),
        );
        let want = ["7100001", "7100002", "7100003", "7100004", "7100005"];
        for list in [[(F1, &*full), (C2, &change)], [(C2, &change), (F1, &full)]] {
            let out = files(&list, &at(2025, 4, 2));
            assert_eq!(out.failure(), None);
            assert_eq!(person_ids(&out), want);
            assert_eq!(out.workers[1].telecom[0].value.value, "new@example.invalid");
            // The identity decisions follow the workers.
            let keys: Vec<&str> = out
                .report
                .identity
                .iter()
                .filter_map(|d| d.key.as_ref().map(Identifier::value))
                .collect();
            assert_eq!(keys.len(), 5);
            assert!(
                keys.iter().zip(want).all(|(k, id)| k.ends_with(id)),
                "{keys:?}"
            );
        }
        // A full file re-basing the state: its order.
        let f3 = "GO_998_GDW_GOF_20250403_00000003.DAT";
        let refull = named(f3, &format!("{}{}", pra(7100002), pra(7100001)));
        let out = files(
            &[(F1, &full), (C2, &change), (f3, &refull)],
            &at(2025, 4, 3),
        );
        assert_eq!(person_ids(&out), ["7100002", "7100001"]);
        // One file: a person's later row (a date-tracked change) after
        // another person's keeps the person where they first came.
        let old = pra(7100001).replace("~20230401~47121231~", "~20200101~20230331~");
        let one = map_go(
            go(&format!("{old}{}{}", pra(7100002), pra(7100001))).as_bytes(),
            Some(FILE),
            &at(2025, 4, 1),
        );
        assert_eq!(person_ids(&one), ["7100001", "7100002"]);
    }
}
