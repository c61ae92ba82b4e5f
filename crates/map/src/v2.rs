//! HL7 v2 → canonical model.
//!
//! Follows the HL7 V2-to-FHIR IG segment maps where they apply and the NHS
//! conventions where they differ (docs/mapping.md has the field table):
//! PID-3 with authority `NHS` or type `NH` is an NHS number (Modulus 11
//! checked; PID-32 carries its verification status in NHS ITK messages);
//! other PID-3 entries are local MRNs keyed by their assigning authority;
//! an assigning authority's universal id (CX.4.2 / XCN.9.2 typed `ISO`,
//! `UUID` or `URI` in CX.4.3 / XCN.9.3) is the identifier's system, never
//! in place of a UK one (see `hd_system`);
//! PD1-3 is the registered GP practice (ODS), PD1-4 the GP (GMP `G…` or GMC
//! `C…` code, typed as any clinician's XCN: see `xcn`); ethnic category is
//! PID-22 (NHS Data Dictionary code).
//!
//! Every value the mapping reads is marked as consumed; every non-empty leaf
//! of the message that was not consumed is listed in the report, so
//! mapped + unmapped = all non-empty leaves.

use std::borrow::Cow;
use std::ops::Range;

use carecodec_hl7v2::escape::{DecodeOptions, verbatim_escape};
use carecodec_hl7v2::types::{Precision as V2Precision, Timestamp};
use carecodec_hl7v2::{Level, Message, Parts, Path, Segment, Value};
use carecodec_model::identifier::{is_oid, is_uri, is_uuid};
use carecodec_model::{
    Action, Address, AdtKind, Allergy, Application, Attachment, Code, CodeSystem, Concept,
    Condition, Contact, ContactPerson, Deceased, Encounter, EncounterClass, Event, Gender,
    HumanName, Identifier, IdentityDecision, Invalid, Location, MappingReport, MultipleBirth,
    NhsNumber, Observation, ObservationSubId, ObservationValue, Organisation, PartialDate,
    PartialDateTime, Participant, Patient, Performer, Period, Practitioner, Precision, Quantity,
    ResultReport, ResultStatus, Source, Sourced, Sources, Telecom, Unmapped, V2Path,
    VerificationStatus,
};
use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

use crate::MapError;
use crate::fhir::{base64, is_base64, unkeyable_without_sender};

/// How to map.
///
/// ```
/// use carecodec_map::v2::V2Options;
///
/// let opts = V2Options::default();
/// assert_eq!(opts.zone, chrono_tz::Europe::London);
/// assert_eq!(opts.trust_ods, None);
/// let opts = opts.trust_ods("RX1");
/// assert_eq!(opts.trust_ods.as_deref(), Some("RX1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct V2Options {
    /// The zone for times sent without an offset when MSH-7 has none either
    /// (DST-aware). Never the host's zone. Default `Europe/London`.
    pub zone: Tz,
    /// The trust's ODS code, used as the authority of MRNs sent without one.
    pub trust_ods: Option<String>,
    /// Where the message starts in its file (a byte offset): added to the
    /// byte span of every HL7 v2 source (of the event's values and of the
    /// report's `unmapped` and `invalid` entries), so that spans count from
    /// the file's start. Default 0: spans count from the start of the bytes
    /// the message was parsed from (a file holding that one message).
    pub file_offset: usize,
}

impl V2Options {
    /// These options with times sent without an offset read in `zone`.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    /// use carecodec_map::v2::{map_message, V2Options};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240712091500||ADT^A08|1|P|2.4\r").unwrap();
    /// let (event, _) = map_message(&msg, &V2Options::default()).unwrap();
    /// // July in London is BST.
    /// assert_eq!(event.sent.unwrap().value.at.to_rfc3339(), "2024-07-12T09:15:00+01:00");
    /// let (event, _) = map_message(&msg, &V2Options::default().zone(chrono_tz::UTC)).unwrap();
    /// assert_eq!(event.sent.unwrap().value.at.to_rfc3339(), "2024-07-12T09:15:00+00:00");
    /// ```
    #[must_use]
    pub fn zone(mut self, zone: Tz) -> V2Options {
        self.zone = zone;
        self
    }

    /// These options with `ods` as the authority of MRNs sent without one.
    ///
    /// ```
    /// use carecodec_hl7v2::Message;
    /// use carecodec_map::v2::{map_message, V2Options};
    /// use carecodec_model::Identifier;
    ///
    /// // PID-3 is an MRN with no assigning authority (CX.4).
    /// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.4\r\
    /// PID|1||K1^^^^MR||SMITH^JOHN\r").unwrap();
    /// let (_, report) = map_message(&msg, &V2Options::default()).unwrap();
    /// assert!(report.quarantined());
    /// let (event, report) = map_message(&msg, &V2Options::default().trust_ods("RX1")).unwrap();
    /// assert!(!report.quarantined());
    /// let mrn = &event.patient.unwrap().identifiers[0].value;
    /// assert!(matches!(mrn, Identifier::Mrn { authority: Some(a), .. } if a == "RX1"));
    /// ```
    #[must_use]
    pub fn trust_ods(mut self, ods: &str) -> V2Options {
        self.trust_ods = Some(ods.to_owned());
        self
    }

    /// These options for a message that starts `offset` bytes into its file
    /// (a batch file's second message, say): every span of an HL7 v2 source
    /// then counts from the file's start, as `BatchReader` entries give it.
    ///
    /// ```
    /// use carecodec_hl7v2::batch::BatchReader;
    /// use carecodec_map::v2::{map_message, V2Options};
    /// use carecodec_model::Source;
    ///
    /// let file = b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A08|1|P|2.4\r\
    /// PID|1||9434765919^^^NHS^NH\r\
    /// MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091600||ADT^A08|2|P|2.4\r\
    /// PID|1||9449305552^^^NHS^NH\r";
    /// let mut reader = BatchReader::new(&file[..]);
    /// reader.next_message();
    /// let second = reader.next_message().unwrap();
    /// let opts = V2Options::default().file_offset(second.offset);
    /// let (event, _) = map_message(&second.result.unwrap(), &opts).unwrap();
    /// let nhs = &event.patient.unwrap().identifiers[0];
    /// let Some(Source::V2 { span, .. }) = nhs.sources.first() else { panic!() };
    /// assert_eq!(&file[span.clone()], b"9449305552"); // bytes of the file
    /// ```
    #[must_use]
    pub fn file_offset(mut self, offset: usize) -> V2Options {
        self.file_offset = offset;
        self
    }
}

impl Default for V2Options {
    fn default() -> Self {
        V2Options {
            zone: chrono_tz::Europe::London,
            trust_ods: None,
            file_offset: 0,
        }
    }
}

/// The consumed-leaf bookkeeping and report under construction.
struct Ctx<'m, 'a> {
    msg: &'m Message<'a>,
    opts: &'m V2Options,
    consumed: Consumed,
    report: MappingReport,
    msh_offset: Option<FixedOffset>,
    /// The segment read last (fields of one segment are read together).
    last: Option<([u8; 3], u32, Segment<'m, 'a>)>,
    /// The field repetition read last (components of one repetition are read
    /// one after another), 0 before the first: no place has key 0 but one
    /// of field 0, which names nothing and so has no components either …
    last_rep: RepKey,
    /// … and its components, split once: a component lookup is then an index
    /// instead of a scan from the repetition's start (an XPN or XAD is read
    /// component by component, most of them absent).
    comps: Vec<Value<'a>>,
    /// The repetition found last, with the repetitions after it still to
    /// read: the next one is found from where it ends, so a field's
    /// repetitions read in order cost one scan of the field, not one from
    /// its start for each (quadratic in the repetitions).
    rep_at: Option<(FieldKey, u32, Value<'a>, Parts<'a>)>,
    /// The segment found last of each recently read id (OBR, OBX, NTE …
    /// interleave): the next occurrence is found from it, not from the
    /// message's start. A slot per id, reused round robin.
    seg_at: [Option<([u8; 3], u32, Segment<'m, 'a>)>; SEG_SLOTS],
    /// The slot of `seg_at` to reuse next.
    seg_slot: usize,
    /// Where reading stops: the start of the message's second PID (the
    /// second patient's group), else the message's end. No segment from
    /// there on is read (see [`patient_groups`]). For a later patient group
    /// ([`map_patient_groups`]), the start of the next group's PID.
    end: usize,
    /// For a later patient group: where its PID starts (0 otherwise). The
    /// mapping then reads the message's header (the segments before
    /// `header_end`) and the segments from `start` to `end`, as one message:
    /// `OBX[1]` names the group's first OBX, and [`Ctx::absolute`] turns that
    /// into the message's own occurrence for lookups and provenance.
    start: usize,
    /// For a later patient group: where the message's first PID starts (the
    /// header's end); 0 otherwise.
    header_end: usize,
    /// For a later patient group: its segments' positions and the counts
    /// that number them as the message does.
    group: Option<&'m GroupAt>,
}

/// A later patient group of a message (see [`map_patient_groups`]): where its
/// segments are, and how many of each segment id come before them, so a
/// lookup or a provenance path costs the header and the group, never the
/// earlier groups (a message of many patients maps in linear time).
struct GroupAt {
    /// How many segments the header has (positions `0..header_len`).
    header_len: usize,
    /// The position of the group's PID, and how many segments it has.
    first: usize,
    len: usize,
    /// Each segment id's count in the header.
    header_counts: Vec<([u8; 3], u32)>,
    /// Each segment id's count before the group (header and earlier groups).
    before: Vec<([u8; 3], u32)>,
}

/// The count of `id` in `counts` (0 when it is not there).
fn count_of(counts: &[([u8; 3], u32)], id: &str) -> u32 {
    counts
        .iter()
        .find(|(k, _)| k.as_slice() == id.as_bytes())
        .map_or(0, |(_, n)| *n)
}

/// A field repetition's place: segment id, occurrence, field, repetition,
/// packed by [`place_key`] (one compare on every component read, where a
/// tuple was compared member by member).
type RepKey = u128;

/// A field's place: segment id, occurrence, field ([`place_key`] with
/// repetition 0).
type FieldKey = u128;

/// The place of repetition `repetition` of field `field` of segment
/// `id`[`occurrence`], one bit pattern per place: the id in the low 32 bits,
/// then occurrence, field and repetition 32 bits each.
fn place_key(id: [u8; 3], occurrence: u32, field: u32, repetition: u32) -> u128 {
    let [a, b, c] = id;
    u128::from(u32::from_le_bytes([a, b, c, 0]))
        | u128::from(occurrence) << 32
        | u128::from(field) << 64
        | u128::from(repetition) << 96
}

/// How many segment ids `Ctx::seg_at` remembers (the mapping reads at most
/// three in turn).
const SEG_SLOTS: usize = 4;

#[cfg(test)]
thread_local! {
    /// Repetitions and segments stepped over to find the ones the mapping
    /// asked for (tests assert that this grows linearly with the message).
    static STEPS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts `n` steps of a search (tests only).
#[inline]
fn steps(_n: usize) {
    #[cfg(test)]
    STEPS.with(|s| s.set(s.get() + _n));
}

impl<'m, 'a> Ctx<'m, 'a> {
    /// The value at `at`, if present and not empty; marks it consumed.
    fn value(&mut self, at: impl Loc) -> Option<(Value<'a>, Source)> {
        // One `Path`: the lookup and the provenance path come from it.
        let p = at.path()?;
        let v = self.locate(p)?;
        self.consumed.mark(v.span());
        Some((v, self.source(self.source_path(p)?, v.span())))
    }

    /// The source of the value at `span` in the message (see
    /// [`V2Options::file_offset`]: spans count from the file's start).
    fn source(&self, path: V2Path, span: Range<usize>) -> Source {
        Source::v2(path, shift(span, self.opts.file_offset))
    }

    /// Decoded text at `at` without consuming it: a look at a component that
    /// decides how others are read (it is consumed only if it is then kept).
    /// The text borrows the message unless it had escapes to decode.
    fn peek(&mut self, at: impl Loc) -> Option<std::borrow::Cow<'a, str>> {
        let v = self.locate(at.path()?)?;
        if v.is_null() {
            return None;
        }
        v.decoded().ok()
    }

    /// The value at `p`, if present and not empty (nothing is marked).
    fn locate(&mut self, p: &Path) -> Option<Value<'a>> {
        let v = match (p.field, p.component) {
            // Components of one field repetition are read one after another:
            // find the repetition once (MSH/FHS/BHS-1 and -2, the literal fields,
            // go the long way).
            (Some(f), Some(c)) if f > 2 || !is_header(p.segment_id()) => {
                self.load_rep(p)?;
                let comp = *self.comps.get(c.checked_sub(1)? as usize)?;
                match p.subcomponent {
                    Some(sub) => comp.subcomponent(sub)?,
                    None => comp,
                }
            }
            // A whole repetition: found from the one read before it.
            (Some(f), None) if p.repetition.is_some() && (f > 2 || !is_header(p.segment_id())) => {
                self.repetition(p)?
            }
            _ => self.segment(p)?.query(p)?,
        };
        if v.is_empty() {
            return None;
        }
        Some(v)
    }

    /// Splits the field repetition `p` names into `comps`, unless it is the
    /// one split last (none when the repetition or its segment is absent).
    /// Inline: it is on every component read, and most find the
    /// repetition split already; the split is out of line.
    #[inline]
    fn load_rep(&mut self, p: &Path) -> Option<()> {
        let field = p.field?;
        let r = p.repetition.unwrap_or(1);
        let key = place_key(p.segment_id(), p.occurrence, field, r);
        if self.last_rep != key {
            self.split_rep(p, key);
        }
        Some(())
    }

    /// Splits the field repetition `p` names, whose key is `key`, into
    /// `comps` (see [`Ctx::load_rep`]).
    #[inline(never)]
    fn split_rep(&mut self, p: &Path, key: RepKey) {
        self.comps.clear();
        if let Some(rep) = self.repetition(p) {
            self.comps.extend(rep.parts());
        }
        self.last_rep = key;
    }

    /// Repetition `p.repetition` (1 when unset) of field `p.field`: found
    /// from the repetition read last when it is an earlier one of the same
    /// field, else from the field's start. Not for the literal MSH-1/2.
    fn repetition(&mut self, p: &Path) -> Option<Value<'a>> {
        let field = p.field?;
        let r = p.repetition.unwrap_or(1);
        let key = place_key(p.segment_id(), p.occurrence, field, 0);
        let (done, mut rest) = match &self.rep_at {
            Some((k, n, v, _)) if *k == key && *n == r => return Some(*v),
            Some((k, n, _, rest)) if *k == key && *n < r => (*n, rest.clone()),
            _ => (0, self.segment(p)?.field(field)?.repetitions()),
        };
        let skip = r.checked_sub(done + 1)? as usize;
        steps(skip + 1);
        let v = rest.nth(skip)?;
        self.rep_at = Some((key, r, v, rest));
        Some(v)
    }

    /// True when the field repetition `base` names (a composite: CWE, XPN,
    /// XAD, XCN …) has no component with a value, so its readers can stop
    /// before probing each component.
    fn absent(&mut self, base: Path) -> bool {
        if base
            .field
            .is_none_or(|f| f <= 2 && is_header(base.segment_id()))
        {
            return false;
        }
        self.load_rep(&base).is_none() || self.comps.iter().all(|c| c.is_empty())
    }

    /// How many components the field repetition `base` names has (0 when
    /// it is absent; `u32::MAX`, unknown, for a header's literal fields): a
    /// component after them is absent, so a composite's reader need not
    /// probe it (a probe of an absent component finds nothing and marks
    /// nothing).
    fn comps_len(&mut self, base: &Path) -> u32 {
        if base
            .field
            .is_none_or(|f| f <= 2 && is_header(base.segment_id()))
            || self.load_rep(base).is_none()
        {
            return u32::MAX;
        }
        u32::try_from(self.comps.len()).unwrap_or(u32::MAX)
    }

    /// The segment at `p`, through the one-segment cache `value` keeps.
    fn segment(&mut self, p: &Path) -> Option<Segment<'m, 'a>> {
        let (id, occurrence) = (p.segment_id(), p.occurrence);
        match self.last {
            Some((i, o, seg)) if i == id && o == occurrence => Some(seg),
            _ => {
                let seg = self.find_segment(p)?;
                self.last = Some((id, occurrence, seg));
                Some(seg)
            }
        }
    }

    /// The segment at `p`, found from the last one of its id that was read
    /// when that comes before it (`seg_at`), else from the message's start.
    /// Out of line: `segment` is on every lookup's path, this only on a
    /// move to another segment.
    #[inline(never)]
    fn find_segment(&mut self, p: &Path) -> Option<Segment<'m, 'a>> {
        let occurrence = match self.group {
            None => p.occurrence.max(1),
            Some(_) => self.absolute(p.segment(), p.occurrence.max(1)),
        };
        let id = p.segment_id();
        // A later group's segment is never found by stepping from a header
        // segment of its id (that would step over the earlier groups).
        let header = self
            .group
            .map_or(0, |g| count_of(&g.header_counts, p.segment()));
        let slot = self
            .seg_at
            .iter()
            .position(|s| s.is_some_and(|(i, _, _)| i == id));
        let from = slot
            .and_then(|k| self.seg_at.get(k).copied().flatten())
            .filter(|(_, o, _)| *o <= occurrence && (*o > header || occurrence <= header));
        let seg = match from {
            Some((_, mut o, mut seg)) => {
                steps(1 + (occurrence - o) as usize);
                while o < occurrence {
                    seg = self.msg.next_segment(&seg, p.segment())?;
                    o += 1;
                }
                seg
            }
            None => {
                steps(occurrence as usize);
                self.nth_segment(p.segment(), occurrence)?
            }
        };
        // A later patient's group is not read (nor, for a later group, an
        // earlier one: `absolute` never names one).
        if !self.reads(seg.span().start) {
            return None;
        }
        let k = slot.unwrap_or_else(|| {
            self.seg_slot = (self.seg_slot + 1) % SEG_SLOTS;
            self.seg_slot
        });
        if let Some(s) = self.seg_at.get_mut(k) {
            *s = Some((id, occurrence, seg));
        }
        Some(seg)
    }

    /// True when the segment starting at byte `at` is one this mapping
    /// reads: before `end` (the first patient's group and the segments
    /// before it), or for a later group, in the header or the group.
    fn reads(&self, at: usize) -> bool {
        at < self.end && (at < self.header_end || at >= self.start)
    }

    /// The segments this mapping reads (see [`Ctx::reads`]), in order: for
    /// a later patient group the header's and the group's, found by their
    /// positions.
    fn window(&self) -> impl Iterator<Item = Segment<'m, 'a>> + use<'m, 'a> {
        let (msg, end) = (self.msg, self.end);
        let (head, first, len) = match self.group {
            Some(g) => (g.header_len, g.first, g.len),
            None => (usize::MAX, usize::MAX, 0),
        };
        msg.segments()
            .take(head)
            .take_while(move |s| s.span().start < end)
            .chain(msg.segments_from(first).take(len))
    }

    /// How many `id` segments this mapping reads.
    fn count(&self, id: &str) -> u32 {
        let n = match self.group {
            // The whole message up to `end` (almost every mapping).
            None => {
                let end = self.end;
                self.msg
                    .segments()
                    .take_while(|s| s.span().start < end)
                    .filter(|s| s.id() == id)
                    .count()
            }
            Some(_) => self.window().filter(|s| s.id() == id).count(),
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// True when this mapping reads an `id` segment.
    fn has(&self, id: &str) -> bool {
        match self.group {
            None => self
                .msg
                .segment(id, 1)
                .is_some_and(|s| s.span().start < self.end),
            Some(_) => self.window().any(|s| s.id() == id),
        }
    }

    /// The message's own occurrence of the `occurrence`th `id` segment this
    /// mapping reads: the same number but in a later patient group, where the
    /// group's segments are numbered after the header's.
    fn absolute(&self, id: &str, occurrence: u32) -> u32 {
        let Some(g) = self.group else {
            return occurrence;
        };
        let in_header = count_of(&g.header_counts, id);
        if occurrence <= in_header {
            occurrence
        } else {
            count_of(&g.before, id).saturating_add(occurrence - in_header)
        }
    }

    /// The message's `occurrence`th `id` segment (an [`Ctx::absolute`]
    /// number): for a later patient group, looked for in the header or the
    /// group only.
    fn nth_segment(&self, id: &str, occurrence: u32) -> Option<Segment<'m, 'a>> {
        let Some(g) = self.group else {
            return self.msg.segment(id, occurrence);
        };
        let before = count_of(&g.before, id);
        if occurrence <= before {
            // In the header (an earlier group's is never asked for).
            return self.msg.segment(id, occurrence);
        }
        let k = (occurrence - before) as usize;
        self.msg
            .segments_from(g.first)
            .take(g.len)
            .filter(|s| s.id() == id)
            .nth(k.checked_sub(1)?)
    }

    /// The provenance path of `p`: its segment's occurrence in the message.
    /// Inline: it is on every value's path, and for a whole message it is
    /// `v2_path`.
    #[inline(always)]
    fn source_path(&self, p: &Path) -> Option<V2Path> {
        let mut out = v2_path(p)?;
        if self.group.is_some() {
            out.occurrence = self.absolute(p.segment(), p.occurrence.max(1));
        }
        Some(out)
    }

    /// How many repetitions the field at `at` has (0 when it is empty or
    /// absent).
    fn reps(&mut self, at: impl Loc) -> u32 {
        let Some(p) = at.path() else { return 0 };
        let field = self.segment(p).and_then(|seg| seg.query(p));
        field.map_or(0, |v| {
            let n = if v.is_empty() {
                0
            } else if v.level() == Level::Field {
                // What `repetitions().count()` counts, without building each
                // repetition: a field splits at every repetition separator
                // (one sent as text is the escape `\R\`, never the byte).
                let sep = v.delimiters().repetition;
                1 + v.raw().iter().filter(|b| **b == sep).count()
            } else {
                v.repetitions().count()
            };
            u32::try_from(n).unwrap_or(u32::MAX)
        })
    }

    /// Decoded text at `path` (the HL7 null `""` reads as absent, and is
    /// consumed). A value of nothing but whitespace has no content (FHIR
    /// strings and codes must have some): reported and dropped. Other text
    /// is kept as sent, trailing spaces included (the writer trims them).
    fn text(&mut self, path: impl Loc) -> Option<Sourced<String>> {
        self.text_as(path, false)
    }

    /// Formatted text (FT, TX: NTE-3, OBX-5) at `path`, its formatting
    /// commands rendered as plain text: `\.br\` and `\.ce\` a line break,
    /// `\.sp n\` n of them, highlighting (`\H\ \N\`) and layout dropped
    /// (FHIR's note text and valueString have no such commands).
    fn formatted(&mut self, path: impl Loc) -> Option<Sourced<String>> {
        self.text_as(path, true)
    }

    /// [`Ctx::text`], with formatting commands rendered when `render`.
    #[inline]
    fn text_as(&mut self, path: impl Loc, render: bool) -> Option<Sourced<String>> {
        self.text_with(path, render, Cow::into_owned)
    }

    /// [`Ctx::text`] borrowing the message where it can (text with no escape
    /// to decode): for a value read to decide something (a type code, a
    /// coding system's name) or consumed for its sources, not kept.
    fn text_cow(&mut self, path: impl Loc) -> Option<Sourced<Cow<'a, str>>> {
        self.text_cow_as(path, false)
    }

    /// [`Ctx::text_as`], borrowing the message where it can.
    fn text_cow_as(&mut self, path: impl Loc, render: bool) -> Option<Sourced<Cow<'a, str>>> {
        self.text_with(path, render, |t| t)
    }

    /// The text of [`Ctx::text_as`] as `keep` makes it (owned, or borrowed
    /// where it can be): one body for both, each compiled on its own.
    #[inline]
    fn text_with<T>(
        &mut self,
        path: impl Loc,
        render: bool,
        keep: impl FnOnce(Cow<'a, str>) -> T,
    ) -> Option<Sourced<T>> {
        let (v, src) = self.value(path)?;
        if v.is_null() {
            return None;
        }
        let decoded = if render {
            v.decoded_with(&DecodeOptions::render())
        } else {
            v.decoded()
        };
        match decoded {
            // `trim().is_empty()`, stopping at the first character that is
            // not whitespace (most values' first) instead of trimming both ends.
            Ok(t) if t.chars().all(char::is_whitespace) => {
                self.invalid(src, v.raw(), "only whitespace", Action::Dropped);
                None
            }
            Ok(t) => {
                if let Cow::Owned(_) = t {
                    self.check_escapes(&v, &src, render);
                }
                if t.bytes().any(is_control) {
                    return self
                        .without_controls(&t, src, v.raw())
                        .map(|t| t.map(|t| keep(Cow::Owned(t))));
                }
                Some(Sourced::new(keep(t), src))
            }
            Err(e) => {
                self.invalid(src, v.raw(), self.reason(&e), Action::Dropped);
                None
            }
        }
    }

    /// Text `t` (read at `src` from `raw`) without its control characters
    /// ([`is_control`]: below U+0020 other than tab, CR and LF, which FHIR
    /// strings may not hold, R4 §2.1.0.2 — sent raw or as `\X01\`):
    /// reported "control characters", kept as text without them, or dropped
    /// when nothing but whitespace is left.
    #[cold]
    fn without_controls(&mut self, t: &str, src: Source, raw: &[u8]) -> Option<Sourced<String>> {
        let kept: String = t
            .chars()
            .filter(|c| !c.is_ascii() || !is_control(*c as u8))
            .collect();
        if kept.chars().all(char::is_whitespace) {
            self.invalid(src, raw, "control characters", Action::Dropped);
            return None;
        }
        self.invalid(src.clone(), raw, "control characters", Action::KeptAsText);
        Some(Sourced::new(kept, src))
    }

    /// Reports an escape `v`'s decoding kept as sent because it could not
    /// resolve it (`\Q\`, `\XZZ\`, an unterminated one: hl7v2 passes them on,
    /// never an error), so the text is not taken for what was meant unseen.
    /// In text that is not formatted (`render` false: ST, ID, names …) a
    /// formatting escape (`\H\`, `\N\`, `\.br\` …) is kept as sent too and
    /// reported: HL7 defines those for FT, TX and CF only (v2.5 §2.7.1; an ST
    /// may hold the delimiter escapes), so what the sender meant by one in
    /// other text is unknown. Called only for text that had something to
    /// decode.
    #[cold]
    fn check_escapes(&mut self, v: &Value<'_>, src: &Source, render: bool) {
        if v.level() == Level::Literal {
            return;
        }
        let d = v.delimiters();
        let (at, reason) = if let Some(bad) = verbatim_escape(v.raw(), &d) {
            (bad, "not one HL7 defines, or unterminated")
        } else if let Some(f) = d
            .escape
            .filter(|_| !render)
            .and_then(|e| formatting_escape(v.raw(), e))
        {
            (
                f,
                "a formatting command, which HL7 defines for formatted text (FT, TX, CF) only",
            )
        } else {
            return;
        };
        let what = String::from_utf8_lossy(v.raw().get(at).unwrap_or_default());
        let reason = format!("bad escape {what} ({reason}): kept as sent");
        self.invalid(src.clone(), v.raw(), reason, Action::KeptAsText);
    }

    /// A positive integer at `path` (an NM or SI such as a priority or a rank);
    /// anything else is reported invalid (`what` says why) and dropped.
    fn positive(&mut self, path: impl Loc, what: &str) -> Option<Sourced<u32>> {
        let t = self.text_cow(path)?;
        // What FHIR's positiveInt holds: 1 to 2^31 - 1.
        match t.value.trim().parse::<u32>() {
            Ok(n) if n > 0 && i32::try_from(n).is_ok() => Some(t.map(|_| n)),
            _ => {
                self.invalid_value(&t, what, Action::Dropped);
                None
            }
        }
    }

    /// Consumes the value at `path` without keeping it (a set id, a field the
    /// model has no place for but that is accounted for): checked like
    /// [`Ctx::text`], but nothing is allocated unless it is invalid.
    fn touch(&mut self, path: impl Loc) {
        let Some((v, src)) = self.value(path) else {
            return;
        };
        if let Err(e) = v.decoded() {
            self.invalid(src, v.raw(), self.reason(&e), Action::Dropped);
        }
    }

    /// What `e`, an error reading a value, says, with the value's line: the
    /// hl7v2 value readers give it (since 2026-12-08: a value knows its
    /// segment's line); an error made without one (line 0) gets the line of
    /// its byte offset.
    #[cold]
    fn reason(&self, e: &carecodec_hl7v2::Error) -> String {
        if e.line() != 0 {
            return error_text(e);
        }
        let line = self.msg.line_at(e.offset());
        let mut at = carecodec_hl7v2::Error::new(e.kind().clone(), e.offset(), line);
        if let Some(p) = e.path() {
            at = at.with_path(p);
        }
        error_text(&at)
    }

    /// [`Ctx::invalid`] for a text value read: at its first source, with its
    /// text as the raw value.
    fn invalid_value(&mut self, v: &Sourced<impl AsRef<str>>, reason: &str, action: Action) {
        if let Some(src) = v.sources.first().cloned() {
            self.invalid(src, v.value.as_ref().as_bytes(), reason, action);
        }
    }

    /// Reports the value `raw` at `source` invalid: `reason` (a `String` made
    /// for it is moved in, not copied) and what was done.
    fn invalid(&mut self, source: Source, raw: &[u8], reason: impl Into<String>, action: Action) {
        self.report.invalid.push(Invalid {
            source,
            raw: String::from_utf8_lossy(raw).into_owned(),
            reason: reason.into(),
            action,
        });
    }

    /// The coding system CWE.3 (or a field like it) names ([`coding_system`]).
    /// One kept by name ([`CodeSystem::Local`]) is legal HL7 v2 and loses
    /// nothing here, so it is not reported invalid: a local `L`, `LB` or
    /// `99zzz` is what table 0396 gives sites for their own codes, and a name
    /// carecodec does not know may be one of table 0396's many names with no
    /// FHIR URI (`AS4`, `E5`); such a name is noted once per message (it may
    /// also be a misspelt known one). The FHIR writer, which cannot write it
    /// as a `Coding.system`, lists each coding it leaves it out of.
    fn coding_system(&mut self, name: Option<&Sourced<Cow<'_, str>>>) -> CodeSystem {
        let Some(name) = name else {
            return CodeSystem::Local(String::new());
        };
        let system = coding_system(&name.value);
        if matches!(&system, CodeSystem::Local(n) if !n.is_empty() && !local_system(n)) {
            let note = unknown_system_note(&name.value);
            if !self.report.notes.iter().any(|n| n.starts_with(&note)) {
                let at = match name.sources.first() {
                    Some(Source::V2 { path, .. }) => format!("HL7 v2 {path}"),
                    Some(other) => other.to_string(),
                    None => "HL7 v2".to_owned(),
                };
                self.report.notes.push(format!(
                    "{note}{at}): not a name carecodec knows a FHIR system URI for (not in its \
                     HL7 table 0396 map, nor a local L, LB or 99zzz): kept by name, as a \
                     local system"
                ));
            }
        }
        system
    }

    /// A TS/DTM at `path` with the time-zone rule applied.
    fn datetime(&mut self, path: impl Loc) -> Option<Sourced<PartialDateTime>> {
        let (v, src) = self.value(path)?;
        if v.is_null() {
            return None;
        }
        match Timestamp::from_value(&v).and_then(|ts| in_fhir_range(ts, v.offset())) {
            Ok(ts) => Some(Sourced::new(self.resolve(&ts), src)),
            Err(e) => {
                self.invalid(src, v.raw(), self.reason(&e), Action::Dropped);
                None
            }
        }
    }

    /// The instant of a timestamp: its own offset, else MSH-7's, else the zone.
    fn resolve(&self, ts: &Timestamp) -> PartialDateTime {
        let precision = precision(ts.precision);
        if let Some(at) = ts.to_datetime() {
            return PartialDateTime {
                at,
                precision,
                offset_inferred: false,
            };
        }
        let at = match self.msh_offset {
            Some(off) => off
                .from_local_datetime(&ts.local)
                .single()
                .unwrap_or_else(|| fixed(ts.local, off)),
            None => in_zone(ts.local, self.opts.zone),
        };
        PartialDateTime {
            at,
            precision,
            offset_inferred: true,
        }
    }

    fn date(&mut self, path: impl Loc) -> Option<Sourced<PartialDate>> {
        let (v, src) = self.value(path)?;
        if v.is_null() {
            return None;
        }
        match Timestamp::from_value(&v).and_then(|ts| in_fhir_range(ts, v.offset())) {
            Ok(ts) => {
                let p = match precision(ts.precision) {
                    Precision::Year => Precision::Year,
                    Precision::Month => Precision::Month,
                    _ => Precision::Day,
                };
                Some(Sourced::new(PartialDate::new(ts.date(), p), src))
            }
            Err(e) => {
                self.invalid(src, v.raw(), self.reason(&e), Action::Dropped);
                None
            }
        }
    }
}

/// The byte range of the first formatting escape in `raw` (`\H\`, `\N\`, or
/// a command such as `\.br\`), whose escape character is `esc`.
fn formatting_escape(raw: &[u8], esc: u8) -> Option<Range<usize>> {
    let mut i = 0;
    loop {
        let at = i + raw.get(i..)?.iter().position(|b| *b == esc)?;
        let close = at + 1 + raw.get(at + 1..)?.iter().position(|b| *b == esc)?;
        let body = raw.get(at + 1..close)?;
        if matches!(body, b"H" | b"N" | [b'.', ..]) {
            return Some(at..close + 1);
        }
        i = close + 1;
    }
}

impl Ctx<'_, '_> {
    /// A date for a model field that holds a date only (NK1-8/9, AL1-6): a
    /// time sent with it is not kept, and the report says so (`interpreted`),
    /// as the FHIR reader does for the same fields.
    fn date_only<L: Loc + Copy>(&mut self, path: L) -> Option<Sourced<PartialDate>> {
        let d = self.date(path)?;
        // More than YYYYMMDD before any offset: a time was sent.
        let timed = self.peek(path).is_some_and(|t| {
            t.split(['+', '-'])
                .next()
                .is_some_and(|main| main.trim().len() > 8)
        });
        if timed {
            if let (Some(src), Some(raw)) = (d.sources.first().cloned(), self.peek(path)) {
                self.invalid(
                    src,
                    raw.as_bytes(),
                    "a date with a time: the date is kept, the time is not (the model holds a date)",
                    Action::Interpreted,
                );
            }
        }
        Some(d)
    }
}

/// `ts` when FHIR can hold it: a year from 0001 to 9999 and an offset within
/// ±14:00 (FHIR's `dateTime`); HL7's DTM syntax allows year 0000 and offsets
/// to ±23:59, which would make a Bundle no FHIR server reads. The error is
/// at `offset`, the value's byte offset, as the DTM syntax errors are.
fn in_fhir_range(ts: Timestamp, offset: usize) -> carecodec_hl7v2::Result<Timestamp> {
    use chrono::Datelike;
    let reason = if !(1..=9999).contains(&ts.local.year()) {
        "a year FHIR cannot hold (0001 to 9999)"
    } else if ts
        .offset
        .is_some_and(|o| o.local_minus_utc().abs() > 14 * 3600)
    {
        "an offset FHIR cannot hold (within ±14:00)"
    } else {
        return Ok(ts);
    };
    Err(carecodec_hl7v2::Error::new(
        carecodec_hl7v2::ErrorKind::InvalidValue {
            datatype: "DTM",
            reason,
        },
        offset,
        0,
    ))
}

/// A place in the message: a [`Path`] (build it with [`seg`] and `Path`'s
/// narrowing methods), or a fixed place made at compile time by `at!`
/// (an `Option<Path>`). Never text to parse: `format!`ed paths were half the
/// mapping's cost, and fixed ones parsed on every call still cost 3 % of it.
///
/// The path is lent, not copied: a `Path` is 40 bytes that the caller has
/// just written field by field, and copying it whole read those stores back
/// with wide loads the CPU cannot forward (a stall on every lookup).
trait Loc {
    fn path(&self) -> Option<&Path>;
}

impl Loc for Path {
    fn path(&self) -> Option<&Path> {
        Some(self)
    }
}

impl Loc for Option<Path> {
    fn path(&self) -> Option<&Path> {
        self.as_ref()
    }
}

/// A fixed place in the first segment `id`, made at compile time (no text to
/// parse, no id to check per call): `at!(b"PV1", 2)` is `PV1-2`,
/// `at!(b"PV1", 19, 4, 1)` is `PV1-19.4.1`. An `Option<Path>`, a [`Loc`].
macro_rules! at {
    ($id:literal, $f:literal) => {
        const { Path::field_of(*$id, 1, $f) }
    };
    ($id:literal, $f:literal, $c:literal) => {
        const {
            match Path::field_of(*$id, 1, $f) {
                Some(p) => Some(p.component($c)),
                None => None,
            }
        }
    };
    ($id:literal, $f:literal, $c:literal, $s:literal) => {
        const {
            match Path::field_of(*$id, 1, $f) {
                Some(p) => Some(p.component($c).subcomponent($s)),
                None => None,
            }
        }
    };
}

/// What `e` says, written into a `String` made big enough for most errors
/// at once (`to_string` grows it several times).
#[cold]
fn error_text(e: &carecodec_hl7v2::Error) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(128);
    let _ = write!(out, "{e}");
    out
}

/// `code^trigger` (MSH-9.1 and .2) without control characters: one
/// allocation of the right size.
fn message_type(code: &str, trigger: &str) -> String {
    let mut out = String::with_capacity(code.len() + 1 + trigger.len());
    for part in [code, "^", trigger] {
        out.extend(
            part.chars()
                .filter(|c| !c.is_ascii() || !is_control(*c as u8)),
        );
    }
    out
}

/// How many OBX segments `segs` has before its first OBR.
fn obx_before_obr(segs: &[(&str, u32)]) -> usize {
    segs.iter()
        .take_while(|(id, _)| *id != "OBR")
        .filter(|(id, _)| *id == "OBX")
        .count()
}

/// Moves `more` to the end of `list`: when `list` is empty (most are), by
/// taking `more`'s allocation instead of copying into a new one.
fn append<T>(list: &mut Vec<T>, mut more: Vec<T>) {
    if list.is_empty() {
        *list = more;
    } else {
        list.append(&mut more);
    }
}

/// A code of HL7 v2 table `table`, its text moved in (not copied).
fn v2_code(table: &str, code: String, display: Option<String>) -> Code {
    Code {
        system: CodeSystem::V2Table(table.into()),
        code,
        display,
    }
}

/// MSH, FHS and BHS: their fields 1 and 2 are literals, not composites.
fn is_header(id: [u8; 3]) -> bool {
    matches!(&id, b"MSH" | b"FHS" | b"BHS")
}

/// The `n`th segment `id` (`id` is one of this module's fixed segment names).
fn seg(id: &str, n: u32) -> Option<Path> {
    Path::segment_path(id, n).ok()
}

/// The model's copy of a path (for provenance).
fn v2_path(p: &Path) -> Option<V2Path> {
    let mut out = V2Path::new(p.segment_id(), p.occurrence)?;
    out.field = p.field;
    out.repetition = p.repetition;
    out.component = p.component;
    out.subcomponent = p.subcomponent;
    Some(out)
}

fn fixed(local: NaiveDateTime, off: FixedOffset) -> DateTime<FixedOffset> {
    DateTime::from_naive_utc_and_offset(local - off, off)
}

/// A local time in `zone`: ambiguous (autumn) times take the earlier
/// instant; times in the spring gap move forward an hour.
fn in_zone(local: NaiveDateTime, zone: Tz) -> DateTime<FixedOffset> {
    let pick = zone.from_local_datetime(&local).earliest().or_else(|| {
        zone.from_local_datetime(&(local + chrono::Duration::hours(1)))
            .earliest()
    });
    match pick {
        Some(t) => t.with_timezone(&t.offset().fix()),
        // Unreachable for real zones (a gap is never longer than an hour): read as UTC.
        None => fixed(local, chrono::Utc.fix()),
    }
}

fn precision(p: V2Precision) -> Precision {
    match p {
        V2Precision::Year => Precision::Year,
        V2Precision::Month => Precision::Month,
        V2Precision::Day => Precision::Day,
        V2Precision::Hour => Precision::Hour,
        V2Precision::Minute => Precision::Minute,
        V2Precision::Second => Precision::Second,
        _ => Precision::Fraction,
    }
}

/// The kind of event a message type as sent (`ADT^A01`, `ORU^R01^ORU_R01`) carries.
pub(crate) fn kind_of_type(message_type: &str) -> AdtKind {
    let mut parts = message_type.split('^');
    let code = parts.next().unwrap_or_default();
    kind_of(code, parts.next().unwrap_or_default())
}

fn kind_of(code: &str, trigger: &str) -> AdtKind {
    match (code, trigger) {
        ("ADT", "A01") => AdtKind::Admit,
        ("ADT", "A02") => AdtKind::Transfer,
        ("ADT", "A03") => AdtKind::Discharge,
        ("ADT", "A04") => AdtKind::Register,
        ("ADT", "A05") => AdtKind::PreAdmit,
        ("ADT", "A08") => AdtKind::Update,
        ("ADT", "A11") => AdtKind::CancelAdmit,
        ("ADT", "A12") => AdtKind::CancelTransfer,
        ("ADT", "A13") => AdtKind::CancelDischarge,
        ("ADT", "A28") => AdtKind::AddPerson,
        ("ADT", "A31") => AdtKind::UpdatePerson,
        ("ADT", "A34" | "A40") => AdtKind::Merge,
        ("ORU", "R01") => AdtKind::Result,
        _ => AdtKind::Other,
    }
}

/// An ADT trigger event outside the supported list (see [`kind_of`]) whose
/// meaning is to delete or cancel (HL7 v2 table 0003): what it means, and
/// whether it cancels a visit that has not begun, which the model expresses
/// as A11's cancel is (`Encounter.status` cancelled). The others have no
/// expression in the model (a deletion, or the undoing of a pending state
/// or a tracking event the model does not hold): mapping their segments
/// would write the record they delete or cancel as a create or update, so
/// they are quarantined.
fn delete_or_cancel(code: &str, trigger: &str) -> Option<(&'static str, bool)> {
    if code != "ADT" {
        return None;
    }
    Some(match trigger {
        "A23" => ("delete a patient record", false),
        "A25" => ("cancel pending discharge", false),
        "A26" => ("cancel pending transfer", false),
        "A27" => ("cancel pending admit", true),
        "A29" => ("delete person information", false),
        "A32" => ("cancel patient arriving - tracking", false),
        "A33" => ("cancel patient departing - tracking", false),
        "A37" => ("unlink patient information", false),
        "A38" => ("cancel pre-admit", true),
        "A52" => ("cancel leave of absence for a patient", false),
        "A53" => ("cancel patient returned from a leave of absence", false),
        "A55" => ("cancel change attending doctor", false),
        "A62" => ("cancel change consulting doctor", false),
        _ => return None,
    })
}

/// Maps one HL7 v2 message to an [`Event`] and its [`MappingReport`].
///
/// ```
/// use carecodec_hl7v2::Message;
/// use carecodec_map::v2::{map_message, V2Options};
///
/// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A01|1|P|2.4\r\
/// PID|1||9434765919^^^NHS^NH~K1^^^RX1^MR||SMITH^JOHN||19700214|M\r").unwrap();
/// let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
/// let patient = event.patient.unwrap();
/// assert_eq!(patient.nhs_number().unwrap().as_str(), "9434765919");
/// assert!(report.balanced());
/// assert!(!report.quarantined());
/// // A time without an offset took Europe/London's (GMT in March before the clocks change).
/// assert_eq!(event.sent.unwrap().value.at.to_rfc3339(), "2024-03-12T09:15:00+00:00");
/// ```
pub fn map_message(
    msg: &Message<'_>,
    opts: &V2Options,
) -> Result<(Event, MappingReport), MapError> {
    // One patient per message: the first PID's group is mapped, and
    // nothing from the second PID on is read (its leaves are reported
    // unmapped and the message quarantined).
    let groups = count(msg, "PID");
    let end = match groups {
        0 | 1 => usize::MAX,
        _ => msg.segment("PID", 2).map_or(usize::MAX, |s| s.span().start),
    };
    map_window(
        msg,
        opts,
        Window {
            header_end: 0,
            start: 0,
            end,
            group: None,
            groups,
            at: None,
        },
    )
}

/// Maps each patient group of an HL7 v2 message to its own [`Event`] and
/// [`MappingReport`]: an ORU^R01 with several PATIENT_RESULT groups (a
/// laboratory's batch of results for several patients), or an ADT^A40 with
/// several patients to merge, gives one event per PID. Every other message
/// gives what [`map_message`] gives: one event, and a message of another type
/// with a second PID (A17's two patients swapped, A24's two linked, BAR^P02's
/// purge) stays quarantined, its groups being one event, not several.
///
/// Each group is mapped as the message's header (MSH, and SFT, UAC and EVN
/// before the first PID) followed by the group's segments, from its PID to
/// the next group's: its results, notes and merges are its own patient's,
/// never another's. Its report accounts for those segments (so the header's
/// leaves are in every group's report), and its provenance names the
/// message's own segments (`OBX[4]` for the second group's first OBX when the
/// first has three). Each event's `message_id` is MSH-10 and its
/// [`Event::group`] the group's number: the Bundle written for it is
/// identified by MSH-10, a slash and that number (`CTRL1/2`), and no id the
/// writer makes is another group's or another message's; a note in each
/// report says so. Groups that share a visit number or a filler number
/// (a key one patient's Bundle would update another's record on) are
/// quarantined. A message whose first PID has other segments before it (an
/// OBR of no patient) is not split: [`map_message`] quarantines it.
///
/// Time and memory are linear in the message: each group's lookups, bytes
/// and accounting cost its own segments and the header's.
///
/// ```
/// use carecodec_hl7v2::Message;
/// use carecodec_map::v2::{map_patient_groups, V2Options};
/// use carecodec_model::Source;
///
/// let msg = Message::parse(b"MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500||ORU^R01|L9|P|2.4\r\
/// PID|1||9434765919^^^NHS^NH||SMITH^ANN\r\
/// OBR|1||F1^LAB|U&E\r\
/// OBX|1|NM|K^Potassium||4.1|mmol/L\r\
/// PID|2||9449305552^^^NHS^NH||JONES^BOB\r\
/// OBR|1||F2^LAB|U&E\r\
/// OBX|1|NM|K^Potassium||6.9|mmol/L|||HH\r").unwrap();
/// let groups = map_patient_groups(&msg, &V2Options::default()).unwrap();
/// assert_eq!(groups.len(), 2);
/// let (bob, report) = &groups[1];
/// assert_eq!(bob.patient.as_ref().unwrap().nhs_number().unwrap().as_str(), "9449305552");
/// assert_eq!((bob.message_id.as_deref(), bob.group), (Some("L9"), Some(2)));
/// // Provenance names the message's own segment: the second OBX.
/// let k = bob.reports[0].observations[0].value.as_ref().unwrap();
/// assert!(matches!(k.sources.first(), Some(Source::V2 { path, .. }) if path.to_string() == "OBX[2]-5"));
/// assert!(report.balanced() && !report.quarantined());
/// ```
pub fn map_patient_groups(
    msg: &Message<'_>,
    opts: &V2Options,
) -> Result<Vec<(Event, MappingReport)>, MapError> {
    // Each PID: its byte offset and position.
    let starts: Vec<(usize, usize)> = msg
        .segments()
        .filter(|s| s.id() == "PID")
        .map(|s| (s.span().start, s.line() - 1))
        .collect();
    let splits = starts.len() > 1
        && msg
            .message_type()
            .is_some_and(|t| matches!((t.code, t.trigger), ("ORU", "R01") | ("ADT", "A40")))
        && msg
            .segments()
            .take_while(|s| starts.first().is_some_and(|&(p, _)| s.span().start < p))
            .all(|s| matches!(s.id(), "MSH" | "SFT" | "UAC" | "EVN"));
    if !splits {
        return map_message(msg, opts).map(|m| vec![m]);
    }
    let (header_end, header_len) = starts.first().copied().unwrap_or_default();
    let groups = u32::try_from(starts.len()).unwrap_or(u32::MAX);
    // Each later group's place and the segment counts before it, found in
    // one pass over the message.
    let mut counts: Vec<([u8; 3], u32)> = Vec::new();
    let add = |counts: &mut Vec<([u8; 3], u32)>, s: &Segment<'_, '_>| {
        let key = match s.id().as_bytes() {
            [a, b, c] => [*a, *b, *c],
            _ => [0; 3],
        };
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    };
    let mut later = Vec::with_capacity(starts.len().saturating_sub(1));
    let mut segments = msg.segments().peekable();
    let mut header_counts = Vec::new();
    for (k, &(_, first)) in starts.iter().enumerate() {
        while let Some(s) = segments.next_if(|s| s.line() - 1 < first) {
            add(&mut counts, &s);
        }
        if k == 0 {
            header_counts = counts.clone();
            continue;
        }
        let next = starts.get(k + 1).map_or(msg.segment_count(), |&(_, p)| p);
        later.push(GroupAt {
            header_len,
            first,
            len: next - first,
            header_counts: header_counts.clone(),
            before: counts.clone(),
        });
    }
    let mut out = Vec::with_capacity(starts.len());
    for (k, &(at, _)) in starts.iter().enumerate() {
        let window = Window {
            // The first group reads the message from its start.
            header_end: if k == 0 { 0 } else { header_end },
            start: if k == 0 { 0 } else { at },
            end: starts.get(k + 1).map_or(usize::MAX, |&(b, _)| b),
            group: Some(u32::try_from(k + 1).unwrap_or(u32::MAX)),
            groups,
            at: k.checked_sub(1).and_then(|i| later.get(i)),
        };
        out.push(map_window(msg, opts, window)?);
    }
    shared_keys(&mut out);
    Ok(out)
}

/// Quarantines the patient groups of one message that share a key the
/// Bundle writer updates on: a visit number (PV1-19) or a filler number
/// (OBR-3, OBX-21) with an assigning authority or a system. Within one
/// group such results are each created (see the writer); across groups the
/// same key would make one patient's Bundle replace another's Encounter or
/// result, so neither group is written, and each says which key and group.
fn shared_keys(groups: &mut [(Event, MappingReport)]) {
    let keys = |e: &Event| -> Vec<Identifier> {
        let visit = e.encounter.iter().flat_map(|enc| &enc.identifiers);
        let reports = e.reports.iter().flat_map(|r| {
            r.identifiers
                .iter()
                .chain(r.observations.iter().flat_map(|o| &o.identifiers))
        });
        let observations = e.observations.iter().flat_map(|o| &o.identifiers);
        visit
            .chain(reports)
            .chain(observations)
            .map(|i| &i.value)
            .filter(|i| match i {
                Identifier::VisitNumber {
                    authority, system, ..
                } => authority.is_some() || system.is_some(),
                Identifier::Typed {
                    kind,
                    authority,
                    system,
                    ..
                } => kind == "FILL" && (authority.is_some() || system.is_some()),
                _ => false,
            })
            .cloned()
            .collect()
    };
    // Each key's first group, and for each group the first key it shares
    // with another (found in one pass each way: linear in the groups).
    let all: Vec<Vec<Identifier>> = groups.iter().map(|(e, _)| keys(e)).collect();
    let mut first: std::collections::HashMap<&Identifier, usize> = std::collections::HashMap::new();
    let mut clash: Vec<Option<(usize, &Identifier)>> = vec![None; all.len()];
    for (k, own) in all.iter().enumerate() {
        for key in own {
            match first.get(key) {
                Some(&j) if j != k => {
                    for (at, other) in [(k, j), (j, k)] {
                        if let Some(c) = clash.get_mut(at) {
                            *c = c.or(Some((other, key)));
                        }
                    }
                }
                Some(_) => {}
                None => {
                    first.insert(key, k);
                }
            }
        }
    }
    for (k, ((event, report), c)) in groups.iter_mut().zip(clash).enumerate() {
        let Some((j, key)) = c else { continue };
        let what = match key {
            Identifier::VisitNumber { .. } => "visit number",
            _ => "filler number",
        };
        report.identity.push(IdentityDecision {
            reason: format!(
                "quarantined: {} patient groups {} and {} share the {what} {}: one key \
                 names two patients' records, so neither group is written",
                event.message_type,
                k.min(j) + 1,
                k.max(j) + 1,
                key.value(),
            ),
            ..IdentityDecision::default()
        });
    }
}

/// The part of a message one mapping reads (see [`Ctx::reads`]).
struct Window<'g> {
    header_end: usize,
    start: usize,
    end: usize,
    /// The patient group mapped ([`map_patient_groups`]), 1-based; `None`
    /// for [`map_message`].
    group: Option<u32>,
    /// How many PID segments the message has.
    groups: u32,
    /// A later patient group's place ([`GroupAt`]).
    at: Option<&'g GroupAt>,
}

/// Maps the part of `msg` that `window` names (see [`map_message`] and
/// [`map_patient_groups`]).
fn map_window(
    msg: &Message<'_>,
    opts: &V2Options,
    window: Window<'_>,
) -> Result<(Event, MappingReport), MapError> {
    // MSH-9.1 says what the message is: without it (`||`, `|^A01|`) there
    // is nothing to map it as.
    let mt = msg
        .message_type()
        .filter(|t| !t.code.trim().is_empty())
        .ok_or(MapError::NotAMessage("no MSH-9 message type"))?;
    let mut ctx = Ctx {
        msg,
        opts,
        consumed: match window.at {
            // A later group's bytes: the header's and its own.
            Some(_) => Consumed::window(
                window.header_end,
                window.start,
                window.end.min(msg.as_bytes().len()),
            ),
            None => Consumed::new(msg.as_bytes().len()),
        },
        report: MappingReport::default(),
        msh_offset: None,
        last: None,
        last_rep: 0,
        comps: Vec::with_capacity(16),
        rep_at: None,
        seg_at: [None; SEG_SLOTS],
        seg_slot: 0,
        end: window.end,
        start: window.start,
        header_end: window.header_end,
        group: window.at,
    };
    // MSH-1/2 are the encoding itself: consumed by reading the message.
    for p in [at!(b"MSH", 1), at!(b"MSH", 2), at!(b"MSH", 12)] {
        let _ = ctx.value(p);
    }
    // MSH-9 is read raw (it says how to map the rest): a control character
    // in it (which FHIR strings may not hold) is reported and left out of
    // the message type.
    for p in [at!(b"MSH", 9, 1), at!(b"MSH", 9, 2), at!(b"MSH", 9, 3)] {
        if let Some((v, src)) = ctx.value(p) {
            if v.raw().iter().copied().any(is_control) {
                ctx.invalid(src, v.raw(), "control characters", Action::KeptAsText);
            }
        }
    }
    // MSH-18, a character set the parser decodes, is how every text value
    // was read: consumed like the encoding characters. One it does not know
    // is reported.
    if ctx
        .peek(at!(b"MSH", 18))
        .is_some_and(|c| carecodec_hl7v2::Charset::from_msh18(c.as_bytes()).is_some())
    {
        let _ = ctx.value(at!(b"MSH", 18));
    }
    ctx.msh_offset = at!(b"MSH", 7)
        .path()
        .and_then(|p| msg.query(p))
        .and_then(|v| {
            Timestamp::from_value(&v)
                .and_then(|ts| in_fhir_range(ts, v.offset()))
                .ok()
        })
        .and_then(|t| t.offset);
    // A delete or cancel outside the supported triggers (see the end).
    let undo = delete_or_cancel(mt.code, mt.trigger);
    let mut event = Event {
        kind: kind_of(mt.code, mt.trigger),
        message_type: message_type(mt.code, mt.trigger),
        message_id: ctx.text(at!(b"MSH", 10)).map(|s| s.value),
        sent: ctx.datetime(at!(b"MSH", 7)),
        occurred: None,
        recorded: None,
        reason: None,
        operator: None,
        // MSH-4 is an HD: its namespace id, else its universal id typed.
        sender: ctx.text(at!(b"MSH", 4, 1)).or_else(|| {
            let (id, ty) = at!(b"MSH", 4, 2).zip(at!(b"MSH", 4, 3))?;
            universal_system(&mut ctx, id, ty)
        }),
        source_application: application(&mut ctx, 3),
        destination_application: application(&mut ctx, 5),
        destination_facility: ctx.text(at!(b"MSH", 6, 1)),
        // MSH-11.1 (IG: MessageHeader meta.tag in v2-0103); the processing
        // mode MSH-11.2 has no place and is reported when sent.
        processing: ctx
            .text(at!(b"MSH", 11, 1))
            .map(|s| s.map(|v| v2_code("0103", v, None))),
        patient: None,
        merged_from: Vec::new(),
        encounter: None,
        allergies: Vec::new(),
        conditions: Vec::new(),
        reports: Vec::new(),
        observations: Vec::new(),
        group: window.group,
    };
    if ctx.has("EVN") {
        // EVN-1 repeats MSH-9.2 (which is authoritative): consumed when it
        // says the same; a different code stays in the report.
        let trigger = event.message_type.split('^').nth(1);
        if trigger.is_some() && ctx.peek(at!(b"EVN", 1)).as_deref() == trigger {
            ctx.touch(at!(b"EVN", 1));
        }
        // IG EVN[Provenance]: EVN-2 recorded, EVN-4 reason, EVN-5 operator
        // (agent), EVN-6 occurred.
        event.recorded = ctx.datetime(at!(b"EVN", 2));
        event.occurred = ctx.datetime(at!(b"EVN", 6));
        event.reason = ctx.text(at!(b"EVN", 4, 1)).map(|c| {
            let display = ctx.text(at!(b"EVN", 4, 2));
            let mut code = c.map(|v| v2_code("0062", v, None));
            if let Some(d) = display {
                code.value.display = Some(d.value);
                code.sources.append(d.sources);
            }
            code
        });
        if let Some(evn) = seg("EVN", 1) {
            event.operator = xcn(&mut ctx, evn.field(5).repetition(1));
        }
    }
    if ctx.has("PID") {
        // Filled where it lies: a `Patient` is 2 KiB, and building it
        // elsewhere would copy it into the event.
        patient(&mut ctx, event.patient.insert(Patient::default()));
    }
    if let Some(p) = event.patient.as_mut() {
        pd1(&mut ctx, p);
        // Sized: a contact is about 500 bytes (see `results`).
        let count = ctx.count("NK1");
        p.contacts.reserve_exact(count as usize);
        for n in 1..=count {
            p.contacts.push(nk1(&mut ctx, n));
        }
    }
    for n in 1..=ctx.count("MRG") {
        let Some(mrg) = seg("MRG", n) else { break };
        for r in 1..=ctx.reps(mrg.field(1)) {
            if let Some(id) = ctx.text_cow(mrg.field(1).repetition(r).component(1)) {
                let authority = ctx
                    .text_cow(mrg.field(1).repetition(r).component(4).subcomponent(1))
                    .map(|s| s.value);
                let kind = ctx
                    .text_cow(mrg.field(1).repetition(r).component(5))
                    .map(|s| s.value);
                let mut src = id.sources.clone();
                let ident = classify_id(
                    &mut ctx,
                    Cow::Borrowed(&id.value),
                    authority,
                    kind.as_deref(),
                    mrg.field(1).repetition(r).component(4),
                    &mut src,
                );
                if is_own_identifier(event.patient.as_ref(), &ident) {
                    if let Some(s) = src.first().cloned() {
                        ctx.invalid(
                            s,
                            id.value.as_bytes(),
                            "MRG-1 is the surviving patient's own identifier (PID): a patient \
                             merged into itself is no merge",
                            Action::Dropped,
                        );
                    }
                    continue;
                }
                event.merged_from.push(Sourced::from_many(ident, src));
            }
        }
    }
    if event.kind == AdtKind::Merge && event.merged_from.is_empty() {
        ctx.report.notes.push(format!(
            "{}: a merge with no MRG-1 identifier to merge: nothing is merged",
            event.message_type
        ));
    } else if event.kind == AdtKind::Merge
        && event.merged_from.iter().all(|m| {
            matches!(&m.value, Identifier::Other { system: Some(s), .. } if s.starts_with("NHS"))
        })
    {
        // Invalid NHS numbers are never written as identifiers, so the
        // Bundle can name no replaced record: said here, not lost unseen.
        ctx.report.notes.push(format!(
            "{}: MRG-1 holds only invalid NHS numbers: the merge keeps them, but no replaced \
             record can be written to FHIR",
            event.message_type
        ));
    }
    let blank = |s: Option<&str>| s.is_none_or(|s| s.trim().is_empty());
    if ctx.has("PV1") {
        // Filled where it lies, as the patient.
        let e = event.encounter.insert(Encounter::default());
        encounter(&mut ctx, e, event.kind);
        // The event says what became of the visit (IG MSH[Encounter],
        // Event[EncounterStatus]); PV1's inference stays where it says nothing.
        // An A08 whose PV1 has an admit or discharge time says where the
        // visit stands: PV1's status (see `update_status`).
        // A27 / A38 cancel a visit that has not begun, as A11 does.
        let cancels = undo.is_some_and(|(_, visit)| visit).then_some("cancelled");
        match event_status(event.kind).or(cancels) {
            Some(_) if event.kind == AdtKind::Update && update_status(e) => {
                let status = e.status.as_deref().unwrap_or_default();
                ctx.report.notes.push(format!(
                    "{}: Encounter status {status} from PV1 (PV1-44 admitted / PV1-45 \
                     discharged), not the IG's unknown for an update: a keyed update replaces \
                     the Encounter a server holds",
                    event.message_type
                ));
            }
            Some(status) => e.status = Some(status.into()),
            None => {}
        }
        if blank(event.sender.as_ref().map(|s| s.value.as_str()))
            && blank(ctx.opts.trust_ods.as_deref())
        {
            unkeyed_locations(&mut ctx.report, e);
            unkeyed_encounter(&mut ctx.report, e);
        }
    }
    let count = ctx.count("AL1");
    event.allergies.reserve_exact(count as usize);
    for n in 1..=count {
        if let Some(a) = al1(&mut ctx, n) {
            event.allergies.push(a);
        }
    }
    let count = ctx.count("DG1");
    event.conditions.reserve_exact(count as usize);
    for n in 1..=count {
        if let Some(c) = dg1(&mut ctx, n) {
            event.conditions.push(c);
        }
    }
    (event.reports, event.observations) = results(&mut ctx);
    let scoped = !blank(event.sender.as_ref().map(|s| s.value.as_str()))
        || !blank(ctx.opts.trust_ods.as_deref());
    if !scoped {
        unkeyed_results(&mut ctx.report, &event);
    }
    replaced_by_updates(&mut ctx.report, &event, scoped);
    // Identity.
    if let Some(p) = &event.patient {
        let decision = identity(&p.identifiers);
        ctx.report.identity.push(decision);
        // A merge of two people's records into one is not applied.
        if let Some(d) = merge_conflict(&event.merged_from) {
            ctx.report.identity.push(d);
        }
    } else if let Some(reason) = no_patient(&event) {
        ctx.report.identity.push(IdentityDecision {
            reason,
            ..IdentityDecision::default()
        });
    } else if event.kind == AdtKind::Result {
        ctx.report.notes.push(
            "no PID: the results are about no patient (ORU^R01's PATIENT group is optional)".into(),
        );
    }
    delete_or_cancel_rule(&mut ctx.report, &event, undo);
    if event.kind != AdtKind::Result
        && let Some(reason) = order_cancel(ctx.window(), &event.message_type)
    {
        ctx.report.identity.push(IdentityDecision {
            reason,
            ..IdentityDecision::default()
        });
    }
    match window.group {
        None => {
            if let Some(reason) = patient_groups(&event, window.groups) {
                ctx.report.identity.push(IdentityDecision {
                    reason,
                    ..IdentityDecision::default()
                });
            }
        }
        Some(k) => {
            ctx.report.notes.push(match &event.message_id {
                Some(id) => format!(
                    "{}: patient group {k} of {} (PID[{k}]), mapped as its own event with the \
                     message's header; its Bundle's identifier is MSH-10 and the group's \
                     number ({id}/{k})",
                    event.message_type, window.groups,
                ),
                None => format!(
                    "{}: patient group {k} of {} (PID[{k}]), mapped as its own event with the \
                     message's header; no MSH-10 (required): its Bundle has no identifier",
                    event.message_type, window.groups,
                ),
            });
        }
    }
    // Accounting.
    finish(&mut ctx, window.group.is_some());
    Ok((event, ctx.report))
}

/// What an event of no supported trigger (`kind = Other`) becomes, said in
/// `report` (docs/mapping.md, "Supported triggers"). A delete or cancel
/// (`undo`, see [`delete_or_cancel`]) must never become a create or update:
/// A27 / A38 with a PV1 are mapped as A11 is (the Encounter cancelled) and
/// noted; any other one, and A27 / A38 with no visit to cancel, is
/// quarantined. Any other event is mapped as an update of the records its
/// segments carry, and a note says so.
fn delete_or_cancel_rule(
    report: &mut MappingReport,
    event: &Event,
    undo: Option<(&'static str, bool)>,
) {
    let mt = &event.message_type;
    match undo {
        Some((what, true)) if event.encounter.is_some() => report.notes.push(format!(
            "{mt} ({what}): not a supported trigger; mapped as A11 (cancel admit) is: the \
             visit's Encounter status is cancelled"
        )),
        Some((what, visit)) => {
            let why = if visit {
                "has no PV1: there is no visit to cancel"
            } else {
                "deletes or cancels what the model cannot express"
            };
            report.identity.push(IdentityDecision {
                reason: format!(
                    "quarantined: {mt} ({what}) {why}; its segments must not be written as a \
                     create or update of the records they delete or cancel"
                ),
                ..IdentityDecision::default()
            });
        }
        None if event.kind == AdtKind::Other => report.notes.push(format!(
            "{mt}: not a supported trigger event: treated as an update (the records its \
             segments carry are mapped as sent, and a transaction Bundle creates or updates \
             them)"
        )),
        None => {}
    }
}

/// The quarantine reason of a message whose ORC-1 order control code (HL7
/// table 0119) cancels or discontinues an order (`CA`, `OC`, `CR`, `DC`,
/// `OD`, `DR`): the model keeps no order status (ORC is not mapped), so
/// its ServiceRequest would be written as a create or update of the order
/// the message cancels. Not applied to ORU^R01, whose result statuses
/// (OBR-25, OBX-11 `X`) carry a cancellation the mapping writes.
fn order_cancel<'m, 'a>(
    mut window: impl Iterator<Item = Segment<'m, 'a>>,
    message_type: &str,
) -> Option<String> {
    window.find_map(|s| {
        if s.id() != "ORC" {
            return None;
        }
        let code = s.field(1)?;
        let what = match code.raw().trim_ascii() {
            b"CA" => "cancel order request",
            b"OC" => "order canceled",
            b"CR" => "canceled as requested",
            b"DC" => "discontinue order request",
            b"OD" => "order discontinued",
            b"DR" => "discontinued as requested",
            _ => return None,
        };
        let code = String::from_utf8_lossy(code.raw().trim_ascii());
        Some(format!(
            "quarantined: {message_type} with ORC-1 {code} ({what}, HL7 table 0119): the \
             mapping keeps no order status, so its ServiceRequest must not be written as a \
             create or update of the order it cancels or discontinues"
        ))
    })
}

/// [`delete_or_cancel_rule`] for an event read from FHIR, whose message
/// type is an HL7 v2 one (a message Bundle's `MessageHeader.eventCoding`,
/// a Provenance `activity`): a delete or cancel is quarantined, but A27 /
/// A38 whose Encounter was read `cancelled` (the status is the resource's,
/// not the event's).
pub(crate) fn fhir_delete_or_cancel(report: &mut MappingReport, event: &Event) {
    let mut parts = event.message_type.split('^');
    let (code, trigger) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let Some((what, visit)) = delete_or_cancel(code, trigger) else {
        return;
    };
    let cancelled = event
        .encounter
        .as_ref()
        .is_some_and(|e| e.status.as_deref() == Some("cancelled"));
    if visit && cancelled {
        return;
    }
    let why = if visit {
        "has no cancelled Encounter"
    } else {
        "deletes or cancels what the model cannot express"
    };
    report.identity.push(IdentityDecision {
        reason: format!(
            "quarantined: {} ({what}) {why}; its resources must not be written as a create \
             or update of the records it deletes or cancels",
            event.message_type
        ),
        ..IdentityDecision::default()
    });
}

/// True when `id` (an MRG-1 identifier) is one of the patient's own: the
/// same NHS number, or the same identifier with the same authority.
fn is_own_identifier(patient: Option<&Patient>, id: &Identifier) -> bool {
    patient.is_some_and(|p| {
        p.identifiers.iter().any(|own| match (&own.value, id) {
            (Identifier::Nhs { number: a, .. }, Identifier::Nhs { number: b, .. }) => a == b,
            (a, b) => a == b,
        })
    })
}

/// True when an update's (A08's) PV1 says where the visit stands: an admit
/// (PV1-44) or discharge (PV1-45) time kept. The IG's Event[EncounterStatus]
/// map gives A08 `unknown` ("the transaction does not convey the status"),
/// but an A08 carries the visit's current PV1, and the Bundle's keyed
/// Encounter update replaces the whole resource: `unknown` would overwrite
/// an admitted patient's `in-progress`. PV1's status (the IG's PV1 map:
/// finished with PV1-45, else by class) is kept instead. With neither time,
/// `unknown` stands, as it does when PV1's `finished` rests on a PV1-45
/// that was dropped (a discharge before the admission): which time is wrong
/// cannot be told, so the update does not say the visit ended.
fn update_status(e: &Encounter) -> bool {
    let dropped_discharge = e.discharged.is_none() && e.status.as_deref() == Some("finished");
    e.discharged.is_some() || (e.admitted.is_some() && !dropped_discharge)
}

/// `Encounter.status` by trigger event, the IG's Event[EncounterStatus]
/// concept map: A01, A02, A13 in-progress; A03 finished (with or without
/// PV1-45); A04, A05 planned; A08 unknown (the update does not convey the
/// status); A11 cancelled. The map gives A12 (cancel transfer) and the other
/// events no target: PV1 decides (PV1-45, else PV1-2).
fn event_status(kind: AdtKind) -> Option<&'static str> {
    match kind {
        AdtKind::Admit | AdtKind::Transfer | AdtKind::CancelDischarge => Some("in-progress"),
        AdtKind::Discharge => Some("finished"),
        AdtKind::Register | AdtKind::PreAdmit => Some("planned"),
        AdtKind::Update => Some("unknown"),
        AdtKind::CancelAdmit => Some("cancelled"),
        _ => None,
    }
}

/// Why an event without a PID is quarantined: every ADT message structure
/// requires PID (an admission, transfer or merge about no patient cannot be
/// applied to anyone). ORU^R01's PATIENT group is optional (results about no
/// patient, e.g. a quality-control specimen), so a result without PID is
/// mapped as sent; other message types likewise.
pub(crate) fn no_patient(event: &Event) -> Option<String> {
    event.message_type.starts_with("ADT^").then(|| {
        format!(
            "quarantined: {} has no PID segment: an ADT event about no patient",
            event.message_type
        )
    })
}

/// Why a message with more than one PID is quarantined: each PID opens
/// another patient's group (ORU^R01's PATIENT_RESULT, ADT^A40's
/// `{PID, [PD1], MRG, [PV1]}`, A17's two patients swapped, BAR^P02's
/// visits), and an [`Event`] is about one patient. The first group is
/// mapped and nothing from the second PID on is read (so none of a later
/// patient's results, notes or merges is filed against the first); its
/// leaves are reported unmapped, and the quarantine keeps the message from
/// being written.
pub(crate) fn patient_groups(event: &Event, pids: u32) -> Option<String> {
    (pids > 1).then(|| {
        format!(
            "quarantined: {} carries {pids} patient groups (PID segments); carecodec maps one \
             patient per message: nothing from the second PID on was read",
            event.message_type
        )
    })
}

/// An application (HD) in MSH field `f`.
fn application(ctx: &mut Ctx<'_, '_>, f: u32) -> Option<Sourced<Application>> {
    let hd = seg("MSH", 1)?.field(f);
    let parts = [1, 2, 3].map(|c| ctx.text(hd.component(c)));
    if parts.iter().all(Option::is_none) {
        return None;
    }
    let [name, id, ty] = parts;
    // A universal id not of its type's shape is kept, but no endpoint is
    // made from it (`Application::endpoint`): said in the report.
    if let (Some(i), Some(t)) = (&id, &ty) {
        let why = match t.value.as_str() {
            "ISO" if !is_oid(&i.value) => Some("typed ISO but not an OID"),
            "URI" if !is_uri(&i.value) => Some("typed URI but not an absolute URI"),
            _ => None,
        };
        if let (Some(why), Some(src)) = (why, i.sources.first()) {
            let reason = format!("{why}: kept as the universal id, no endpoint made from it");
            ctx.invalid(src.clone(), i.value.as_bytes(), reason, Action::KeptAsText);
        }
    }
    let sources = [&name, &id, &ty]
        .into_iter()
        .flatten()
        .flat_map(|s| s.sources.iter().cloned())
        .collect();
    let value = |p: Option<Sourced<String>>| p.map(|p| p.value);
    let app = Application {
        name: value(name),
        universal_id: value(id),
        universal_id_type: value(ty),
    };
    Some(Sourced::from_many(app, sources))
}

fn count(msg: &Message<'_>, id: &str) -> u32 {
    msg.segments().filter(|s| s.id() == id).count() as u32
}

/// HL7 table 0203 types read as a hospital number (MRN).
const MRN_TYPES: &[&str] = &["MR", "MRT", "PI", "PT", "PE", "PN", "U"];

/// A table 0203 type code: two to five upper-case letters or digits.
fn is_type_code(t: &str) -> bool {
    (2..=5).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A control character FHIR strings may not hold: below U+0020 other than
/// tab, LF and CR (R4 §2.1.0.2 "string"). Any byte of a UTF-8 text below
/// 0x20 is such a character.
fn is_control(b: u8) -> bool {
    b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')
}

/// An assigning authority's universal id (HD.2) as a system URI, by its type
/// (HD.3), as the IG's HD[uri]: `ISO` an OID as `urn:oid:`, `UUID` (or its
/// table 0301 synonym `GUID`) as `urn:uuid:`, `URI` / `URL` as itself. Both
/// parts are read (consumed) only when they give a system; any other type, or
/// a value not of its type's shape, is left unread so the report counts it
/// unmapped. No placeholder is ever made.
fn hd_system(ctx: &mut Ctx<'_, '_>, hd: Path) -> Option<Sourced<String>> {
    universal_system(ctx, hd.subcomponent(2), hd.subcomponent(3))
}

/// A universal id at `at` typed at `ty` (HD.2 / HD.3, EI.3 / EI.4) as a
/// system URI; see [`hd_system`].
fn universal_system(ctx: &mut Ctx<'_, '_>, at: Path, ty: Path) -> Option<Sourced<String>> {
    let kind = ctx.peek(ty)?;
    let id = ctx.peek(at)?;
    let system = match &*kind {
        "ISO" if is_oid(&id) => format!("urn:oid:{id}"),
        "UUID" | "GUID" if is_uuid(&id) => format!("urn:uuid:{}", id.to_ascii_lowercase()),
        "URI" | "URL" if is_uri(&id) => id.into_owned(),
        _ => return None,
    };
    let mut sources = ctx.text_cow(at)?.sources;
    if let Some(t) = ctx.text_cow(ty) {
        sources.append(t.sources);
    }
    Some(Sourced::from_many(system, sources))
}

/// A CX identifier classified by its assigning authority namespace (CX.4.1)
/// and type (CX.5). An MRN, visit number or typed identifier takes the
/// authority's universal id (`hd`, the CX.4 HD: see [`hd_system`]) as its
/// system, its sources added to `sources` (the value's first); an NHS number
/// keeps its UK Core system and leaves HD.2 / HD.3 unread.
fn classify_id(
    ctx: &mut Ctx<'_, '_>,
    value: Cow<'_, str>,
    authority: Option<Cow<'_, str>>,
    kind: Option<&str>,
    hd: Path,
    sources: &mut Sources,
) -> Identifier {
    let src = sources.first().cloned();
    let is_nhs = authority
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("NHS"))
        || kind == Some("NH");
    if is_nhs {
        match NhsNumber::parse(&value) {
            Ok(number) => {
                if let (Some(reason), Some(s)) = (nhs_normalised(&value, &number), src) {
                    ctx.invalid(s, value.as_bytes(), reason, Action::Interpreted);
                }
                return Identifier::Nhs {
                    number,
                    verification: None,
                };
            }
            Err(e) => {
                if let Some(s) = src {
                    ctx.invalid(
                        s,
                        value.as_bytes(),
                        format!("invalid NHS number: {e}"),
                        Action::NotUsedForMatching,
                    );
                }
                return Identifier::Other {
                    system: Some("NHS (invalid)".into()),
                    value: value.into_owned(),
                };
            }
        }
    }
    let system = hd_system(ctx, hd).map(|s| {
        sources.append(s.sources);
        s.value
    });
    let authority = authority.map(Cow::into_owned);
    match kind {
        Some("VN") => Identifier::VisitNumber {
            value: value.into_owned(),
            authority,
            system,
        },
        // Any other HL7 table 0203 type (AN account number, SS, DL, PPN, …)
        // is kept with its type, and never keys the patient.
        Some(other) if !MRN_TYPES.contains(&other) && is_type_code(other) => Identifier::Typed {
            kind: other.to_owned(),
            value: value.into_owned(),
            authority,
            system,
        },
        // A hospital number: typed MR, MRT, PI, PT, PE, PN or U, untyped as PAS
        // feeds often send it, or with something that is not a type code in
        // CX.5 (read leniently, as before).
        _ => Identifier::Mrn {
            value: value.into_owned(),
            authority: authority.or_else(|| ctx.opts.trust_ods.clone()),
            system,
        },
    }
}

/// Why an NHS number read as `number` from `raw` is reported: it was sent
/// with spaces (`943 476 5919`, as the NHS displays it) and read as its ten
/// digits. `None` for the ten digits alone. Shared with the FHIR reader.
pub(crate) fn nhs_normalised(raw: &str, number: &NhsNumber) -> Option<String> {
    (raw != number.as_str())
        .then(|| format!("NHS number sent with spaces: read as {}", number.as_str()))
}

fn patient(ctx: &mut Ctx<'_, '_>, p: &mut Patient) {
    let Some(pid) = seg("PID", 1) else { return };
    // PID-1 set id: the order of the segment, as DG1-1 or OBX-1.
    ctx.touch(pid.field(1));
    for r in 1..=ctx.reps(at!(b"PID", 3)) {
        let Some(id) = ctx.text_cow(pid.field(3).repetition(r).component(1)) else {
            continue;
        };
        let authority = ctx
            .text_cow(pid.field(3).repetition(r).component(4).subcomponent(1))
            .map(|s| s.value);
        let kind = ctx
            .text_cow(pid.field(3).repetition(r).component(5))
            .map(|s| s.value);
        let mut src = id.sources;
        let ident = classify_id(
            ctx,
            id.value,
            authority,
            kind.as_deref(),
            pid.field(3).repetition(r).component(4),
            &mut src,
        );
        p.identifiers.push(Sourced::from_many(ident, src));
    }
    // PID-2 (external id) and PID-4 (alternate id), where senders still put ids.
    for f in [2, 4] {
        for r in 1..=ctx.reps(pid.field(f)) {
            if let Some(id) = ctx.text_cow(pid.field(f).repetition(r).component(1)) {
                let authority = ctx
                    .text_cow(pid.field(f).repetition(r).component(4).subcomponent(1))
                    .map(|s| s.value);
                let kind = ctx
                    .text_cow(pid.field(f).repetition(r).component(5))
                    .map(|s| s.value);
                let mut src = id.sources;
                let ident = classify_id(
                    ctx,
                    id.value,
                    authority,
                    kind.as_deref(),
                    pid.field(f).repetition(r).component(4),
                    &mut src,
                );
                p.identifiers.push(Sourced::from_many(ident, src));
            }
        }
    }
    // PID-32 identity reliability: NHS ITK carries the NHS number verification status here.
    // An IS before v2.7, a CWE since (`01^Number present and verified^NHSNVS`): the code is
    // component 1; a display or coding system beside it is left unread (reported unmapped).
    if let Some(status) = ctx.text_cow(at!(b"PID", 32, 1)) {
        match VerificationStatus::from_code(&status.value) {
            Some(vs) => {
                for id in &mut p.identifiers {
                    if let Identifier::Nhs { verification, .. } = &mut id.value {
                        *verification = Some(vs);
                        id.sources.extend(status.sources.clone());
                    }
                }
            }
            None => ctx.invalid_value(
                &status,
                "not an NHS number verification status (01 to 08); the NHS number is kept \
                 without one",
                Action::Dropped,
            ),
        }
    }
    for r in 1..=ctx.reps(at!(b"PID", 5)) {
        if let Some(n) = name(ctx, pid.field(5).repetition(r)) {
            p.names.push(n);
        }
        called_by(ctx, pid.field(5).repetition(r), &mut p.names);
    }
    p.birth_date = ctx.date(at!(b"PID", 7));
    if p.birth_date.is_some() {
        // A time of birth as well (IG: the patient-birthTime extension).
        p.birth_time = ctx.datetime(at!(b"PID", 7)).filter(|t| {
            !matches!(
                t.value.precision,
                Precision::Year | Precision::Month | Precision::Day
            )
        });
    }
    p.gender = sex(ctx, at!(b"PID", 8, 1));

    // PID-9 alias names (IG: further `name` entries).
    for r in 1..=ctx.reps(at!(b"PID", 9)) {
        if let Some(n) = name(ctx, pid.field(9).repetition(r)) {
            p.names.push(n);
        }
        called_by(ctx, pid.field(9).repetition(r), &mut p.names);
    }
    p.marital_status = ctx
        .text(at!(b"PID", 16, 1))
        .map(|c| c.map(|v| v2_code("0002", v, None)));
    let reps = ctx.reps(at!(b"PID", 11));
    // Exactly as many as sent: an `Address` with its sources is 272 bytes, and
    // the default first growth (4) would ask for over 1 KiB, which makes glibc
    // consolidate its free lists on every message.
    p.addresses.reserve_exact(reps as usize);
    for r in 1..=reps {
        if let Some(a) = address(ctx, pid.field(11).repetition(r)) {
            p.addresses.push(a);
        }
    }
    // PID-40 (v2.7+, where PID-13/14 are deprecated) carries its own use codes.
    for (f, default_use) in [(13, "home"), (14, "work"), (40, "")] {
        for r in 1..=ctx.reps(pid.field(f)) {
            if let Some(t) = telecom(ctx, pid.field(f).repetition(r), default_use) {
                p.telecom.push(t);
            }
        }
    }
    // PID-22: an NHS Data Dictionary ethnic category (the England codes, with
    // no PID-22.3 or one naming the NHS table); any other code or table (US
    // race/ethnicity, HL70189 `N` Not Hispanic…) keeps the system PID-22.3 names.
    p.ethnic_category = ctx.text(at!(b"PID", 22, 1)).map(|c| {
        let display = ctx.text(at!(b"PID", 22, 2)).map(|d| d.value);
        let named = ctx.text_cow(at!(b"PID", 22, 3));
        let mut sources = c.sources;
        let nhs_table = named.as_ref().is_none_or(|n| names_nhs_ethnic(&n.value));
        let system = if nhs_table && ETHNIC_CATEGORY_ENGLAND.contains(&c.value.as_str()) {
            CodeSystem::NhsDataDictionary("EthnicCategory".into())
        } else {
            ctx.coding_system(named.as_ref())
        };
        if let Some(n) = named {
            sources.append(n.sources);
        }
        let code = Code {
            system,
            code: c.value,
            display,
        };
        Sourced::from_many(code, sources)
    });
    let death = ctx.datetime(at!(b"PID", 29));
    let flag = ctx.text_cow(at!(b"PID", 30));
    let died = flag.as_ref().and_then(|f| yes_no(ctx, f));
    // IG: PID-30 → deceasedBoolean when PID-29 is empty (Y true, N false).
    p.deceased = match (death, flag, died) {
        (Some(mut d), Some(f), Some(true)) => {
            d.sources.append(f.sources);
            Some(d.map(Deceased::At))
        }
        (Some(d), Some(f), Some(false)) => {
            ctx.invalid_value(
                &f,
                "not deceased (PID-30 N) but a date of death (PID-29): the date is kept",
                Action::Dropped,
            );
            Some(d.map(Deceased::At))
        }
        (Some(d), _, _) => Some(d.map(Deceased::At)),
        (None, Some(f), Some(yes)) => {
            Some(f.map(|_| if yes { Deceased::Yes } else { Deceased::No }))
        }
        _ => None,
    };
    // PID-15 primary language (table 0296, ISO 639 codes in practice).
    p.language = cwe(ctx, pid.field(15));
    // IG: PID-26 citizenship and PID-39 tribal citizenship → the core
    // patient-citizenship extension (each repeat); PID-28 nationality → the
    // core patient-nationality extension.
    for f in [26, 39] {
        for r in 1..=ctx.reps(pid.field(f)) {
            if let Some(c) = country(ctx, pid.field(f).repetition(r)) {
                p.citizenship.push(c);
            }
        }
    }
    p.nationality = country(ctx, pid.field(28));
    // IG: PID-6 mother's maiden name → patient-mothersMaidenName valueString
    // (XPN[string]: the name assembled as XPN.11 says).
    p.mothers_maiden_name = xpn_text(ctx, pid.field(6).repetition(1));
    // IG: PID-23 birth place (ST) → patient-birthPlace valueAddress.text.
    p.birth_place = ctx.text(at!(b"PID", 23));
    // IG: PID-17 religion → the core patient-religion extension (table 0006
    // kept as sent, also when CWE.3 does not name it; the writer applies the
    // IG's Religion map).
    p.religion = cwe(ctx, pid.field(17)).map(|mut r| {
        for code in &mut r.value.codes {
            if code.system == CodeSystem::Local(String::new()) {
                code.system = CodeSystem::V2Table("0006".into());
            }
        }
        r
    });
    // IG: PID-25 birth order → multipleBirthInteger, else PID-24 (Y/N) → boolean
    // (also when PID-25 is sent but not a birth order).
    let indicator = ctx.text_cow(at!(b"PID", 24));
    let multiple = indicator.as_ref().and_then(|i| yes_no(ctx, i));
    let order = ctx
        .text_cow(at!(b"PID", 25))
        .and_then(|o| match o.value.trim().parse::<u32>() {
            // FHIR's multipleBirthInteger is 32-bit signed: a larger order is
            // none (PID-24 `Y`, when sent, still says it is a multiple birth).
            Ok(n) if n > 0 && i32::try_from(n).is_ok() => Some(o.map(|_| n)),
            _ => {
                ctx.invalid_value(
                    &o,
                    "not a birth order (an integer from 1 to 2147483647)",
                    Action::Dropped,
                );
                None
            }
        });
    p.multiple_birth = match (order, indicator, multiple) {
        (Some(o), i, m) => {
            let mut s = o.map(MultipleBirth::Order);
            match (i, m) {
                (Some(i), Some(true)) => s.sources.append(i.sources),
                (Some(i), Some(false)) => ctx.invalid_value(
                    &i,
                    "not a multiple birth (PID-24 N) but a birth order (PID-25): the order is kept",
                    Action::Dropped,
                ),
                _ => {}
            }
            Some(s)
        }
        (None, Some(i), Some(yes)) => Some(i.map(|_| {
            if yes {
                MultipleBirth::Yes
            } else {
                MultipleBirth::No
            }
        })),
        _ => None,
    };
}

/// A Yes/No indicator (HL7 table 0136: PID-24, PID-30): `Y` true, `N` false.
/// Table 0136 has no other codes: a lower-case `y` / `n` (or one with blanks
/// around it) is read as `Y` / `N` and reported (`interpreted`); anything
/// else is reported and dropped (`None`).
fn yes_no(ctx: &mut Ctx<'_, '_>, v: &Sourced<Cow<'_, str>>) -> Option<bool> {
    let yes = match &*v.value {
        "Y" => return Some(true),
        "N" => return Some(false),
        t => match t.trim() {
            "Y" | "y" => true,
            "N" | "n" => false,
            _ => {
                ctx.invalid_value(v, "not Y or N (HL7 table 0136)", Action::Dropped);
                return None;
            }
        },
    };
    let reason = if yes {
        "read as Y (HL7 table 0136 has Y and N only)"
    } else {
        "read as N (HL7 table 0136 has Y and N only)"
    };
    ctx.invalid_value(v, reason, Action::Interpreted);
    Some(yes)
}

/// XPN.15 called-by name, where the target holds several names (Patient.name:
/// PID-5, PID-9): IG XPN[HumanName], a further name with the called-by name
/// as `given` and use `nickname`.
fn called_by(ctx: &mut Ctx<'_, '_>, base: Path, names: &mut Vec<Sourced<HumanName>>) {
    if let Some(c) = ctx.text(base.component(15)) {
        names.push(c.map(|v| HumanName {
            given: vec![v],
            usage: Some("nickname".into()),
            ..HumanName::default()
        }));
    }
}

/// An XPN as one string (IG XPN[string]: "concatenate according to
/// XPN.11", table 0444): `F` prefix, family, middle, given, suffix; else
/// (`G`, or not sent) prefix, given, middle, family, suffix — XPN.5, 2, 3,
/// 1.1, 4 joined by spaces. The other components are left unmapped.
fn xpn_text(ctx: &mut Ctx<'_, '_>, base: Path) -> Option<Sourced<String>> {
    if ctx.absent(base) {
        return None;
    }
    let family = ctx.text(base.component(1).subcomponent(1));
    let given = ctx.text(base.component(2));
    let middle = ctx.text(base.component(3));
    let suffix = ctx.text(base.component(4));
    let prefix = ctx.text(base.component(5));
    let order = ctx.text(base.component(11));
    let family_first = order.as_ref().is_some_and(|o| o.value == "F");
    let parts = if family_first {
        [prefix, family, middle, given, suffix]
    } else {
        [prefix, given, middle, family, suffix]
    };
    let mut sources = Sources::new();
    let mut words: Vec<String> = Vec::new();
    for part in parts.into_iter().flatten() {
        sources.append(part.sources);
        words.push(part.value);
    }
    if words.is_empty() {
        return None;
    }
    if let Some(o) = order {
        sources.append(o.sources);
    }
    Some(Sourced::from_many(words.join(" "), sources))
}

/// A CWE of country codes (PID-26, 28, 39): as [`cwe`], with the ISO 3166
/// code systems (table 0396 `ISO3166_1`, `ISO3166`; table 0399, which the
/// IG's CountryCode map sends code for code to ISO 3166) named by their FHIR
/// URI, `urn:iso:std:iso:3166`.
fn country(ctx: &mut Ctx<'_, '_>, base: Path) -> Option<Sourced<Concept>> {
    let mut c = cwe(ctx, base)?;
    for code in &mut c.value.codes {
        let iso = match &code.system {
            CodeSystem::Local(n) => n == "ISO3166_1" || n == "ISO3166",
            CodeSystem::V2Table(t) => t == "0399",
            _ => false,
        };
        if iso {
            code.system = CodeSystem::Uri("urn:iso:std:iso:3166".into());
        }
    }
    Some(c)
}

/// True when a coding system name (CWE.3) names the NHS ethnic category
/// table (`NHS`, `EthnicCategory`, `NHSEthnicCategory`…): it mentions NHS or
/// ethnic. Any other name (`HL70189`, `HL70005`, `CDCREC`) is another table,
/// whose `N` or `H` is not the NHS category of that letter.
fn names_nhs_ethnic(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("nhs") || n.contains("ethnic")
}

/// The NHS Data Dictionary ethnic category codes (UK Core EthnicCategoryEngland).
const ETHNIC_CATEGORY_ENGLAND: &[&str] = &[
    "A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z", "99",
];

/// An administrative sex (PID-8, NK1-15): HL7 table 0001 codes, and the NHS
/// Data Dictionary person gender codes some NHS feeds send instead (1 male,
/// 2 female, 9 indeterminate, 0/X not known), read as the UK Core ConceptMap
/// maps them. Anything else is reported.
fn sex(ctx: &mut Ctx<'_, '_>, path: impl Loc) -> Option<Sourced<Gender>> {
    ctx.text_cow(path).and_then(|g| {
        let v = match &*g.value {
            "M" | "1" => Gender::Male,
            "F" | "2" => Gender::Female,
            "U" | "0" | "X" => Gender::Unknown,
            "O" | "A" | "N" | "I" | "9" => Gender::Other,
            _ => {
                ctx.invalid_value(
                    &g,
                    "not an administrative sex code (HL7 table 0001 or NHS Data Dictionary)",
                    Action::Dropped,
                );
                return None;
            }
        };
        Some(Sourced::from_many(v, g.sources))
    })
}

fn name(ctx: &mut Ctx<'_, '_>, base: Path) -> Option<Sourced<HumanName>> {
    // XPN.12/13 effective / expiration dates, else the XPN.10 validity range;
    // XPN.14 the professional suffix.
    full_name(ctx, base, 1, Some(7), (Some(10), 12, 13), 14)
}

/// A name with its validity period (IG: `name.period` from the effective /
/// expiration components `validity.1` / `validity.2`, else the older range
/// `validity.0`) and the professional suffix at `professional` (IG: a suffix
/// too, after the degree). The period is read only when there is a name to
/// keep it on.
fn full_name(
    ctx: &mut Ctx<'_, '_>,
    base: Path,
    family_at: u32,
    type_at: Option<u32>,
    validity_at: (Option<u32>, u32, u32),
    professional: u32,
) -> Option<Sourced<HumanName>> {
    let mut n = person_name(ctx, base, family_at, type_at);
    let professional =
        (professional <= ctx.comps_len(&base)).then(|| ctx.text(base.component(professional)));
    if let Some(ps) = professional.flatten() {
        match n.as_mut() {
            Some(n) => {
                n.value.suffix.push(ps.value);
                n.sources.append(ps.sources);
            }
            None => {
                n = Some(ps.map(|v| HumanName {
                    suffix: vec![v],
                    ..HumanName::default()
                }));
            }
        }
    }
    if let Some(n) = n.as_mut() {
        let (range, from, to) = validity_at;
        if let Some(p) = validity(ctx, base, range, from, to) {
            n.value.period = Some(p.value);
            n.sources.append(p.sources);
        }
    }
    n
}

/// Adds the given names of one given-name component to `out`, one per
/// space-separated word (XPN.2 `JOHN PAUL` is two given names, as FHIR wants
/// them). A component of one word keeps its `String`: most do.
fn push_given(out: &mut Vec<String>, part: String) {
    if part.contains(' ') {
        out.extend(part.split(' ').filter(|s| !s.is_empty()).map(str::to_owned));
    } else if !part.is_empty() {
        out.push(part);
    }
}

/// A person's name from an XPN (family at component 1) or the name part of an
/// XCN (family at component 2): family (its surname subcomponent), given and
/// further given names, suffix, prefix, then the name type when `type_at` is given.
fn person_name(
    ctx: &mut Ctx<'_, '_>,
    base: Path,
    family_at: u32,
    type_at: Option<u32>,
) -> Option<Sourced<HumanName>> {
    if ctx.absent(base) {
        return None;
    }
    let c = |n: u32| base.component(family_at + n);
    // Components after the last one sent are not probed.
    let len = ctx.comps_len(&base);
    let text = |ctx: &mut Ctx<'_, '_>, n: u32, at: Path| {
        if n <= len { ctx.text(at) } else { None }
    };
    // Read in component order; each value's sources are moved into the
    // name's as it is read (no intermediate `Vec`s).
    let mut sources = Sources::new();
    let mut keep = |t: Sourced<String>| {
        sources.append(t.sources);
        t.value
    };
    let family = ctx.text(c(0).subcomponent(1)).map(&mut keep);
    let mut given = Vec::new();
    for n in [1, 2] {
        if let Some(t) = text(ctx, family_at + n, c(n)) {
            push_given(&mut given, keep(t));
        }
    }
    let suffix = text(ctx, family_at + 3, c(3)).map(&mut keep);
    let prefix = text(ctx, family_at + 4, c(4)).map(&mut keep);
    // The degree (XPN.6 / XCN.7) is a suffix too, after the suffix proper (IG).
    let degree = text(ctx, family_at + 5, c(5)).map(&mut keep);
    // The name type (XPN.7 / XCN.10, table 0200) through the IG's NameType
    // map; a code the map gives no target (A, B, C, P, U, NB…) is not read,
    // so it is reported unmapped.
    let usage = type_at.filter(|t| *t <= len).and_then(|t| {
        let at = base.component(t);
        let usage = name_use(&ctx.peek(at)?)?;
        ctx.text(at).map(&mut keep)?;
        Some(usage)
    });
    if sources.is_empty() {
        return None;
    }
    let name = HumanName {
        family,
        given,
        prefix: prefix.into_iter().collect(),
        suffix: suffix.into_iter().chain(degree).collect(),
        usage: usage.map(str::to_owned),
        period: None,
    };
    Some(Sourced::from_many(name, sources))
}

/// A name type (HL7 table 0200) as FHIR's name `use`, the IG's NameType map:
/// the codes it gives a target. The others (A assigned, B birth name, C
/// adopted name, F, I, K, NB, NOUSE, P, REL, S, T, U) have none: the IG
/// leaves `use` empty. (Until 2026-12-07 C was written `old`, so a consumer
/// took another name for the adopted child's current one; A `anonymous`
/// and B `maiden`.)
fn name_use(code: &str) -> Option<&'static str> {
    Some(match code {
        "L" | "R" => "official",
        "D" => "usual",
        "M" => "maiden",
        "N" => "nickname",
        "MSK" => "anonymous",
        "BAD" => "old",
        "NAV" | "TEMP" => "temp",
        _ => return None,
    })
}

/// A validity period (IG: `period`): the effective (`from`) and expiration
/// (`to`) components, else the older validity range (a DR whose start and
/// end are the subcomponents of component `range`).
fn validity(
    ctx: &mut Ctx<'_, '_>,
    base: Path,
    range: Option<u32>,
    from: u32,
    to: u32,
) -> Option<Sourced<Period>> {
    // None of the components is there (most names and addresses end before
    // them): nothing to probe.
    if ctx.comps_len(&base) < from.min(to).min(range.unwrap_or(u32::MAX)) {
        return None;
    }
    let mut start = ctx.datetime(base.component(from));
    let mut end_at = base.component(to);
    let mut end = ctx.datetime(end_at);
    if let Some(r) = range {
        if start.is_none() {
            start = ctx.datetime(base.component(r).subcomponent(1));
        }
        if end.is_none() {
            end_at = base.component(r).subcomponent(2);
            end = ctx.datetime(end_at);
        }
    }
    // R4 per-1, as PV1-44/45: a period cannot end before it starts. Which
    // date is wrong cannot be told; the start is kept and the end reported
    // and dropped.
    if let (Some(s), Some(e)) = (&start, &end) {
        if crate::fhir::ends_before(&e.value, &s.value) {
            end_before_start(
                ctx,
                end_at,
                &e.sources,
                "expiration before the effective date",
            );
            end = None;
        }
    }
    let mut sources = Sources::new();
    for s in start.iter().chain(end.iter()) {
        sources.extend(s.sources.iter().cloned());
    }
    if sources.is_empty() {
        return None;
    }
    Some(Sourced::from_many(
        Period {
            start: start.map(|s| s.value),
            end: end.map(|e| e.value),
        },
        sources,
    ))
}

/// Reports the end of a period read at `at` (its `sources`) that is before
/// the period's start (R4 per-1), as dropped because `why`.
#[cold]
fn end_before_start(ctx: &mut Ctx<'_, '_>, at: Path, sources: &Sources, why: &str) {
    let raw = ctx.peek(at).unwrap_or_default().into_owned();
    for src in sources.iter().cloned() {
        ctx.invalid(src, raw.as_bytes(), why, Action::Dropped);
    }
}

fn address(ctx: &mut Ctx<'_, '_>, base: Path) -> Option<Sourced<Address>> {
    if ctx.absent(base) {
        return None;
    }
    // IG XAD[Address] / SAD[Address]: lines SAD.1 street or mailing address,
    // SAD.2 street name, SAD.3 dwelling number, XAD.2 other designation,
    // XAD.19 addressee, in that order.
    // Each value's sources are moved into the address's as it is read.
    let len = ctx.comps_len(&base);
    let mut sources = Sources::new();
    let mut keep = |t: Sourced<String>| {
        sources.append(t.sources);
        t.value
    };
    let mut lines = Vec::new();
    for at in [
        base.component(1).subcomponent(1),
        base.component(1).subcomponent(2),
        base.component(1).subcomponent(3),
        base.component(2),
        base.component(19),
    ] {
        // XAD.19 after the last component sent is not probed.
        if at.component.is_some_and(|c| c > len) {
            continue;
        }
        if let Some(t) = ctx.text(at) {
            lines.push(keep(t));
        }
    }
    let city = ctx.text(base.component(3)).map(&mut keep);
    let district = ctx.text(base.component(4)).map(&mut keep);
    let postcode = ctx.text(base.component(5)).map(&mut keep);
    let country = ctx.text(base.component(6)).map(&mut keep);
    // XAD.7 address type, table 0190, as the IG's AddressType maps read it:
    // [Use] gives home / work / temp / old / billing, [Type] gives postal
    // (M mailing, SH shipping). A code with neither target is not read, so it
    // is reported.
    let (use_code, kind_code) = match ctx.peek(base.component(7)).as_deref() {
        Some("H" | "HP") => (Some("home"), None),
        Some("B" | "O") => (Some("work"), None),
        Some("C") => (Some("temp"), None),
        Some("BA" | "OLD") => (Some("old"), None),
        Some("BI") => (Some("billing"), None),
        Some("M" | "SH") => (None, Some("postal")),
        _ => (None, None),
    };
    if use_code.is_some() || kind_code.is_some() {
        // Consumed for its sources (the code is read above): no copy.
        if let Some(t) = ctx.text_cow(base.component(7)) {
            keep(t.map(|_| String::new()));
        }
    }
    // XAD.13/14 effective / expiration dates, else the XAD.12 validity range.
    let period = validity(ctx, base, Some(12), 13, 14);
    if sources.is_empty() {
        return None;
    }
    let period = period.map(|p| {
        sources.append(p.sources);
        p.value
    });
    Some(Sourced::from_many(
        Address {
            lines,
            city,
            district,
            postcode,
            country,
            usage: use_code.map(str::to_owned),
            kind: kind_code.map(str::to_owned),
            period,
        },
        sources,
    ))
}

/// An XTN as the IG maps it: XTN.4 is the value only for Internet / X.400
/// equipment (or no equipment and an address); otherwise the unformatted
/// number XTN.12, else XTN.1, else the number composed of country (.5), area
/// (.6), local number (.7) and extension (.8). Equipment (XTN.3) gives the
/// system, the use code (XTN.2) the use as [`telecom_usage`] reads it (`CP`
/// equipment reads as mobile). Only the components used are consumed.
fn telecom(ctx: &mut Ctx<'_, '_>, base: Path, default_use: &str) -> Option<Sourced<Telecom>> {
    if ctx.absent(base) {
        return None;
    }
    // Through the lookup cache (a query from the message's start made PID-13
    // with 80,000 repetitions take seconds).
    let peek = |ctx: &mut Ctx<'_, '_>, c: u32| {
        ctx.locate(&base.component(c)).is_some_and(|v| !v.is_null())
    };
    let mut use_code = ctx.text_cow(base.component(2));
    let equipment = ctx.text_cow(base.component(3));
    let eq = equipment.as_ref().map(|e| &*e.value);
    let code = use_code.as_ref().map(|u| &*u.value);
    // With no XTN.3, a `NET` (network address) use code says e-mail as an
    // XTN.4 does (IG XTN.3: "a default system may be selected based on other
    // information in the XTN instance").
    let email = matches!(eq, Some("Internet" | "X.400"))
        || (eq.is_none() && (code == Some("NET") || peek(ctx, 4)));
    // A `BPN` (beeper number) use code with no XTN.3 says pager, as `NET`
    // says e-mail.
    let pager = eq.is_none() && code == Some("BPN");
    // The sources of the parts the value is read from.
    let mut parts = Sources::new();
    let value = if email {
        // XTN.4, else XTN.1 (where older senders put the address).
        ctx.text(base.component(4))
            .or_else(|| ctx.text(base.component(1)))
            .map(|v| {
                parts.append(v.sources);
                v.value
            })
    } else if let Some(v) = ctx
        .text(base.component(12))
        .or_else(|| ctx.text(base.component(1)))
    {
        parts.append(v.sources);
        Some(v.value)
    } else {
        let pieces: Vec<(u32, Sourced<String>)> = (5..=8)
            .filter_map(|c| ctx.text(base.component(c)).map(|v| (c, v)))
            .collect();
        if pieces.iter().any(|(c, _)| *c == 7) {
            let text = pieces
                .iter()
                .map(|(c, v)| match c {
                    5 => format!("+{}", v.value),
                    8 => format!("X{}", v.value),
                    _ => v.value.clone(),
                })
                .collect::<Vec<_>>()
                .join(" ");
            parts.extend(pieces.into_iter().flat_map(|(_, v)| v.sources));
            Some(text)
        } else {
            parts.extend(pieces.into_iter().flat_map(|(_, v)| v.sources));
            None
        }
    };
    let usage = match telecom_usage(code, eq, default_use) {
        Ok(u) => u,
        Err(()) => {
            // Not in table 0201: reported and dropped (no `use`, and not the
            // field's default, which stands only for an empty XTN.2).
            if let Some(u) = use_code.take() {
                let why = "not a telecommunication use code (HL7 table 0201)";
                ctx.invalid_value(&u, why, Action::Dropped);
            }
            (eq == Some("CP")).then(|| "mobile".to_owned())
        }
    };
    let mut sources = Sources::new();
    for s in use_code.iter().chain(equipment.iter()) {
        sources.extend(s.sources.iter().cloned());
    }
    sources.append(parts);
    let value = value?;
    let system = match eq {
        Some("FX") => "fax",
        Some("BP") => "pager",
        Some("Internet" | "X.400") => "email",
        Some("MD" | "SAT" | "TDD" | "TTY") => "other",
        None if email => "email",
        None if pager => "pager",
        _ => "phone",
    };
    // XTN.13/14 effective / expiration dates, XTN.18 preference order.
    let period = validity(ctx, base, None, 13, 14);
    let rank = ctx
        .positive(
            base.component(18),
            "not a preference order (an integer from 1 to 2147483647)",
        )
        .map(|r| {
            sources.append(r.sources);
            r.value
        });
    if let Some(p) = &period {
        sources.extend(p.sources.iter().cloned());
    }
    Some(Sourced::from_many(
        Telecom {
            system: Some(system.to_owned()),
            value,
            usage,
            period: period.map(|p| p.value),
            rank,
        },
        sources,
    ))
}

/// A telecom's use from its XTN.2 use code `code` (HL7 table 0201) as the
/// IG's TelecommunicationUseCode map reads it: `PRN` home, `WPN` work, `PRS`
/// mobile; a table 0201 code the map gives no target (`ORN`, `VHN`, `ASN`,
/// `EMR`, `NET`, `BPN`) is kept as sent, which the FHIR writer leaves out and
/// lists as not written. With no XTN.2, `CP` equipment (`eq`) reads as
/// mobile, else the field's `default_use` ("" for none). `Err` for a code not
/// in table 0201.
fn telecom_usage(
    code: Option<&str>,
    eq: Option<&str>,
    default_use: &str,
) -> Result<Option<String>, ()> {
    let usage = match code {
        Some("PRN") => "home",
        Some("WPN") => "work",
        Some("PRS") => "mobile",
        Some(c @ ("ORN" | "VHN" | "ASN" | "EMR" | "NET" | "BPN")) => c,
        Some(_) => return Err(()),
        None if eq == Some("CP") => "mobile",
        None => default_use,
    };
    Ok((!usage.is_empty()).then(|| usage.to_owned()))
}

fn pd1(ctx: &mut Ctx<'_, '_>, p: &mut Patient) {
    if !ctx.has("PD1") {
        return;
    }
    // PD1-3 (XON): the practice's ODS code is XON.3 (ID) in v2.4, XON.10 in v2.5+.
    let ods = ctx
        .text(at!(b"PD1", 3, 10))
        .or_else(|| ctx.text(at!(b"PD1", 3, 3)));
    // XON.1, the practice's name, as the reference's display: kept only
    // beside an ODS code (without one there is nothing to refer to, and the
    // name stays in the report as unmapped).
    if ods.is_some() {
        p.gp_practice_name = ctx.text(at!(b"PD1", 3, 1));
    }
    p.gp_practice = ods.map(|o| o.map(Identifier::OdsOrganisation));
    if let Some(pd1) = seg("PD1", 1) {
        // PD1-4: the GP's identifier as any clinician's (XCN.1 typed by the
        // XCN.9 register, else XCN.13, else its shape), and the GP's name as
        // any clinician's (IG: generalPractitioner(Practitioner)).
        let gp = pd1.field(4).repetition(1);
        if let Some(id) = ctx.text_cow(gp.component(1)) {
            p.gp = Some(xcn_identifier(ctx, gp, id));
        }
        p.gp_name = name_of_xcn(ctx, gp);
        // IG: PD1-14 place of worship → patient-congregation valueString
        // (XON[string]: XON.1, else XON.10); further repeats stay unmapped.
        let worship = pd1.field(14).repetition(1);
        p.congregation = ctx
            .text(worship.component(1))
            .or_else(|| ctx.text(worship.component(10)));
    }
}

/// A GP national code's shape: `G` and seven more (what [`gp_code`] reads as
/// a GMP code).
fn is_gmp_code(v: &str) -> bool {
    v.len() == 8 && v.starts_with('G')
}

fn gp_code(v: &str) -> Identifier {
    let b = v.as_bytes();
    match b.first() {
        Some(b'G') if b.len() == 8 => Identifier::Gmp(v.to_owned()),
        Some(b'C') if b.len() == 8 => Identifier::Gmc(v.get(1..).unwrap_or(v).to_owned()),
        _ if b.len() == 7 && b.iter().all(u8::is_ascii_digit) => Identifier::Gmc(v.to_owned()),
        _ => Identifier::Other {
            system: None,
            value: v.to_owned(),
        },
    }
}

/// The name of an XCN (IG XCN[Practitioner]): XCN.2-7 as an XPN's parts,
/// XCN.10 the name type, XCN.19/20 effective / expiration dates (else the
/// XCN.17 validity range) as `name.period`, XCN.21 the professional suffix.
fn name_of_xcn(ctx: &mut Ctx<'_, '_>, base: Path) -> Option<Sourced<HumanName>> {
    if ctx.absent(base) {
        return None;
    }
    full_name(ctx, base, 2, Some(10), (Some(17), 19, 20), 21)
}

/// The UK registers an XCN.9 assigning authority can name. A GP national
/// code (`G` + 7) is a GMP code even under `GMC` (NHS ITK messages send
/// PD1-4 and PV1-8 GPs so; a GMC number is 7 digits).
fn register(authority: &str, id: &str) -> Option<Identifier> {
    Some(match authority {
        "GMC" if is_gmp_code(id) => Identifier::Gmp(id.to_owned()),
        "GMC" => Identifier::Gmc(id.trim_start_matches('C').to_owned()),
        "GMP" => Identifier::Gmp(id.to_owned()),
        "NMC" => Identifier::Nmc(id.to_owned()),
        "HCPC" => Identifier::Hcpc(id.to_owned()),
        "GPHC" => Identifier::Gphc(id.to_owned()),
        "SDS" => Identifier::SdsUser(id.to_owned()),
        _ => return None,
    })
}

/// A clinician from an XCN field repetition (IG XCN[Practitioner]).
///
/// The identifier (XCN.1): an XCN.9 authority naming a UK register types it
/// (GMC, GMP, NMC, HCPC, GPhC, SDS; its UK system says the rest, so XCN.13
/// and the XCN.9 universal id are not kept); else an XCN.13 identifier type
/// code (v2-0203), the sender's own typing, types it with the XCN.9 namespace
/// as its assigner and the XCN.9 universal id (XCN.9.2 typed by XCN.9.3, see
/// [`hd_system`]) as its system; else its shape (a GMP or GMC code), or that
/// universal id as its system. Parts not kept stay unread, so the report
/// counts them unmapped.
fn xcn(ctx: &mut Ctx<'_, '_>, base: Path) -> Option<Practitioner> {
    if ctx.absent(base) {
        return None;
    }
    let id = ctx.text_cow(base.component(1));
    let name = name_of_xcn(ctx, base);
    if id.is_none() && name.is_none() {
        return None;
    }
    let identifiers = id
        .map(|id| xcn_identifier(ctx, base, id))
        .into_iter()
        .collect();
    Some(Practitioner { identifiers, name })
}

/// The identifier of an XCN whose XCN.1 is `id` (see [`xcn`]).
fn xcn_identifier(
    ctx: &mut Ctx<'_, '_>,
    base: Path,
    id: Sourced<Cow<'_, str>>,
) -> Sourced<Identifier> {
    let namespace = base.component(9).subcomponent(1);
    let registered = ctx
        .peek(namespace)
        .and_then(|a| register(&a, &id.value))
        .map(|ident| (ident, ctx.text_cow(namespace)));
    let mut sources = id.sources;
    let ident = match registered {
        Some((ident, authority)) => registered_id(ctx, ident, authority, &id.value, &mut sources),
        // An XCN.13 type is the sender's own: it wins over the shape.
        None => match ctx.text(base.component(13)) {
            Some(kind) => {
                sources.append(kind.sources);
                let authority = ctx.text(namespace).map(|a| {
                    sources.append(a.sources);
                    a.value
                });
                let system = hd_system(ctx, base.component(9)).map(|s| {
                    sources.append(s.sources);
                    s.value
                });
                Identifier::Typed {
                    kind: kind.value,
                    value: id.value.into_owned(),
                    authority,
                    system,
                }
            }
            None => match gp_code(&id.value) {
                Identifier::Other {
                    system: None,
                    value,
                } => {
                    let system = hd_system(ctx, base.component(9)).map(|s| {
                        sources.append(s.sources);
                        s.value
                    });
                    Identifier::Other { system, value }
                }
                // A GMP or GMC code by its shape: its UK system says the rest.
                register => register,
            },
        },
    };
    Sourced::from_many(ident, sources)
}

/// A registration number `ident` (sent as `value`) of the UK register its
/// `authority` names (see [`register`]): the authority's sources added to
/// `sources` (the value's first). A number not of its register's shape is
/// kept as text, never a key (`GMC (invalid)`), as the ESR and FHIR readers
/// keep it, and reported.
fn registered_id(
    ctx: &mut Ctx<'_, '_>,
    ident: Identifier,
    authority: Option<Sourced<Cow<'_, str>>>,
    value: &str,
    sources: &mut Sources,
) -> Identifier {
    if let Some(a) = authority {
        sources.append(a.sources);
    }
    match (ident.registration_problem(), ident.invalid_registration()) {
        (Some(why), Some(kept)) => {
            if let Some(s) = sources.first().cloned() {
                let reason = format!(
                    "not a registration number of its register's shape ({why}): kept as text, never a key"
                );
                ctx.invalid(s, value.as_bytes(), reason, Action::NotUsedForMatching);
            }
            kept
        }
        _ => ident,
    }
}

/// A clinician from the CNN of an NDL (HL7 v2 OBR-32/33/34/35; IG
/// CNN[Practitioner]), `cnn` the path of NDL.1, whose parts are
/// subcomponents: CNN.1 the identifier, typed as an XCN's ([`xcn`]) by a UK
/// register its assigning authority (CNN.9) names, else by its shape (a GMP
/// or GMC code), else untyped with the universal id (CNN.10 typed by CNN.11,
/// see [`hd_system`]) as its system; CNN.2 the family name, CNN.3/4 given
/// names, CNN.5 and the degree CNN.7 suffixes, CNN.6 the prefix. CNN.8 (a
/// source table) and a CNN.9 that names no register have no place: left
/// unread, reported unmapped.
fn cnn(ctx: &mut Ctx<'_, '_>, cnn: Path) -> Option<Practitioner> {
    let sub = |n: u32| cnn.subcomponent(n);
    let identifiers = ctx
        .text_cow(sub(1))
        .map(|id| {
            let registered = ctx
                .peek(sub(9))
                .and_then(|a| register(&a, &id.value))
                .map(|ident| (ident, ctx.text_cow(sub(9))));
            let mut sources = id.sources;
            let ident = match registered {
                Some((ident, a)) => registered_id(ctx, ident, a, &id.value, &mut sources),
                None => match gp_code(&id.value) {
                    Identifier::Other {
                        system: None,
                        value,
                    } => {
                        let system = universal_system(ctx, sub(10), sub(11)).map(|s| {
                            sources.append(s.sources);
                            s.value
                        });
                        Identifier::Other { system, value }
                    }
                    register => register,
                },
            };
            Sourced::from_many(ident, sources)
        })
        .into_iter()
        .collect::<Vec<_>>();
    let mut sources = Sources::new();
    let mut name = HumanName::default();
    let mut keep = |t: Sourced<String>| {
        sources.append(t.sources);
        t.value
    };
    name.family = ctx.text(sub(2)).map(&mut keep);
    for n in [3, 4] {
        if let Some(t) = ctx.text(sub(n)) {
            push_given(&mut name.given, keep(t));
        }
    }
    for n in [5, 7] {
        if let Some(t) = ctx.text(sub(n)) {
            name.suffix.push(keep(t));
        }
    }
    if let Some(t) = ctx.text(sub(6)) {
        name.prefix.push(keep(t));
    }
    let name = (name != HumanName::default()).then(|| Sourced::from_many(name, sources));
    (!identifiers.is_empty() || name.is_some()).then_some(Practitioner { identifiers, name })
}

/// An organisation from an XON field (repetition): the name (XON.1) and the
/// identifier (XON.10, else the v2.4 XON.3) typed by XON.7 (untyped
/// without one) with the assigning authority XON.6 (its universal id, XON.6.2
/// typed by XON.6.3, as the identifier's system: see [`hd_system`]). An
/// identifier whose
/// authority or type is `ODS` (any case) is the organisation's ODS code
/// ([`xon_ods`]): an XON is an organisation field, which may claim it.
fn xon(ctx: &mut Ctx<'_, '_>, base: Path) -> Option<Organisation> {
    if ctx.absent(base) {
        return None;
    }
    let name = ctx.text(base.component(1));
    let id = ctx
        .text(base.component(10))
        .or_else(|| ctx.text(base.component(3)));
    let authority = ctx.text(base.component(6).subcomponent(1));
    let kind = ctx.text(base.component(7));
    if name.is_none() && id.is_none() {
        return None;
    }
    let identifiers = id
        .map(|id| {
            if let Some(ods) = xon_ods(ctx, &id, authority.as_ref(), kind.as_ref()) {
                return ods;
            }
            let mut sources = id.sources;
            let authority = authority.map(|a| {
                sources.append(a.sources);
                a.value
            });
            let system = hd_system(ctx, base.component(6)).map(|s| {
                sources.append(s.sources);
                s.value
            });
            let value = id.value;
            let ident = match (kind, authority) {
                (Some(kind), authority) => {
                    sources.append(kind.sources);
                    Identifier::Typed {
                        kind: kind.value,
                        value,
                        authority,
                        system,
                    }
                }
                // No XON.7: an untyped identifier with its assigning
                // authority (until 2026-12-07 the authority was the
                // identifier's system, written as its `type.text`).
                (None, Some(authority)) => Identifier::Typed {
                    kind: String::new(),
                    value,
                    authority: Some(authority),
                    system,
                },
                (None, None) => Identifier::Other { system, value },
            };
            Sourced::from_many(ident, sources)
        })
        .into_iter()
        .collect();
    Some(Organisation {
        identifiers,
        name,
        ..Organisation::default()
    })
}

/// An XON identifier `id` as an ODS organisation code, when its assigning
/// authority (XON.6.1) or its identifier type (XON.7) is `ODS` (any case)
/// and it is of ODS shape (3–6 upper-case letters and digits, blanks around
/// it aside), with the sources of what said so. One claimed as ODS but not
/// of its shape is reported (kept as sent, keyed as any other identifier):
/// `None`.
fn xon_ods(
    ctx: &mut Ctx<'_, '_>,
    id: &Sourced<String>,
    authority: Option<&Sourced<String>>,
    kind: Option<&Sourced<String>>,
) -> Option<Sourced<Identifier>> {
    let ods =
        |s: Option<&Sourced<String>>| s.is_some_and(|s| s.value.trim().eq_ignore_ascii_case("ODS"));
    if !ods(authority) && !ods(kind) {
        return None;
    }
    let code = id.value.trim();
    let shaped = (3..=6).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !shaped {
        ctx.invalid_value(
            id,
            "assigned by ODS but not an ODS organisation code (3–6 upper-case letters and \
             digits): kept as sent, not keyed as an ODS code",
            Action::NotUsedForMatching,
        );
        return None;
    }
    let mut sources = id.sources.clone();
    for s in [authority, kind].into_iter().flatten() {
        sources.append(s.sources.clone());
    }
    Some(Sourced::from_many(
        Identifier::OdsOrganisation(code.to_owned()),
        sources,
    ))
}

/// An entity identifier (EI) as the IG's EI[Identifier]: the value (EI.1)
/// in the system of its universal id (EI.3 typed by EI.4, see
/// [`ei_system`]); with a namespace (EI.2) an untyped identifier (`kind`
/// empty) with that namespace as its assigning authority, as an OBR-3's
/// ([`ei_typed`]), else an identifier in that system alone. A universal id
/// that gives no system, and an EI.4 that did not type it, are left unread
/// (reported unmapped). Until 2026-12-07 the namespace was dropped beside a
/// system and was the system (a FHIR `type.text`) without one.
fn ei(ctx: &mut Ctx<'_, '_>, base: Path) -> Option<Sourced<Identifier>> {
    if ctx.absent(base) {
        return None;
    }
    let value = ctx.text(base.component(1))?;
    let mut sources = value.sources;
    let system = ei_system(ctx, base).map(|s| {
        sources.append(s.sources);
        s.value
    });
    let authority = ctx.text(base.component(2)).map(|a| {
        sources.append(a.sources);
        a.value
    });
    let value = value.value;
    let ident = match authority {
        Some(authority) => Identifier::Typed {
            kind: String::new(),
            value,
            authority: Some(authority),
            system,
        },
        None => Identifier::Other { system, value },
    };
    Some(Sourced::from_many(ident, sources))
}

/// The system of an EI's universal id (EI.3): typed by EI.4 as an HD's
/// ([`universal_system`]: `ISO` → `urn:oid:`, `UUID` / `GUID` →
/// `urn:uuid:`, `URI` / `URL` as sent); else, when EI.4 is empty or a type
/// with no URI form (table 0301 `CLIP`, `DNS`, `L`…), by its shape: an ISO
/// OID (`1.3.6.1.4.1.44750.1.2.2`, as FHIR-Converter reads DG1-20's
/// `DI20^Diagnosis^1.3.6.1.4.1.44750.1.2.2^CLIP`) as `urn:oid:`, an absolute
/// URI as sent. Only EI.3 is then read: such an EI.4 says nothing kept, so it
/// is reported unmapped. A universal id of neither shape is left unread.
fn ei_system(ctx: &mut Ctx<'_, '_>, base: Path) -> Option<Sourced<String>> {
    let (at, ty) = (base.component(3), base.component(4));
    if let Some(system) = universal_system(ctx, at, ty) {
        return Some(system);
    }
    let typed = ctx
        .peek(ty)
        .is_some_and(|t| matches!(t.trim(), "ISO" | "UUID" | "GUID" | "URI" | "URL"));
    if typed {
        // Of another shape than its type says: neither is kept.
        return None;
    }
    let id = ctx.peek(at)?;
    let system = if is_oid(&id) {
        format!("urn:oid:{id}")
    } else if is_uri(&id) {
        id.into_owned()
    } else {
        return None;
    };
    ctx.text(at).map(|s| Sourced::from_many(system, s.sources))
}

/// An equipment instance identifier (OBX-18, an EI), as any EI ([`ei`]):
/// one with a namespace (EI.2) an untyped identifier with that namespace as
/// its assigning authority (no v2-0203 type fits), the universal id its
/// system.
fn equipment(ctx: &mut Ctx<'_, '_>, base: Path) -> Option<Sourced<Identifier>> {
    ei(ctx, base)
}

/// An EI at `base` whose EI.1 is `value` as an identifier typed `kind`
/// (v2-0203): the namespace (EI.2) its assigning authority, the universal id
/// (EI.3 typed by EI.4, see [`hd_system`]) its system.
fn ei_typed(
    ctx: &mut Ctx<'_, '_>,
    base: Path,
    kind: &str,
    value: Sourced<String>,
) -> Sourced<Identifier> {
    let authority = ctx.text(base.component(2)).map(|s| s.value);
    let mut sources = value.sources;
    let system = universal_system(ctx, base.component(3), base.component(4)).map(|s| {
        sources.append(s.sources);
        s.value
    });
    let ident = Identifier::Typed {
        kind: kind.into(),
        value: value.value,
        authority,
        system,
    };
    Sourced::from_many(ident, sources)
}

fn nk1(ctx: &mut Ctx<'_, '_>, n: u32) -> Contact {
    let Some(base) = seg("NK1", n) else {
        return Contact::default();
    };
    ctx.touch(base.field(1));
    let code = |ctx: &mut Ctx<'_, '_>, f: u32, table: &str| {
        let c = ctx.text(base.field(f).component(1))?;
        let display = ctx.text(base.field(f).component(2)).map(|d| d.value);
        ctx.touch(base.field(f).component(3));
        Some(Sourced::from_many(
            Code {
                system: CodeSystem::V2Table(table.into()),
                code: c.value,
                display,
            },
            c.sources,
        ))
    };
    let relationship = code(ctx, 3, "0063");
    let role = code(ctx, 7, "0131");
    let name = name(ctx, base.field(2).repetition(1));
    let address = address(ctx, base.field(4).repetition(1));
    let mut telecom_list = Vec::new();
    // NK1-5 phone (home by default), NK1-6 business phone (work), NK1-40
    // (v2.7+, where NK1-5/6 are deprecated) with its own use codes; NK1-41
    // (v2.7+, contact person's telecommunication) too, as the IG's
    // NK1[Patient] (`contact.telecom[4]`).
    for (f, default_use) in [(5, "home"), (6, "work"), (40, ""), (41, "")] {
        for r in 1..=ctx.reps(base.field(f)) {
            if let Some(t) = telecom(ctx, base.field(f).repetition(r), default_use) {
                telecom_list.push(t);
            }
        }
    }
    let from = ctx.date_only(base.field(8));
    let mut until = ctx.date_only(base.field(9));
    // R4 per-1, as a name's validity period: an NK1-9 end before the NK1-8
    // start is reported and dropped.
    if let (Some(f), Some(u)) = (&from, &until) {
        if crate::fhir::date_ends_before(&u.value, &f.value) {
            end_before_start(
                ctx,
                base.field(9),
                &u.sources,
                "contact end before its start",
            );
            until = None;
        }
    }
    let gender = sex(ctx, base.field(15).component(1));
    // IG NK1[Patient]: NK1-13 → contact.organization, NK1-30 / 31 / 32 → that
    // Organization's contact (name, telecom, address). Without a name or an
    // identifier in NK1-13 there is no Organization (R4 org-1): NK1-30…32
    // are then left unmapped.
    let organisation = xon(ctx, base.field(13).repetition(1));
    let organisation_contact = if organisation.is_some() {
        let mut person = ContactPerson {
            name: self::name(ctx, base.field(30).repetition(1)),
            address: self::address(ctx, base.field(32).repetition(1)),
            ..ContactPerson::default()
        };
        for r in 1..=ctx.reps(base.field(31)) {
            if let Some(t) = telecom(ctx, base.field(31).repetition(r), "") {
                person.telecom.push(t);
            }
        }
        (person != ContactPerson::default()).then_some(person)
    } else {
        None
    };
    Contact {
        name,
        relationship,
        role,
        address,
        telecom: telecom_list,
        gender,
        from,
        until,
        organisation,
        organisation_contact,
    }
}

fn location(ctx: &mut Ctx<'_, '_>, base: Path) -> Option<Box<Location>> {
    if ctx.absent(base) {
        return None;
    }
    // PL.1-3 are HD in v2.7+ (`WARD&1.2.3&ISO`), PL-4 always: the namespace
    // id names the place, else the universal id typed (`urn:oid:…`).
    let mut hd = |c: u32| {
        let at = base.component(c);
        ctx.text(at.subcomponent(1)).or_else(|| hd_system(ctx, at))
    };
    let ward = hd(1);
    let room = hd(2);
    let bed = hd(3);
    let facility = hd(4);
    let name = ctx.text(base.component(9));
    if ward.is_none() && room.is_none() && bed.is_none() && facility.is_none() && name.is_none() {
        return None;
    }
    Some(Box::new(Location {
        identifiers: Vec::new(),
        name,
        ward,
        room,
        bed,
        facility,
        address: None,
    }))
}

/// Notes each location of `e` whose Locations the FHIR writer cannot key,
/// in a message with no sending facility (MSH-4) and no trust ODS code
/// (`V2Options::trust_ods`, a blank one as none): a facility, ward, room or
/// bed in no facility (PL-4) known by a universal id — a ward named by no
/// sender, or in a facility's local code, cannot be told from another
/// hospital's —, so every message creates them anew (`POST`).
fn unkeyed_locations(report: &mut MappingReport, e: &Encounter) {
    for (field, l) in [
        ("PV1-3", &e.location),
        ("PV1-6", &e.prior_location),
        ("PV1-42", &e.pending_location),
        ("PV2-1", &e.prior_pending_location),
    ] {
        let Some(l) = l else { continue };
        if unkeyable_without_sender(l) {
            report.notes.push(format!(
                "{field}: a location from no sending facility (MSH-4) and no trust ODS code, \
                 in no facility (PL-4) known by a universal id: its FHIR Locations cannot be \
                 keyed and are created (POST) by every message"
            ));
        }
    }
}

/// Notes the visit number of `e` when the FHIR writer cannot key its
/// Encounter, in a message with no sending facility (MSH-4) and no trust
/// ODS code: a visit number (PV1-19) with no system is keyed only in the
/// scope of its sender (`PUT Encounter/{id}`), so without one every message
/// creates the Encounter anew (`POST`), and a cancel (A11 / A12 / A13) or
/// update (A08) does not reach the one the admission created.
fn unkeyed_encounter(report: &mut MappingReport, e: &Encounter) {
    let visit = e
        .identifiers
        .iter()
        .find(|i| matches!(i.value, Identifier::VisitNumber { .. }));
    if visit.is_some_and(|v| v.value.authority_system().is_none()) {
        report.notes.push(
            "PV1-19: a visit number with no system (no universal id) from no sending facility \
             (MSH-4) and no trust ODS code: its FHIR Encounter cannot be keyed and is created \
             (POST) by every message, so a cancel or update does not reach the one created \
             before"
                .to_owned(),
        );
    }
}

/// Notes what a keyed update (`PUT`, R4's update: the whole resource) of
/// `event`'s Encounter and merged-away Patient removes from the copies a
/// server holds, since the message does not carry it (probe eleven F12): an
/// Encounter keyed by its visit number (a system, or a namespace in a
/// `scoped` message) loses the diagnoses when the message has no DG1 (an
/// A02), its admit time without PV1-44, its participants without PV1-7/8/9/17,
/// noted with every location but PV1-3's and PV1-6's (the transfer history,
/// which every keyed update replaces: documented, not noted on a message that
/// lacks nothing else); a merge (A34 / A40) writes the non-surviving Patient with only
/// its identifiers, `active` false and its `replaced-by` link.
fn replaced_by_updates(report: &mut MappingReport, event: &Event, scoped: bool) {
    if let Some(e) = &event.encounter {
        let keyed = e.identifiers.iter().any(|i| {
            matches!(i.value, Identifier::VisitNumber { .. })
                && (scoped || i.value.authority_system().is_some())
        });
        let missing = [
            (event.conditions.is_empty(), "diagnosis (no DG1)"),
            (e.admitted.is_none(), "period.start (no PV1-44 admit time)"),
            (
                e.participants.is_empty(),
                "participant (no PV1-7, -8, -9 or -17)",
            ),
        ];
        // Only a message that lacks one of them says so: the transfer
        // history, which no message carries whole, is documented, not noted
        // on every message.
        if keyed && missing.iter().any(|(m, _)| *m) {
            let mut note = String::with_capacity(300);
            note.push_str(&event.message_type);
            note.push_str(
                ": the keyed Encounter update (PUT) replaces the whole Encounter a server \
                 holds; this message does not carry ",
            );
            for (_, what) in missing.iter().filter(|(m, _)| *m) {
                note.push_str(what);
                note.push_str(", ");
            }
            note.push_str(
                "nor the locations other than PV1-3 and PV1-6 (the transfer history): a \
                 server's copy of them is removed",
            );
            report.notes.push(note);
        }
    }
    if event.kind == AdtKind::Merge && !event.merged_from.is_empty() {
        report.notes.push(format!(
            "{}: the merged-away Patient (MRG-1) is written with only its identifiers, active \
             false and its replaced-by link: keyed by an identifier with a system, its update \
             (PUT) replaces the server's copy of that Patient, whose name, birth date, gender, \
             address and other details are removed; the surviving Patient is replaced by this \
             message's PID",
            event.message_type
        ));
    }
}

/// Notes the results of `event` whose FHIR resources the writer cannot key,
/// in a message with no sending facility (MSH-4) and no trust ODS code: an
/// OBR-3 filler number or OBX-21 known by its namespace alone (EI.2, no
/// EI.3) is keyed only in the scope of its sender (`PUT {type}/{id}`), so
/// without one every message creates the result anew (`POST`), and a
/// correction stands beside the result it corrects. Once per field.
fn unkeyed_results(report: &mut MappingReport, event: &Event) {
    let namespaced = |ids: &[Sourced<Identifier>]| {
        ids.iter().any(|i| {
            matches!(&i.value, Identifier::Typed { kind, authority: Some(a), system: None, .. }
                if kind != "PLAC" && !a.trim().is_empty())
        })
    };
    let obr = event.reports.iter().any(|r| namespaced(&r.identifiers));
    let obx = event
        .reports
        .iter()
        .flat_map(|r| &r.observations)
        .chain(&event.observations)
        .any(|o| namespaced(&o.identifiers));
    for (field, unkeyed) in [("OBR-3", obr), ("OBX-21", obx)] {
        if unkeyed {
            report.notes.push(format!(
                "{field}: an identifier known by its namespace alone (EI.2, no universal id) \
                 from no sending facility (MSH-4) and no trust ODS code: its FHIR results \
                 cannot be keyed and are created (POST) by every message, so a correction \
                 stands beside the result it corrects"
            ));
        }
    }
}

/// The encounter of PV1 (and PV2). `kind` is the trigger event: the prior
/// location of a cancelled transfer (A12) and the discharge time of a
/// cancelled discharge (A13) are what was undone, not the visit's history,
/// so they are left unread (reported unmapped) with a note.
fn encounter(ctx: &mut Ctx<'_, '_>, e: &mut Encounter, kind: AdtKind) {
    let Some(pv1) = seg("PV1", 1) else { return };
    ctx.touch(at!(b"PV1", 1));
    // PV1-2 is a CWE in v2.7+ (`I^Inpatient`): its code.
    let class_code = ctx.text_cow(at!(b"PV1", 2, 1));
    e.class = class_code.and_then(|c| {
        let class = match &*c.value {
            "I" => EncounterClass::Inpatient,
            "O" => EncounterClass::Outpatient,
            "E" => EncounterClass::Emergency,
            "P" => EncounterClass::PreAdmission,
            "R" => EncounterClass::Recurring,
            "B" => EncounterClass::Obstetrics,
            // IG PatientClass[EncounterClass]: no v3 ActCode, kept as v2-0004.
            "C" => EncounterClass::Commercial,
            "N" => EncounterClass::NotApplicable,
            // Unknown: the writer's v3 NullFlavor UNK.
            "U" => EncounterClass::Other,
            // Not in table 0004: reported and dropped (the Bundle's class,
            // 1..1, is then UNK).
            _ => {
                ctx.invalid_value(&c, "not a patient class (HL7 table 0004)", Action::Dropped);
                return None;
            }
        };
        Some(c.map(|_| class))
    });
    e.location = location(ctx, pv1.field(3));
    if kind == AdtKind::CancelTransfer {
        if ctx.peek(at!(b"PV1", 6)).is_some() {
            ctx.report.notes.push(
                "A12 cancel transfer: PV1-6 (the location of the cancelled transfer) is not \
                 written as a completed stay"
                    .into(),
            );
        }
    } else {
        e.prior_location = location(ctx, pv1.field(6));
    }
    // PV1-40 bed status (IG: operationalStatus of the PV1-3 Location, BedStatus
    // map: table 0116 kept, the table's display when none is sent), only when
    // PV1-3 names a room or a bed; otherwise left unmapped.
    if e.location
        .as_ref()
        .is_some_and(|l| l.room.is_some() || l.bed.is_some())
    {
        if let Some(c) = ctx.text(at!(b"PV1", 40, 1)) {
            let text = ctx.text(at!(b"PV1", 40, 2)).map(|t| t.value);
            let display = text.or_else(|| {
                BED_STATUSES
                    .iter()
                    .find(|(code, _)| *code == c.value)
                    .map(|(_, d)| (*d).to_owned())
            });
            e.bed_status = Some(c.map(|v| v2_code("0116", v, display)));
        }
    }
    // PV1-42 pending location (IG: location[4], status reserved).
    e.pending_location = location(ctx, pv1.field(42));
    e.admission_method = ctx
        .text(at!(b"PV1", 4, 1))
        .map(|c| c.map(|v| v2_code("0007", v, None)));
    // PV1-5 preadmit number (IG: hospitalization.preAdmissionIdentifier), a CX
    // typed by its CX.5 as PV1-50; untyped, it is kept without a type (it is
    // not a hospital number) and its CX.4 is left unread.
    if let Some(id) = ctx.text(at!(b"PV1", 5, 1)) {
        let kind = ctx.text_cow(at!(b"PV1", 5, 5)).map(|s| s.value);
        let mut src = id.sources;
        let ident = match kind.as_deref() {
            Some(k) => {
                let authority = ctx.text_cow(at!(b"PV1", 5, 4, 1)).map(|s| s.value);
                let hd = pv1.field(5).component(4);
                classify_id(ctx, Cow::Owned(id.value), authority, Some(k), hd, &mut src)
            }
            None => Identifier::Other {
                system: None,
                value: id.value,
            },
        };
        e.preadmission_id = Some(Sourced::from_many(ident, src));
    }
    // PV1-52 other healthcare provider: a participant (IG: type PART).
    let roles = [
        (7, "ATND"),
        (8, "REF"),
        (9, "CON"),
        (17, "ADM"),
        (52, "PART"),
    ]
    .map(|(f, role)| (f, role, ctx.reps(pv1.field(f))));
    // Sized once: a participant is a few hundred bytes, and growing the
    // vector past 1 KiB makes glibc consolidate its free lists.
    e.participants
        .reserve_exact(roles.iter().map(|r| r.2 as usize).sum());
    for (f, role, reps) in roles {
        for r in 1..=reps {
            if let Some(p) = xcn(ctx, pv1.field(f).repetition(r)) {
                e.participants.push(Participant {
                    role: role.into(),
                    practitioner: p,
                });
            }
        }
    }
    e.service = ctx
        .text(at!(b"PV1", 10, 1))
        .map(|c| c.map(|v| v2_code("0069", v, None)));
    // PV1-13 re-admission indicator (IG: hospitalization.reAdmission, table 0092;
    // the IG's ReadmissionIndicator map gives `R` the display `Re-admission`,
    // used when the message sends no text).
    if let Some(c) = ctx.text(at!(b"PV1", 13, 1)) {
        let display = ctx
            .text(at!(b"PV1", 13, 2))
            .map(|t| t.value)
            .or_else(|| (c.value == "R").then(|| "Re-admission".to_owned()));
        e.readmission = Some(c.map(|v| v2_code("0092", v, display)));
    }
    // PV1-15 ambulatory status, repeating (IG: hospitalization.specialArrangement
    // through the AmbulatoryStatus map, applied when writing FHIR).
    for r in 1..=ctx.reps(pv1.field(15)) {
        if let Some(c) = ctx.text(pv1.field(15).repetition(r).component(1)) {
            let display = ctx
                .text(pv1.field(15).repetition(r).component(2))
                .map(|t| t.value);
            e.ambulatory_status
                .push(c.map(|v| v2_code("0009", v, display)));
        }
    }
    // PV1-16 VIP indicator (IG PV1[Encounter]: hospitalization.specialCourtesy),
    // a CWE as sent (table 0099 is user-defined).
    e.special_courtesy = cwe(ctx, pv1.field(16));
    e.admit_source = ctx
        .text(at!(b"PV1", 14, 1))
        .map(|c| c.map(|v| v2_code("0023", v, None)));
    if let Some(vn) = ctx.text(at!(b"PV1", 19, 1)) {
        let authority = ctx.text(at!(b"PV1", 19, 4, 1)).map(|s| s.value);
        ctx.touch(at!(b"PV1", 19, 5));
        let mut src = vn.sources;
        let system = hd_system(ctx, pv1.field(19).component(4)).map(|s| {
            src.extend(s.sources);
            s.value
        });
        let ident = Identifier::VisitNumber {
            value: vn.value,
            authority,
            system,
        };
        e.identifiers.push(Sourced::from_many(ident, src));
    }
    // PV1-50 alternate visit ID (IG: a further identifier), typed by its CX.5.
    if let Some(id) = ctx.text(at!(b"PV1", 50, 1)) {
        let authority = ctx.text_cow(at!(b"PV1", 50, 4, 1)).map(|s| s.value);
        let kind = ctx.text_cow(at!(b"PV1", 50, 5)).map(|s| s.value);
        let mut src = id.sources;
        let hd = pv1.field(50).component(4);
        let ident = match kind.as_deref() {
            None | Some("VN") => {
                let system = hd_system(ctx, hd).map(|s| {
                    src.extend(s.sources);
                    s.value
                });
                Identifier::VisitNumber {
                    value: id.value,
                    authority: authority.map(Cow::into_owned),
                    system,
                }
            }
            k => classify_id(ctx, Cow::Owned(id.value), authority, k, hd, &mut src),
        };
        e.identifiers.push(Sourced::from_many(ident, src));
    }
    e.discharge_method = ctx
        .text(at!(b"PV1", 36, 1))
        .map(|c| c.map(|v| v2_code("0112", v, None)));
    // DLD.1 is a CWE in v2.7+ (`22&Homes&FDK`): its code.
    e.discharge_destination = ctx
        .text(at!(b"PV1", 37, 1, 1))
        .map(|c| c.map(|v| v2_code("0113", v, None)));
    // PV1-38 diet type (IG: hospitalization.dietPreference), a CWE as sent.
    e.diet = cwe(ctx, pv1.field(38));
    // PV1-39 servicing facility: NHS feeds repeat PV1-3.4 here. Consumed when
    // it names the facility already kept; anything else stays in the report.
    let facility = e.location.as_ref().and_then(|l| l.facility.as_ref());
    if facility.is_some_and(|f| ctx.peek(at!(b"PV1", 39)).as_deref() == Some(f.value.as_str())) {
        ctx.touch(at!(b"PV1", 39));
    }
    e.admitted = ctx.datetime(at!(b"PV1", 44));
    let mut discharge_sent = false;
    if kind == AdtKind::CancelDischarge {
        if ctx.peek(at!(b"PV1", 45)).is_some() {
            ctx.report.notes.push(
                "A13 cancel discharge: PV1-45 (the cancelled discharge) is not written as the \
                 end of the visit"
                    .into(),
            );
        }
    } else {
        e.discharged = ctx.datetime(at!(b"PV1", 45));
        discharge_sent = e.discharged.is_some();
        // R4 per-1: a period cannot end before it starts. Which time is wrong
        // cannot be told; the admission is kept and the discharge reported and
        // dropped (the visit is still finished: PV1-45 was sent).
        if let (Some(a), Some(d)) = (&e.admitted, &e.discharged) {
            if crate::fhir::ends_before(&d.value, &a.value) {
                let raw = ctx.peek(at!(b"PV1", 45)).unwrap_or_default().into_owned();
                for src in d.sources.clone() {
                    let why = "discharge before admission";
                    ctx.invalid(src, raw.as_bytes(), why, Action::Dropped);
                }
                e.discharged = None;
            }
        }
    }
    // IG: finished when PV1-45 is valued, else by patient class
    // (PatientClass[EncounterStatus]: P planned, U unknown, others in-progress);
    // without a class (or one not in table 0004, reported), by the admit
    // time. map_message adjusts for the event.
    e.status = Some(
        match (discharge_sent, e.class.as_ref().map(|c| c.value)) {
            (true, _) => "finished",
            (false, Some(EncounterClass::PreAdmission)) => "planned",
            // Only PV1-2 `U` reads as `Other`.
            (false, Some(EncounterClass::Other)) => "unknown",
            (false, Some(_)) => "in-progress",
            (false, None) if e.admitted.is_some() => "in-progress",
            (false, None) => "planned",
        }
        .into(),
    );
    // PV2-3 admit reason, a CWE (coding systems named as in CWE.3).
    if let Some(pv2) = seg("PV2", 1).filter(|_| ctx.has("PV2")) {
        // PV2-1 prior pending location (IG: location[5], status planned).
        e.prior_pending_location = location(ctx, pv2.field(1));
        e.reason = cwe(ctx, pv2.field(3));
        // PV2-8/9 expected admit / discharge (IG: the R5 plannedStartDate /
        // plannedEndDate extensions).
        e.expected_admit = ctx.datetime(pv2.field(8));
        e.expected_discharge = ctx.datetime(pv2.field(9));
        // PV2-11 actual length of inpatient stay (IG: length, NM[Quantity-LengthOfStay]
        // in days): a non-negative decimal, else reported and dropped.
        if let Some(l) = ctx.text_cow(pv2.field(11)) {
            let t = l.value.trim();
            let (int, frac) = t.split_once('.').unwrap_or((t, ""));
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            if digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty()) {
                let t = t.to_owned();
                e.length_days = Some(l.map(|_| t));
            } else if let Some(src) = l.sources.first() {
                ctx.invalid(
                    src.clone(),
                    l.value.as_bytes(),
                    "length of stay is not a non-negative number",
                    Action::Dropped,
                );
            }
        }
        // PV2-12 visit description (IG: text.div).
        e.description = ctx.text(pv2.field(12));
        // PV2-25 visit priority (IG: priority, EncounterPriority: table 0217).
        e.priority = ctx
            .text(pv2.field(25).component(1))
            .map(|c| c.map(|v| v2_code("0217", v, None)));
        // PV2-38 mode of arrival (IG: the encounter-modeOfArrival extension,
        // ModeOfArrivalCode: table 0430 kept, with the table's display when
        // the message sends none).
        if let Some(c) = ctx.text(pv2.field(38).component(1)) {
            let text = ctx.text(pv2.field(38).component(2)).map(|t| t.value);
            let display = text.or_else(|| {
                ARRIVAL_MODES
                    .iter()
                    .find(|(code, _)| *code == c.value)
                    .map(|(_, d)| (*d).to_owned())
            });
            e.arrival_mode = Some(c.map(|v| v2_code("0430", v, display)));
        }
        // PV2-13 referral source (IG: a participant of type REF, as PV1-8).
        for r in 1..=ctx.reps(pv2.field(13)) {
            if let Some(p) = xcn(ctx, pv2.field(13).repetition(r)) {
                e.participants.push(Participant {
                    role: "REF".into(),
                    practitioner: p,
                });
            }
        }
    }
}

/// HL7 table 0116 bed status, with the displays of the IG's BedStatus map.
const BED_STATUSES: [(&str, &str); 6] = [
    ("C", "Closed"),
    ("H", "Housekeeping"),
    ("O", "Occupied"),
    ("U", "Unoccupied"),
    ("K", "Contaminated"),
    ("I", "Isolated"),
];

/// HL7 table 0430 mode of arrival, with the displays of the IG's
/// ModeOfArrivalCode map.
const ARRIVAL_MODES: [(&str, &str); 7] = [
    ("A", "Ambulance"),
    ("C", "Car"),
    ("F", "On foot"),
    ("H", "Helicopter"),
    ("P", "Public Transport"),
    ("O", "Other"),
    ("U", "Unknown"),
];

/// What an HL7 v2 coding-system name (table 0396) is in FHIR: one of the
/// model's systems, or a system URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Snomed,
    Dmd,
    Loinc,
    Ucum,
    Icd10,
    Uri(&'static str),
}

/// HL7 v2 coding-system names (table 0396, and a few names senders use for
/// the same systems: `LOINC`, `SNOMED-CT`, `ICD10`, `DMD`, `CTV3`) with the
/// FHIR system each names: R4's registered URIs (terminologies-systems),
/// HL7 terminology's v3 code systems, an `urn:oid:` where that is the only
/// identifier (CDCREC, PHIN VS). Upper case, sorted by byte for a binary
/// search that ignores the case sent (table 0396 has no two names that
/// differ only in case). Names not here (local `L`, `99zzz`, and the
/// systems FHIR registers no URI for: AS4, E5, ACR, ICDO…) stay local.
/// `SNM` (SNOMED before SNOMED CT) is kept as SNOMED CT, as senders use it;
/// `SNM3`, `SCT2`, `SNT` and `SDM` are older SNOMED editions whose codes are
/// not SNOMED CT concept ids, and Read `RC` does not say which Read version:
/// local.
static CODING_SYSTEMS: &[(&str, Known)] = &[
    (
        "ACTCODE",
        Known::Uri("http://terminology.hl7.org/CodeSystem/v3-ActCode"),
    ),
    (
        "ACTRELSS",
        Known::Uri("http://terminology.hl7.org/CodeSystem/v3-ActRelationshipSubset"),
    ),
    ("C4", Known::Uri("http://www.ama-assn.org/go/cpt")),
    ("CDCPHINVS", Known::Uri("urn:oid:2.16.840.1.114222.4.5.274")),
    ("CDCREC", Known::Uri("urn:oid:2.16.840.1.113883.6.238")),
    ("CTV3", Known::Uri("http://read.info/ctv3")),
    ("CVX", Known::Uri("http://hl7.org/fhir/sid/cvx")),
    (
        "DCM",
        Known::Uri("http://dicom.nema.org/resources/ontology/DCM"),
    ),
    ("DMD", Known::Dmd),
    (
        "ENTITYCODE",
        Known::Uri("http://terminology.hl7.org/CodeSystem/v3-EntityCode"),
    ),
    (
        "ENTITYHDLG",
        Known::Uri("http://terminology.hl7.org/CodeSystem/v3-EntityHandling"),
    ),
    ("FDAUNII", Known::Uri("http://fdasis.nlm.nih.gov")),
    ("FIPS5_2", Known::Uri("urn:oid:2.16.840.1.113883.6.92")),
    ("FIPS6_4", Known::Uri("urn:oid:2.16.840.1.113883.6.93")),
    (
        "HCPCS",
        Known::Uri("http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"),
    ),
    (
        "HPC",
        Known::Uri("http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"),
    ),
    ("HSLOC", Known::Uri("urn:oid:2.16.840.1.113883.6.259")),
    ("I10", Known::Icd10),
    ("I10C", Known::Uri("http://hl7.org/fhir/sid/icd-10-cm")),
    (
        "I10P",
        Known::Uri("http://www.cms.gov/Medicare/Coding/ICD10"),
    ),
    ("I9", Known::Uri("http://hl7.org/fhir/sid/icd-9-cm")),
    ("I9C", Known::Uri("http://hl7.org/fhir/sid/icd-9-cm")),
    ("I9CDX", Known::Uri("http://hl7.org/fhir/sid/icd-9-cm")),
    ("I9CP", Known::Uri("http://hl7.org/fhir/sid/icd-9-cm")),
    ("ICD-10", Known::Icd10),
    ("ICD10", Known::Icd10),
    ("ISO3166", Known::Uri("urn:iso:std:iso:3166")),
    ("ISO3166_1", Known::Uri("urn:iso:std:iso:3166")),
    ("ISO3166_2", Known::Uri("urn:iso:std:iso:3166:-2")),
    ("ISO4217", Known::Uri("urn:iso:std:iso:4217")),
    ("LN", Known::Loinc),
    ("LOINC", Known::Loinc),
    ("MDC", Known::Uri("urn:iso:std:iso:11073:10101")),
    ("MEDIATYPE", Known::Uri("urn:ietf:bcp:13")),
    (
        "MEDR",
        Known::Uri("http://terminology.hl7.org/CodeSystem/MDR"),
    ),
    (
        "MVX",
        Known::Uri("http://terminology.hl7.org/CodeSystem/MVX"),
    ),
    ("NCIT", Known::Uri("http://ncimeta.nci.nih.gov")),
    ("NDC", Known::Uri("http://hl7.org/fhir/sid/ndc")),
    ("NDFRT", Known::Uri("http://hl7.org/fhir/ndfrt")),
    (
        "NULLFL",
        Known::Uri("http://terminology.hl7.org/CodeSystem/v3-NullFlavor"),
    ),
    (
        "OBSMETHOD",
        Known::Uri("http://terminology.hl7.org/CodeSystem/v3-ObservationMethod"),
    ),
    (
        "PRTCPTNMODE",
        Known::Uri("http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"),
    ),
    (
        "ROLECLASS",
        Known::Uri("http://terminology.hl7.org/CodeSystem/v3-RoleClass"),
    ),
    (
        "ROLECODE",
        Known::Uri("http://terminology.hl7.org/CodeSystem/v3-RoleCode"),
    ),
    (
        "RSPMODE",
        Known::Uri("http://terminology.hl7.org/CodeSystem/v3-ResponseMode"),
    ),
    (
        "RXNORM",
        Known::Uri("http://www.nlm.nih.gov/research/umls/rxnorm"),
    ),
    ("SCT", Known::Snomed),
    ("SNM", Known::Snomed),
    ("SNOMED", Known::Snomed),
    ("SNOMED-CT", Known::Snomed),
    ("SNOMEDCT", Known::Snomed),
    ("UCUM", Known::Ucum),
    ("UML", Known::Uri("http://www.nlm.nih.gov/research/umls")),
    ("WC", Known::Uri("http://www.whocc.no/atc")),
];

/// The case-insensitive order of table name `key` (upper case) against the
/// name sent.
fn cmp_name(key: &str, name: &str) -> std::cmp::Ordering {
    key.bytes()
        .cmp(name.bytes().map(|b| b.to_ascii_uppercase()))
}

/// The coding system an HL7 v2 name (CWE.3, table 0396) names: a known name
/// (any case), `HL7nnnn` (a v2 table), or an ISO OID; anything else
/// (a local `L` or `99zzz`, an unknown name) is kept by name as
/// [`CodeSystem::Local`], which the FHIR writer never writes as a system
/// (a `Coding.system` must be an absolute URI) and lists in its
/// `not_written`; [`Ctx::coding_system`] notes an unknown name.
fn coding_system(name: &str) -> CodeSystem {
    if let Ok(i) = CODING_SYSTEMS.binary_search_by(|(k, _)| cmp_name(k, name)) {
        if let Some((_, known)) = CODING_SYSTEMS.get(i) {
            return match *known {
                Known::Snomed => CodeSystem::Snomed,
                Known::Dmd => CodeSystem::Dmd,
                Known::Loinc => CodeSystem::Loinc,
                Known::Ucum => CodeSystem::Ucum,
                Known::Icd10 => CodeSystem::Icd10,
                Known::Uri(u) => CodeSystem::Uri(u.into()),
            };
        }
    }
    match (name.get(..3), name.get(3..)) {
        (Some(hl7), Some(n))
            if hl7.eq_ignore_ascii_case("HL7")
                && n.len() == 4
                && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            return CodeSystem::V2Table(n.into());
        }
        _ => {}
    }
    // An ISO OID names the system itself.
    if name.contains('.')
        && name
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return CodeSystem::Uri(format!("urn:oid:{name}"));
    }
    CodeSystem::Local(name.into())
}

/// True when `name` is a local coding system of HL7 table 0396: `L`, `LB`
/// (any case) or `99zzz`.
pub(crate) fn local_system(name: &str) -> bool {
    name.eq_ignore_ascii_case("L") || name.eq_ignore_ascii_case("LB") || name.get(..2) == Some("99")
}

/// The start of the note on coding system `name` (a CWE.3 carecodec does
/// not know): one note per name and message.
fn unknown_system_note(name: &str) -> String {
    format!("coding system `{name}` (first at ")
}

/// A CWE/CE field (or repetition) as a concept.
fn cwe(ctx: &mut Ctx<'_, '_>, base: Path) -> Option<Sourced<Concept>> {
    if ctx.absent(base) {
        return None;
    }
    let mut sources = Sources::new();
    let mut codes = Vec::new();
    // Components after the last one sent are not probed (most codes have
    // no alternate).
    let len = ctx.comps_len(&base);
    for (c, t, s) in [(1, 2, 3), (4, 5, 6)] {
        if c > len {
            break;
        }
        let code = ctx.text(base.component(c));
        // An alternate triplet with no code (CWE.5 text, CWE.6 system alone)
        // beside a coding: the IG makes it a second coding with a display
        // and no code, which the model (a code per coding) cannot hold, and
        // `text` is CWE.9's. Left unread, so it is reported unmapped.
        if code.is_none() && !codes.is_empty() {
            continue;
        }
        let text = ctx.text(base.component(t));
        let system = ctx.text_cow(base.component(s));
        // A coding system with neither code nor text names nothing:
        // reported, not kept (a blank code or text is reported by `text`).
        if let (None, None, Some(sys)) = (&code, &text, &system) {
            if let Some(src) = sys.sources.first() {
                let why = "coding system without a code";
                ctx.invalid(src.clone(), sys.value.as_bytes(), why, Action::Dropped);
            }
            continue;
        }
        for x in code.iter().chain(text.iter()) {
            sources.extend(x.sources.iter().cloned());
        }
        if let Some(x) = &system {
            sources.extend(x.sources.iter().cloned());
        }
        if let Some(code) = code {
            if codes.is_empty() {
                // One coding, or two when the alternate triplet is sent.
                codes.reserve_exact(if len >= 4 { 2 } else { 1 });
            }
            codes.push(Code {
                system: ctx.coding_system(system.as_ref()),
                code: code.value,
                display: text.map(|t| t.value),
            });
        } else if let Some(t) = text {
            // No code yet (the one above): the text is the concept's.
            return Some(Sourced::from_many(
                Concept {
                    codes,
                    text: Some(t.value),
                },
                sources,
            ));
        }
    }
    let original = (9 <= len).then(|| ctx.text(base.component(9))).flatten();
    if let Some(o) = &original {
        sources.extend(o.sources.iter().cloned());
    }
    if sources.is_empty() {
        return None;
    }
    Some(Sourced::from_many(
        Concept {
            codes,
            text: original.map(|o| o.value),
        },
        sources,
    ))
}

fn al1(ctx: &mut Ctx<'_, '_>, n: u32) -> Option<Allergy> {
    let base = seg("AL1", n)?;
    // AL1-3 first: nothing else of an allergy that is dropped is read.
    let code = required_code(
        ctx,
        &base,
        "no AL1-3 code or text (the allergen, required): the allergy is dropped; its fields \
         are left unread (reported unmapped)",
    )?;
    ctx.touch(base.field(1));
    let category = ctx
        .text(base.field(2).component(1))
        .map(|c| c.map(|v| v2_code("0127", v, None)));
    let severity = ctx
        .text(base.field(4).component(1))
        .and_then(|c| allergy_severity(ctx, c));
    let mut reactions = Vec::new();
    for r in 1..=ctx.reps(base.field(5)) {
        if let Some(t) = ctx.text(base.field(5).repetition(r)) {
            reactions.push(t);
        }
    }
    let identified = ctx.date_only(base.field(6));
    Some(Allergy {
        code,
        category,
        severity,
        reactions,
        identified,
        clinical_status: None,
        verification: None,
    })
}

/// AL1-4 in HL7 table 0128 (SV severe, MO moderate, MI mild, U unknown);
/// any other code (the NHS ITK A01 example sends `5`) is reported and dropped.
fn allergy_severity(ctx: &mut Ctx<'_, '_>, c: Sourced<String>) -> Option<Sourced<Code>> {
    if matches!(c.value.as_str(), "SV" | "MO" | "MI" | "U") {
        return Some(c.map(|v| v2_code("0128", v, None)));
    }
    ctx.invalid_value(
        &c,
        "not an allergy severity code (HL7 table 0128: SV, MO, MI, U)",
        Action::Dropped,
    );
    None
}

fn dg1(ctx: &mut Ctx<'_, '_>, n: u32) -> Option<Condition> {
    let base = seg("DG1", n)?;
    // DG1-3 first: nothing else of a diagnosis that is dropped is read.
    let mut code = required_code(
        ctx,
        &base,
        "no DG1-3 code or text (the diagnosis, required): the diagnosis is dropped; its \
         fields are left unread (reported unmapped)",
    )?;
    ctx.touch(base.field(1));
    // DG1-2 (coding method, withdrawn from v2.x) has no FHIR target (IG): not
    // read, so a sender's value is reported.
    // DG1-4 description (v2.3 feeds send the text here): the code's text
    // unless DG1-3 carries its own original text (IG: Condition.code.text).
    if let Some(d) = ctx.text(base.field(4)) {
        if code.value.text.is_none() {
            code.value.text = Some(d.value);
            code.sources.append(d.sources);
        }
    }
    let recorded = ctx.datetime(base.field(5));
    // DG1-6 diagnosis type: an ID (`A`) before v2.7, a CWE (`A^Admitting`)
    // since; table 0052, mapped to FHIR when written (IG DG1[Encounter]:
    // Encounter.diagnosis.use).
    // The CWE's coding system (.3) is table 0052 unless it names another.
    let diagnosis_type = ctx.text(base.field(6).component(1)).map(|c| {
        let display = ctx.text(base.field(6).component(2));
        let system = ctx.text_cow(base.field(6).component(3));
        let mut code = c.map(|v| v2_code("0052", v, None));
        if let Some(d) = display {
            code.value.display = Some(d.value);
            code.sources.append(d.sources);
        }
        if let Some(s) = system {
            code.value.system = ctx.coding_system(Some(&s));
            code.sources.append(s.sources);
        }
        code
    });
    // DG1-15 diagnosis priority (IG: Encounter.diagnosis.rank).
    let priority = ctx.positive(
        base.field(15),
        "not a diagnosis priority (an integer from 1 to 2147483647)",
    );
    // DG1-16 diagnosing clinician (the first) → asserter; DG1-20 → identifier.
    let asserter = xcn(ctx, base.field(16).repetition(1));
    // DG1-19 attestation time: the IG's condition-assertedDate extension.
    let asserted = ctx.datetime(base.field(19));
    let identifiers = ei(ctx, base.field(20)).into_iter().collect();
    // DG1-21 action code (table 0206): `D` (delete) is the IG's
    // verificationStatus `entered-in-error`; A (add), U (update) and X (no
    // change) have no target, so they are not read and are reported.
    let verification = if ctx.peek(base.field(21)).as_deref() == Some("D") {
        ctx.text(base.field(21))
            .map(|d| d.map(|_| "entered-in-error".to_owned()))
    } else {
        None
    };
    Some(Condition {
        code,
        diagnosis_type,
        priority,
        clinical_status: None,
        verification,
        recorded,
        identifiers,
        asserter,
        asserted,
        // DG1 is a diagnosis of the message's visit.
        no_encounter: false,
    })
}

/// An OBX-11 observation result status (HL7 table 0085) as the IG's
/// ObservationResultStatusCodesInterpretation map: F final, P preliminary,
/// C corrected, D and W entered-in-error, X cancelled; codes the map
/// leaves open keep their meaning: R (not verified) and S (partial)
/// preliminary (FHIR's Observation has no `partial`), A (amended) amended,
/// I and O (no result yet) registered, U (changed to final) final. (Until
/// 2026-12-08 C was amended: the model had no corrected.)
fn status(v: &str) -> ResultStatus {
    match v {
        "F" | "U" => ResultStatus::Final,
        "P" | "R" | "S" => ResultStatus::Preliminary,
        "C" => ResultStatus::Corrected,
        "A" => ResultStatus::Amended,
        "X" => ResultStatus::Cancelled,
        "D" | "W" => ResultStatus::EnteredInError,
        "I" | "O" => ResultStatus::Registered,
        _ => ResultStatus::Unknown,
    }
}

/// An OBR-25 result status (HL7 table 0123, not 0085) as the IG's
/// ResultStatus map: O, I, S (no results yet) registered; P preliminary,
/// R (stored, not verified) partial; C corrected; F final; X cancelled. A
/// (some results available) is partial too, M (corrected, not final)
/// amended; Y, Z, N and others unknown. (Until 2026-12-08 R and A were
/// preliminary and C amended: the model had no partial nor corrected.)
fn report_status(v: &str) -> ResultStatus {
    match v {
        "O" | "I" | "S" => ResultStatus::Registered,
        "P" => ResultStatus::Preliminary,
        "R" | "A" => ResultStatus::Partial,
        "C" => ResultStatus::Corrected,
        "M" => ResultStatus::Amended,
        "F" => ResultStatus::Final,
        "X" => ResultStatus::Cancelled,
        _ => ResultStatus::Unknown,
    }
}

/// OBR groups with their OBX and NTE segments, in message order, and the
/// observations of OBX segments before any OBR.
fn results(ctx: &mut Ctx<'_, '_>) -> (Vec<ResultReport>, Vec<Observation>) {
    // The result segments with their occurrence numbers (nothing is
    // allocated for a message without any, such as most ADT messages).
    let segs: Vec<(&str, u32)> = {
        const IDS: [&str; 3] = ["OBR", "OBX", "NTE"];
        // Counted first, so the list is made at its size (and not at all
        // for a message with none, as most ADT messages).
        let len = ctx.window().filter(|s| IDS.contains(&s.id())).count();
        let mut segs = Vec::with_capacity(len);
        let mut counts = [0u32; 3];
        segs.extend(ctx.window().filter_map(|s: Segment<'_, '_>| {
            let id = s.id();
            let i = IDS.iter().position(|k| *k == id)?;
            let n = counts.get_mut(i)?;
            *n += 1;
            Some((id, *n))
        }));
        segs
    };
    // Sized from the segments (a report or an observation is several
    // hundred bytes: grown, the lists pass 1 KiB, which makes glibc
    // consolidate its free lists).
    let mut reports: Vec<ResultReport> =
        Vec::with_capacity(segs.iter().filter(|(id, _)| *id == "OBR").count());
    let mut standalone: Vec<Observation> = Vec::with_capacity(obx_before_obr(&segs));
    // The last observation: its report (none for a standalone one) and index.
    let mut last_obs: Option<(Option<usize>, usize)> = None;
    // True after an OBX that was dropped (no OBX-3), until the next OBR or
    // OBX: the NTE segments there are its notes (HL7 ORU_R01: `OBX {NTE}`),
    // never another result's, so they are left unread (reported unmapped).
    let mut after_dropped = false;
    for (i, &(id, n)) in segs.iter().enumerate() {
        match id {
            "OBR" => {
                let Some(base) = seg("OBR", n) else { continue };
                ctx.touch(base.field(1));
                let mut identifiers = Vec::new();
                // OBR-2 / OBR-3 (EI) as the IG's identifiers typed PLAC / FILL,
                // the namespace (EI.2) their assigning authority, the
                // universal id (EI.3 typed by EI.4) their system.
                for (f, kind) in [(2, "PLAC"), (3, "FILL")] {
                    if let Some(v) = ctx.text(base.field(f).component(1)) {
                        identifiers.push(ei_typed(ctx, base.field(f), kind, v));
                    }
                }
                // OBR-4 is required: without it the report is kept with an
                // empty code (written as unknown, never an invented text), and
                // the absence is noted.
                let code = cwe(ctx, base.field(4)).unwrap_or_else(|| {
                    // The message's own OBR (a later patient group's are
                    // numbered after the earlier groups').
                    let at = ctx.absolute("OBR", n);
                    ctx.report.notes.push(format!(
                        "OBR[{at}]: no OBR-4 (universal service identifier, required): the \
                         report's code is unknown (DiagnosticReport.code carries the \
                         data-absent-reason extension)"
                    ));
                    Sourced::from_many(Concept::default(), Sources::new())
                });
                let effective = ctx.datetime(base.field(7));
                let effective_end = observation_end(ctx, base, effective.as_ref());
                let ordered_by = xcn(ctx, base.field(16).repetition(1));
                let issued = ctx.datetime(base.field(22));
                // OBR-24 (ID, table 0074) as the IG's ID[CodeableConcept]:
                // the code as sent in v2-0074 (a component after it, which an
                // ID has none of, is left unread: reported unmapped).
                let category = ctx
                    .text(base.field(24).component(1))
                    .map(|c| c.map(|v| v2_code("0074", v, None)));
                // OBR-32 the principal result interpreter (NDL; IG
                // resultsInterpreter, NDL[PractitionerRole]): a role PRI
                // (v2-0912), see `ndl`.
                let interpreters = ndl(ctx, base.field(32).repetition(1), "PRI")
                    .into_iter()
                    .collect();
                let performers = ndl_performers(ctx, base);
                // The order (IG OBR[ServiceRequest]): OBR-5 priority (table
                // 0485, the code as sent: ExtendedPriorityCodes gives S, A, R
                // a FHIR code), OBR-31 reasons (reasonCode), OBR-46 / 47
                // supplemental service information (orderDetail).
                let priority = ctx
                    .text(base.field(5).component(1))
                    .map(|c| c.map(|v| v2_code("0485", v, None)));
                let reasons = cwe_repeats(ctx, base.field(31));
                let mut order_details = cwe_repeats(ctx, base.field(46));
                order_details.extend(cwe_repeats(ctx, base.field(47)));
                let st = ctx
                    .text_cow(base.field(25))
                    .map(|s| s.map(|v| report_status(&v)));
                reports.push(ResultReport {
                    identifiers,
                    code,
                    status: st,
                    effective,
                    issued,
                    ordered_by,
                    observations: Vec::with_capacity(obx_before_obr(
                        segs.get(i + 1..).unwrap_or_default(),
                    )),
                    notes: Vec::new(),
                    category,
                    effective_end,
                    interpreters,
                    performers,
                    reasons,
                    priority,
                    order_details,
                });
                last_obs = None;
                after_dropped = false;
            }
            "OBX" => {
                let Some(obs) = obx(ctx, n) else {
                    after_dropped = true;
                    continue;
                };
                after_dropped = false;
                // An OBX before any OBR (an ADT's height or weight) belongs to
                // no report: a standalone observation (IG: ADT OBX →
                // Observation).
                let report = reports.len().checked_sub(1);
                let list = match reports.last_mut() {
                    Some(r) => &mut r.observations,
                    None => &mut standalone,
                };
                list.push(obs);
                last_obs = Some((report, list.len() - 1));
            }
            "NTE" if after_dropped => {}
            "NTE" => {
                let Some(base) = seg("NTE", n) else { continue };
                ctx.touch(base.field(1));
                // NTE-2 (source of comment) has no FHIR target (IG NTE maps):
                // not read, so it is reported.
                let mut notes = Vec::new();
                for r in 1..=ctx.reps(base.field(3)) {
                    // NTE-3 is FT: its formatting commands rendered.
                    if let Some(t) = ctx.formatted(base.field(3).repetition(r)) {
                        notes.push(t);
                    }
                }
                if let Some((ri, oi)) = last_obs {
                    let list = match ri {
                        Some(ri) => reports.get_mut(ri).map(|r| &mut r.observations),
                        None => Some(&mut standalone),
                    };
                    if let Some(o) = list.and_then(|l| l.get_mut(oi)) {
                        append(&mut o.notes, notes);
                    }
                } else if let Some(r) = reports.last_mut() {
                    // After the OBR, before its first OBX: notes on the order
                    // (IG: ServiceRequest.note).
                    append(&mut r.notes, notes);
                } else if !notes.is_empty() {
                    // Notes on the order or the patient: kept in the report as notes.
                    for t in notes {
                        ctx.report.notes.push(format!("NTE: {}", t.value));
                    }
                }
            }
            _ => {}
        }
    }
    (reports, standalone)
}

/// Every repetition of the CWE field at `field` ([`cwe`]).
fn cwe_repeats(ctx: &mut Ctx<'_, '_>, field: Path) -> Vec<Sourced<Concept>> {
    (1..=ctx.reps(field))
        .filter_map(|r| cwe(ctx, field.repetition(r)))
        .collect()
}

/// OBR-34 technicians (role `TN`, table 0912) and OBR-35 transcriptionists
/// (`TR`), every repetition, of the OBR at `obr` (IG: `performer`,
/// NDL[PractitionerRole], with the `event-performerFunction` extension), as
/// [`ndl`] reads them.
fn ndl_performers(ctx: &mut Ctx<'_, '_>, obr: Path) -> Vec<Performer> {
    let mut out = Vec::new();
    for (f, role) in [(34, "TN"), (35, "TR")] {
        for r in 1..=ctx.reps(obr.field(f)) {
            out.extend(ndl(ctx, obr.field(f).repetition(r), role));
        }
    }
    out
}

/// An NDL field repetition (`rep`: OBR-32 … 35) as a performer in `role`
/// (IG NDL[PractitionerRole]): NDL.1 (a CNN, [`cnn`]) the practitioner,
/// NDL.2 / NDL.3 the role's period (the time-zone rule applied; an end
/// before the start reported and dropped, R4 per-1). NDL.4 … 11 (the
/// role's location) have no place in the model: left unread, reported
/// unmapped; so is the whole NDL when NDL.1 names no one.
fn ndl(ctx: &mut Ctx<'_, '_>, rep: Path, role: &str) -> Option<Performer> {
    let practitioner = cnn(ctx, rep.component(1))?;
    let start = ctx.datetime(rep.component(2));
    let end = ctx.datetime(rep.component(3)).and_then(|end| {
        let why = "role end (NDL.3) before its start (NDL.2)";
        not_before(ctx, rep.component(3), end, start.as_ref(), why)
    });
    let period = (start.is_some() || end.is_some()).then(|| {
        let mut sources = Sources::new();
        let mut keep = |t: Sourced<PartialDateTime>| {
            sources.append(t.sources);
            t.value
        };
        let p = Period {
            start: start.map(&mut keep),
            end: end.map(&mut keep),
        };
        Sourced::from_many(p, sources)
    });
    Some(Performer {
        role: Some(role.into()),
        practitioner: Some(practitioner),
        organisation: None,
        period,
    })
}

/// `end` (read at `at`), unless it is before `start` (R4 per-1: a period
/// cannot end before it starts; which time is wrong cannot be told, so the
/// start is kept and the end reported, `why`, and dropped).
fn not_before(
    ctx: &mut Ctx<'_, '_>,
    at: Path,
    end: Sourced<PartialDateTime>,
    start: Option<&Sourced<PartialDateTime>>,
    why: &str,
) -> Option<Sourced<PartialDateTime>> {
    if start.is_some_and(|s| crate::fhir::ends_before(&end.value, &s.value)) {
        let raw = ctx.peek(at).unwrap_or_default().into_owned();
        for src in end.sources {
            ctx.invalid(src, raw.as_bytes(), why, Action::Dropped);
        }
        return None;
    }
    Some(end)
}

/// OBR-8, the end of the observation period (IG: `effectivePeriod.end`,
/// OBR-7 its start), with the time-zone rule applied as to OBR-7. R4 per-1:
/// a period cannot end before it starts; which time is wrong cannot be
/// told, so OBR-7 is kept and an OBR-8 before it reported and dropped, as a
/// PV1-45 before PV1-44 is.
fn observation_end(
    ctx: &mut Ctx<'_, '_>,
    obr: Path,
    start: Option<&Sourced<PartialDateTime>>,
) -> Option<Sourced<PartialDateTime>> {
    let end = ctx.datetime(obr.field(8))?;
    let why = "observation end (OBR-8) before its start (OBR-7)";
    not_before(ctx, obr.field(8), end, start, why)
}

/// The observation of OBX `n`; `None` when it has no OBX-3 (the observation
/// identifier, required: no FHIR Observation without its `code`): the
/// segment is then reported invalid (dropped) and its other fields are left
/// unread, so they are reported unmapped too.
fn obx(ctx: &mut Ctx<'_, '_>, n: u32) -> Option<Observation> {
    let base = seg("OBX", n)?;
    // OBX-3 first: nothing else of an observation that is dropped is read,
    // nor the NTE notes after it (see `results`).
    let code = required_code(
        ctx,
        &base,
        "no OBX-3 code or text (the observation identifier, required): the observation is \
         dropped; its fields and its NTE notes are left unread (reported unmapped)",
    )?;
    ctx.touch(base.field(1));
    let value_type = ctx
        .text_cow(base.field(2))
        .map(|s| s.value)
        .unwrap_or_default();
    let sub_id = sub_id(ctx, base.field(4));
    // OBX-6 is read where the value keeps it: a coded, date or attachment
    // value has no place for a unit, which is left unread (reported unmapped).
    let value = match &*value_type {
        "CE" | "CWE" | "CNE" => cwe(ctx, base.field(5)).map(|c| c.map(ObservationValue::Coded)),
        // An attachment is one value: the first repetition, the others left
        // unread (reported unmapped).
        "ED" => ed(ctx, base.field(5).repetition(1)),
        "RP" => rp(ctx, base.field(5).repetition(1)),
        // The model holds one time: the first repetition, as a coded value
        // keeps its first; the others are left unread (reported unmapped).
        "TS" | "DT" | "DTM" => ctx
            .datetime(base.field(5).repetition(1))
            .map(|d| d.map(ObservationValue::DateTime)),
        vt => {
            let (unit, ucum) = obx_unit(ctx, base.field(6));
            match vt {
                "SN" => sn(ctx, base.field(5), unit.as_ref(), ucum.as_deref()),
                "NM" if ctx.reps(base.field(5)) > 1 => {
                    nm_repeats(ctx, base.field(5), unit.as_ref())
                }
                "NM" => ctx
                    .text_cow(base.field(5))
                    .map(|v| nm(ctx, v, unit.as_ref(), ucum.as_deref())),
                // FT and TX carry formatting commands (`\.br\`, `\H\`): rendered.
                _ => text_value(ctx, base.field(5), unit.as_ref(), matches!(vt, "FT" | "TX")),
            }
        }
    };
    let reference_range = ctx.text(base.field(7));
    let reps = ctx.reps(base.field(8));
    let mut interpretation = Vec::with_capacity(reps as usize);
    for r in 1..=reps {
        if let Some(f) = ctx.text(base.field(8).repetition(r).component(1)) {
            interpretation.push(f.map(|v| v2_code("0078", v, None)));
        }
    }
    let st = ctx.text_cow(base.field(11)).map(|s| s.map(|v| status(&v)));
    let effective = ctx.datetime(base.field(14));
    let method = cwe(ctx, base.field(17).repetition(1));
    let mut device = Vec::new();
    for r in 1..=ctx.reps(base.field(18)) {
        device.extend(equipment(ctx, base.field(18).repetition(r)));
    }
    let body_site = cwe(ctx, base.field(20).repetition(1));
    // OBX-21 the observation instance identifier: the IG's FILL identifier,
    // the namespace (EI.2) its assigning authority, the universal id (EI.3
    // typed by EI.4) its system.
    let identifiers = match ctx.text(base.field(21).component(1)) {
        Some(v) => vec![ei_typed(ctx, base.field(21), "FILL", v)],
        None => Vec::new(),
    };
    // OBX-16 responsible observers (PractitionerRole RO); OBX-23/24 the
    // performing organisation and its address, OBX-25 its medical director
    // (PractitionerRole MDIR with the organisation; the organisation alone
    // when no director is sent), as the IG maps them.
    let mut performers = Vec::new();
    for r in 1..=ctx.reps(base.field(16)) {
        if let Some(p) = xcn(ctx, base.field(16).repetition(r)) {
            performers.push(Performer {
                role: Some("RO".into()),
                practitioner: Some(p),
                ..Performer::default()
            });
        }
    }
    let mut org = xon(ctx, base.field(23).repetition(1));
    // OBX-24 is the address of OBX-23's organisation: without a name or an
    // identifier there is no Organization to carry it (R4 org-1), so it is
    // left unread (reported unmapped).
    if let Some(o) = org.as_mut() {
        o.address = address(ctx, base.field(24).repetition(1));
    }
    let director = xcn(ctx, base.field(25).repetition(1));
    if org.is_some() || director.is_some() {
        performers.push(Performer {
            role: director.is_some().then(|| "MDIR".into()),
            practitioner: director,
            organisation: org,
            ..Performer::default()
        });
    }
    Some(Observation {
        code,
        value,
        reference_range,
        interpretation,
        status: st,
        effective,
        notes: Vec::new(),
        performers,
        identifiers,
        method,
        body_site,
        device,
        sub_id,
        // An OBX belongs to the message's visit.
        no_encounter: false,
    })
}

/// OBX-4 Observation Sub-ID as the IG's OG[Extension-Subidentifier]: OG.1
/// the original sub-identifier (a pre-v2.8 ST OBX-4 is that component
/// whole), OG.2 the group and OG.3 the sequence (NM: a value that is no NM
/// number is reported invalid and dropped, never guessed; OG.1 keeps what
/// was sent when the sender sent it), OG.4 the identifier.
fn sub_id(ctx: &mut Ctx<'_, '_>, field: Path) -> Option<Sourced<ObservationSubId>> {
    let original = ctx.text(field.component(1));
    let mut number = |c: u32, what: &str| {
        let t = ctx.text(field.component(c))?;
        if is_nm(&t.value) {
            Some(t.map(|v| v.trim().to_owned()))
        } else {
            let reason = format!(
                "not an NM number (the sub-ID's {what}, OG.{c}): dropped; the original sub-identifier (OG.1) keeps what was sent, if sent"
            );
            ctx.invalid_value(&t, &reason, Action::Dropped);
            None
        }
    };
    let group = number(2, "group");
    let sequence = number(3, "sequence");
    let identifier = ctx.text(field.component(4));
    let mut sources = Sources::new();
    let mut take = |v: Option<Sourced<String>>| {
        v.map(|v| {
            sources.append(v.sources);
            v.value
        })
    };
    let id = ObservationSubId {
        original: take(original),
        group: take(group),
        sequence: take(sequence),
        identifier: take(identifier),
    };
    (id != ObservationSubId::default()).then(|| Sourced::from_many(id, sources))
}

/// An ED OBX-5 (ED.1 source application, ED.2 type of data, ED.3 subtype,
/// ED.4 encoding, ED.5 data) as the IG's ED[Attachment]. The data is kept
/// as Base64: as sent when ED.4 is `Base64` (any case; whitespace and line
/// breaks removed), encoded from the text when `A`, from the bytes when
/// `Hex`. Data that is not what its encoding says, or an encoding outside
/// table 0299, is reported invalid and kept as text (ED.5), never written
/// as bad data. The content type is ED.2 / ED.3 as a MIME type when they
/// make one ([`mime_type`]); ED.2 / ED.3 that make none are left unread
/// (reported unmapped), and inline data then has the type
/// `application/octet-stream` (FHIR att-1: data needs a type). ED.1 has no
/// place in FHIR's Attachment (IG): left unread.
fn ed(ctx: &mut Ctx<'_, '_>, rep: Path) -> Option<Sourced<ObservationValue>> {
    let data = ctx.text(rep.component(5))?;
    let encoding = ctx.text(rep.component(4));
    let encoded = match encoding.as_ref().map(|e| e.value.trim()) {
        Some(e) if e.eq_ignore_ascii_case("Base64") => {
            let compact: String = data.value.split_ascii_whitespace().collect();
            is_base64(&compact)
                .then_some(compact)
                .ok_or("not Base64 (FHIR base64Binary: A-Z, a-z, 0-9, +, /, in fours, = padding at the end)")
        }
        Some(e) if e.eq_ignore_ascii_case("A") => Ok(base64(data.value.as_bytes())),
        Some(e) if e.eq_ignore_ascii_case("Hex") => hex_bytes(&data.value)
            .map(|b| base64(&b))
            .ok_or("not Hex (pairs of 0-9, A-F)"),
        _ => Err("no encoding of table 0299 (A, Hex, Base64) in ED.4"),
    };
    let mut sources = data.sources.clone();
    if let Some(e) = encoding {
        sources.append(e.sources);
    }
    let encoded = match encoded {
        Ok(d) => d,
        Err(why) => {
            let reason = format!("{why}: the ED data is kept as text");
            ctx.invalid_value(&data, &reason, Action::KeptAsText);
            return Some(Sourced::from_many(
                ObservationValue::Text(data.value),
                sources,
            ));
        }
    };
    let content_type = attachment_type(ctx, rep.component(2), rep.component(3), &mut sources)
        .or_else(|| Some("application/octet-stream".to_owned()));
    let a = Attachment {
        content_type,
        data: Some(encoded),
        url: None,
    };
    Some(Sourced::from_many(ObservationValue::Attachment(a), sources))
}

/// An RP OBX-5 (RP.1 pointer, RP.2 application, RP.3 type of data, RP.4
/// subtype) as the IG's RP[Attachment]: RP.1 the url, RP.3 / RP.4 the
/// content type when they make a MIME type ([`mime_type`]; else left
/// unread, reported unmapped). RP.2 has no place in FHIR's Attachment:
/// left unread. A pointer with whitespace inside (which a FHIR `url` cannot
/// hold) is reported invalid and kept with each whitespace character
/// percent-encoded (`doc 1.pdf` → `doc%201.pdf`).
fn rp(ctx: &mut Ctx<'_, '_>, rep: Path) -> Option<Sourced<ObservationValue>> {
    let url = ctx.text(rep.component(1))?;
    let pointer = match crate::fhir::uri_escape_whitespace(url.value.trim()) {
        Cow::Borrowed(p) => p.to_owned(),
        Cow::Owned(encoded) => {
            let reason = format!(
                "whitespace in the pointer, which a FHIR url cannot hold: kept percent-encoded ({encoded})"
            );
            ctx.invalid_value(&url, &reason, Action::Interpreted);
            encoded
        }
    };
    let mut sources = url.sources;
    let content_type = attachment_type(ctx, rep.component(3), rep.component(4), &mut sources);
    let a = Attachment {
        content_type,
        data: None,
        url: Some(pointer),
    };
    Some(Sourced::from_many(ObservationValue::Attachment(a), sources))
}

/// The MIME type that a type of data (table 0191) and subtype (table 0291)
/// at `kind` and `sub` make, both read (their sources added to `sources`)
/// when they make one and left unread when not.
fn attachment_type(
    ctx: &mut Ctx<'_, '_>,
    kind: Path,
    sub: Path,
    sources: &mut Sources,
) -> Option<String> {
    let k = ctx.peek(kind);
    let s = ctx.peek(sub);
    let mime = mime_type(k.as_deref(), s.as_deref())?;
    for at in [kind, sub] {
        if let Some(t) = ctx.text(at) {
            sources.append(t.sources);
        }
    }
    Some(mime)
}

/// The MIME type an HL7 v2 type of data (ED.2 / RP.3, table 0191) and
/// subtype (ED.3 / RP.4, table 0291) make: a MIME top-level type with a
/// subtype as they are (`application` and `pdf`: `application/pdf`,
/// lower-cased); a table 0291 subtype with a MIME equivalent whatever the
/// type (`AP` and `PDF`, `IM` and `JPEG`); `TEXT` or `TX` alone
/// `text/plain`. Anything else makes none.
fn mime_type(kind: Option<&str>, sub: Option<&str>) -> Option<String> {
    const TOP: &[&str] = &[
        "application",
        "audio",
        "font",
        "image",
        "message",
        "model",
        "multipart",
        "text",
        "video",
    ];
    const SUBTYPES: &[(&str, &str)] = &[
        ("DICOM", "application/dicom"),
        ("GIF", "image/gif"),
        ("HTML", "text/html"),
        ("JPEG", "image/jpeg"),
        ("Octet-stream", "application/octet-stream"),
        ("PDF", "application/pdf"),
        ("PNG", "image/png"),
        ("PostScript", "application/postscript"),
        ("RTF", "application/rtf"),
        ("SGML", "text/sgml"),
        ("TIFF", "image/tiff"),
        ("XML", "application/xml"),
    ];
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let kind = kind.map(str::trim).filter(|k| !k.is_empty());
    let sub = sub.map(str::trim).filter(|s| !s.is_empty());
    match (kind, sub) {
        (Some(k), Some(s)) if TOP.iter().any(|t| t.eq_ignore_ascii_case(k)) && token(s) => Some(
            format!("{}/{}", k.to_ascii_lowercase(), s.to_ascii_lowercase()),
        ),
        (_, Some(s)) => SUBTYPES
            .iter()
            .find(|(v2, _)| v2.eq_ignore_ascii_case(s))
            .map(|(_, m)| (*m).to_owned()),
        (Some(k), None) if k.eq_ignore_ascii_case("TEXT") || k.eq_ignore_ascii_case("TX") => {
            Some("text/plain".to_owned())
        }
        _ => None,
    }
}

/// The bytes that hex text (pairs of `0`-`9`, `A`-`F`, any case,
/// whitespace aside) stands for; `None` when it is not that.
fn hex_bytes(t: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = t.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.is_empty() || digits.len() % 2 != 0 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// The required code (CWE) in field 3 of the record segment at `base` (OBX-3
/// observation identifier, AL1-3 allergen, DG1-3 diagnosis), read before
/// anything else of the segment. Without one the record is dropped: reported
/// `invalid` (`dropped`) at its segment, with its text as the raw value and
/// `why` as the reason; its fields are left unread, so they are reported
/// unmapped too.
fn required_code(ctx: &mut Ctx<'_, '_>, base: &Path, why: &str) -> Option<Sourced<Concept>> {
    let code = cwe(ctx, base.field(3));
    if code.is_none() {
        dropped_segment(ctx, base, why);
    }
    code
}

/// Reports the segment at `base` dropped, as [`required_code`] says.
#[cold]
fn dropped_segment(ctx: &mut Ctx<'_, '_>, base: &Path, why: &str) {
    let Some(segment) = ctx.segment(base) else {
        return;
    };
    let Some(path) = ctx.source_path(base) else {
        return;
    };
    ctx.invalid(
        ctx.source(path, segment.span()),
        segment.raw(),
        why,
        Action::Dropped,
    );
}

/// OBX-6 as the IG's CWE[Quantity]: the unit is the text (CWE.2), else the
/// code (CWE.1); the code is UCUM's (the second value) when CWE.3 says so.
fn obx_unit(ctx: &mut Ctx<'_, '_>, field: Path) -> (Option<Sourced<String>>, Option<String>) {
    let unit_code = ctx.text(field.component(1));
    let unit_text = ctx.text(field.component(2));
    let unit_system = ctx.text_cow(field.component(3)).map(|s| s.value);
    let ucum = unit_code
        .as_ref()
        .filter(|_| unit_system.as_deref() == Some("UCUM"))
        .map(|u| u.value.clone());
    let unit = match (unit_text, unit_code) {
        (Some(mut t), Some(c)) => {
            t.sources.append(c.sources);
            Some(t)
        }
        (t, c) => t.or(c),
    };
    (unit, ucum)
}

/// A text OBX-5 (ST, TX, FT, or a type the model has no value for): the
/// repetitions joined a line each, each line followed by the OBX-6 unit when
/// one is sent (`<5 umol/L`), as an NM value that is no number is kept.
fn text_value(
    ctx: &mut Ctx<'_, '_>,
    field: Path,
    unit: Option<&Sourced<String>>,
    formatted: bool,
) -> Option<Sourced<ObservationValue>> {
    // Each repetition's text (and the unit) appended as it is read: one
    // repetition with no unit keeps its `String`.
    let mut text: Option<String> = None;
    let mut sources = Sources::new();
    for r in 1..=ctx.reps(field) {
        let Some(p) = ctx.text_cow_as(field.repetition(r), formatted) else {
            continue;
        };
        sources.append(p.sources);
        let t = match text.as_mut() {
            Some(t) => {
                t.push('\n');
                t
            }
            None if unit.is_none() => {
                text = Some(p.value.into_owned());
                continue;
            }
            None => text.insert(String::new()),
        };
        t.push_str(&p.value);
        if let Some(u) = unit {
            t.push(' ');
            t.push_str(&u.value);
        }
    }
    let text = text?;
    if let Some(u) = unit {
        sources.extend(u.sources.iter().cloned());
    }
    Some(Sourced::from_many(ObservationValue::Text(text), sources))
}

/// True for an HL7 NM number: an optional sign, then digits with at most one
/// decimal point, at least one digit (`-12`, `+3.50`, `.5`, `5.`), spaces
/// around it aside. No exponent, no thousands separator.
fn is_nm(text: &str) -> bool {
    let t = text.trim();
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty())
}

/// OBX-5 of an NM observation: a quantity when it is a number. A comparator
/// before the number (`>90`, `<0.5`: an SN sent as NM, as eGFR often is) is
/// read as the quantity's comparator; anything else is kept as text, with its
/// unit. Both are reported invalid, with what was done.
fn nm(
    ctx: &mut Ctx<'_, '_>,
    v: Sourced<Cow<'_, str>>,
    unit: Option<&Sourced<String>>,
    ucum: Option<&str>,
) -> Sourced<ObservationValue> {
    let text = v.value.trim();
    let comparator = ["<=", ">=", "<", ">"]
        .into_iter()
        .find_map(|c| Some((c, text.strip_prefix(c)?.trim_start())))
        .filter(|(_, n)| is_nm(n));
    let mut sources = v.sources.clone();
    if let Some(u) = unit {
        sources.extend(u.sources.iter().cloned());
    }
    let quantity = |value: &str, comparator: Option<&str>| {
        ObservationValue::Quantity(Quantity {
            value: value.to_owned(),
            unit: unit.map(|u| u.value.clone()),
            ucum: ucum.map(str::to_owned),
            comparator: comparator.map(str::to_owned),
        })
    };
    let src = v.sources.first().cloned();
    let value = if is_nm(text) {
        quantity(text, None)
    } else if let Some((c, n)) = comparator {
        if let Some(src) = src {
            let reason = format!(
                "not an NM number: a comparator and a number (an SN's form), read as the quantity {c} {n}"
            );
            ctx.invalid(src, v.value.as_bytes(), reason, Action::Interpreted);
        }
        quantity(n, Some(c))
    } else {
        if let Some(src) = src {
            ctx.invalid(
                src,
                v.value.as_bytes(),
                "not an NM number (an optional sign, digits, one decimal point): kept as text, with its unit",
                Action::KeptAsText,
            );
        }
        ObservationValue::Text(match unit {
            Some(u) => format!("{text} {}", u.value),
            None => text.to_owned(),
        })
    };
    Sourced::from_many(value, sources)
}

/// OBX-5 of an NM observation sent as repetitions (`60~120`): the model keeps
/// one value, so they are kept as text, a line per number with its unit; a
/// repetition that is not a number is reported.
fn nm_repeats(
    ctx: &mut Ctx<'_, '_>,
    field: Path,
    unit: Option<&Sourced<String>>,
) -> Option<Sourced<ObservationValue>> {
    let parts: Vec<Sourced<String>> = (1..=ctx.reps(field))
        .filter_map(|r| ctx.text(field.repetition(r)))
        .collect();
    let mut text = String::new();
    let mut sources = Sources::new();
    for p in parts {
        if !is_nm(&p.value) {
            ctx.invalid_value(&p, "not an NM number (an optional sign, digits, one decimal point): kept as text, with its unit", Action::KeptAsText);
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(p.value.trim());
        if let Some(u) = unit {
            text.push(' ');
            text.push_str(&u.value);
        }
        sources.append(p.sources);
    }
    if sources.is_empty() {
        return None;
    }
    if let Some(u) = unit {
        sources.extend(u.sources.iter().cloned());
    }
    Some(Sourced::from_many(ObservationValue::Text(text), sources))
}

/// A structured numeric (SN) OBX-5 as the IG maps it: comparator (SN.1) and
/// number (SN.2) → a Quantity with its comparator; `num1-num2` → a Range;
/// a ratio (`1:128`, `1/2`) or a `num+` form is kept as its text with the
/// unit after it (the model has no ratio). A comparator FHIR does not have
/// (`=`, `<>`) is dropped (`=`) or keeps the value as text (`<>`).
fn sn(
    ctx: &mut Ctx<'_, '_>,
    base: Path,
    unit: Option<&Sourced<String>>,
    ucum: Option<&str>,
) -> Option<Sourced<ObservationValue>> {
    // Read borrowed: each part is copied once, into what is kept.
    let cmp = ctx.text_cow(base.component(1));
    let n1 = ctx.text_cow(base.component(2));
    let sep = ctx.text_cow(base.component(3));
    let n2 = ctx.text_cow(base.component(4));
    let mut sources = Sources::new();
    for s in cmp
        .iter()
        .chain(n1.iter())
        .chain(sep.iter())
        .chain(n2.iter())
    {
        sources.extend(s.sources.iter().cloned());
    }
    if sources.is_empty() {
        return None;
    }
    if let Some(u) = unit {
        sources.extend(u.sources.iter().cloned());
    }
    let q = |v: &str, comparator: Option<String>| Quantity {
        value: v.trim().to_owned(),
        unit: unit.map(|u| u.value.clone()),
        ucum: ucum.map(str::to_owned),
        comparator,
    };
    // The SN's parts as one text, followed by the unit when one is sent (IG
    // OBX[Observation]: valueString is OBX-5's parts and OBX-6), as an NM
    // value kept as text keeps it: `2+ g/L` is not `2+`.
    let text = || {
        let mut t = [&cmp, &n1, &sep, &n2]
            .into_iter()
            .flatten()
            .map(|s| &*s.value)
            .collect::<String>();
        if let Some(u) = unit {
            t.push(' ');
            t.push_str(&u.value);
        }
        t
    };
    let cmp_v = cmp.as_ref().map(|c| &*c.value);
    // SN.2 and SN.4 are NM numbers; a pair that is not (`^<^abc`) is kept as
    // the text it makes, reported, rather than as a quantity that is no number.
    let bad = [&n1, &n2]
        .into_iter()
        .flatten()
        .find(|n| !is_nm(&n.value))
        .and_then(|n| Some((n.sources.first()?.clone(), n.value.to_string())));
    if let Some((src, raw)) = bad {
        ctx.invalid(
            src,
            raw.as_bytes(),
            "not an NM number in an SN: the SN kept as text, with its unit",
            Action::KeptAsText,
        );
        return Some(Sourced::from_many(ObservationValue::Text(text()), sources));
    }
    let value = match (sep.as_ref().map(|s| &*s.value), &n2) {
        (Some("-"), Some(high)) if cmp_v.is_none() => ObservationValue::Range {
            low: n1.as_ref().map(|l| q(&l.value, None)),
            high: Some(q(&high.value, None)),
        },
        (Some(_), _) => ObservationValue::Text(text()),
        (None, _) => match (cmp_v, &n1) {
            (None | Some("="), Some(n)) => ObservationValue::Quantity(q(&n.value, None)),
            (Some(c @ ("<" | "<=" | ">=" | ">")), Some(n)) => {
                ObservationValue::Quantity(q(&n.value, Some(c.to_owned())))
            }
            _ => ObservationValue::Text(text()),
        },
    };
    Some(Sourced::from_many(value, sources))
}

/// Picks the identifier that keys a patient: a verified NHS number, else an
/// unverified valid one, else a local MRN with its assigning authority
/// (the key without blanks around its value and authority, as the FHIR
/// writer keys it: `111 ^^^RX1` is `111`). No key at all means the record
/// is quarantined, never guessed.
///
/// ```
/// use carecodec_hl7v2::Message;
/// use carecodec_map::v2::{identity, map_message, V2Options};
///
/// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1|EPR|RX1|20240312091500||ADT^A08|1|P|2.4\r\
/// PID|1||K1^^^RX1^MR~9434765919^^^NHS^NH||SMITH^JOHN\r").unwrap();
/// let (event, report) = map_message(&msg, &V2Options::default()).unwrap();
/// let decision = identity(&event.patient.unwrap().identifiers);
/// // The NHS number keys the patient, though the MRN came first.
/// assert_eq!(decision.key.as_ref().unwrap().value(), "9434765919");
/// assert_eq!(decision, report.identity[0]);
/// assert!(identity(&[]).quarantined());
/// ```
pub fn identity(ids: &[Sourced<Identifier>]) -> IdentityDecision {
    let mut d = IdentityDecision {
        seen: ids.to_vec(),
        key: None,
        reason: String::new(),
    };
    let verified = ids.iter().find(|i| {
        matches!(
            i.value,
            Identifier::Nhs {
                verification: Some(VerificationStatus::Verified),
                ..
            }
        )
    });
    let nhs = ids
        .iter()
        .find(|i| matches!(i.value, Identifier::Nhs { .. }));
    let mrn = ids.iter().find(|i| {
        matches!(
            &i.value,
            Identifier::Mrn {
                authority: Some(_),
                ..
            }
        )
    });
    if let Some(reason) = conflicting_nhs(ids) {
        d.reason = reason;
        return d;
    }
    (d.key, d.reason) = match (verified, nhs, mrn) {
        (Some(v), _, _) => (
            Some(v.value.clone()),
            "verified NHS number (status 01)".into(),
        ),
        (None, Some(n), _) => (
            Some(n.value.clone()),
            "NHS number (valid Modulus 11; verification status not 01 or not sent)".into(),
        ),
        (None, None, Some(m)) => (
            Some(trimmed_mrn(&m.value)),
            "no valid NHS number: local MRN with its assigning authority".into(),
        ),
        _ => (
            None,
            "quarantined: no valid NHS number and no MRN with an assigning authority".into(),
        ),
    };
    d
}

/// An MRN as a key: its value and authority without blanks around them,
/// as the FHIR writer writes and keys it (HL7 v2 blanks mean nothing: `111 `
/// is `111`); the identifier itself is kept as sent.
fn trimmed_mrn(id: &Identifier) -> Identifier {
    match id {
        Identifier::Mrn {
            value,
            authority,
            system,
        } => Identifier::Mrn {
            value: value.trim().to_owned(),
            authority: authority.as_deref().map(|a| a.trim().to_owned()),
            system: system.clone(),
        },
        other => other.clone(),
    }
}

/// Why a record carrying two different valid NHS numbers (in PID-2, 3 or
/// 4, or FHIR `Patient.identifier`) has no key: one patient has one NHS
/// number, and which of the two is right is not the mapper's to guess. The
/// same number sent twice is no conflict.
pub(crate) fn conflicting_nhs(ids: &[Sourced<Identifier>]) -> Option<String> {
    distinct_nhs(ids)
        .map(|all| format!("quarantined: conflicting NHS numbers {all} for one patient"))
}

/// The decision on a merge whose prior identifiers (MRG-1, or the FHIR
/// Patients `replaced-by` the survivor) hold two different valid NHS numbers:
/// they name two people, and which record the survivor replaces is not the
/// mapper's to guess, so the merge is quarantined (no key; the prior
/// identifiers in `seen`). `None` for a merge of one person's record.
///
/// ```
/// use carecodec_map::v2::merge_conflict;
/// use carecodec_model::{Identifier, NhsNumber, Source, Sourced};
///
/// let nhs = |n: &str| Sourced::new(
///     Identifier::Nhs { number: NhsNumber::parse(n).unwrap(), verification: None },
///     Source::fhir("Patient.identifier[0]"),
/// );
/// assert!(merge_conflict(&[nhs("9434765919"), nhs("9434765919")]).is_none());
/// let d = merge_conflict(&[nhs("9434765919"), nhs("4010232137")]).unwrap();
/// assert!(d.quarantined());
/// assert!(d.reason.contains("9434765919, 4010232137"));
/// ```
pub fn merge_conflict(merged_from: &[Sourced<Identifier>]) -> Option<IdentityDecision> {
    let all = distinct_nhs(merged_from)?;
    Some(IdentityDecision {
        seen: merged_from.to_vec(),
        key: None,
        reason: format!(
            "quarantined: the merge's prior identifiers hold different NHS numbers {all}: \
             they name more than one patient, so the merge is not applied"
        ),
    })
}

/// The different valid NHS numbers among `ids`, joined by `, `, when there
/// are two or more.
fn distinct_nhs(ids: &[Sourced<Identifier>]) -> Option<String> {
    let mut numbers = ids.iter().filter_map(|i| match &i.value {
        Identifier::Nhs { number, .. } => Some(number.as_str()),
        _ => None,
    });
    let first = numbers.next()?;
    // Nothing allocated unless there is a conflict (the common case: every
    // NHS number of the patient is the same one, or there is one).
    let mut numbers = numbers.skip_while(|n| *n == first).peekable();
    numbers.peek()?;
    let mut all = vec![first];
    for n in numbers {
        if !all.contains(&n) {
            all.push(n);
        }
    }
    (all.len() > 1).then(|| all.join(", "))
}

/// The bytes of the message the mapping read: one bit a byte. A leaf is
/// mapped when every one of its bytes was read (a value read whole covers the
/// leaves inside it). Marking and checking cost a word or two per value,
/// where a list of ranges had to be sorted and merged.
struct Consumed {
    bits: Vec<u64>,
    len: usize,
    /// The bytes kept: `0..head`, then `from..to` (right after them in
    /// `bits`). A whole message is `0..0` then `0..len`; a later patient
    /// group its header then its own bytes, so its bits cost the group, not
    /// the message.
    head: usize,
    from: usize,
    to: usize,
}

impl Consumed {
    fn new(len: usize) -> Consumed {
        Consumed::window(0, 0, len)
    }

    /// The bytes `0..head` and `from..to`.
    fn window(head: usize, from: usize, to: usize) -> Consumed {
        let len = head + to.saturating_sub(from);
        Consumed {
            bits: vec![0; len.div_ceil(64)],
            len,
            head,
            from,
            to,
        }
    }

    /// Where the bytes `r` (of one segment) are kept; `None` outside.
    #[inline]
    fn local(&self, r: Range<usize>) -> Option<Range<usize>> {
        // A whole message's `from` is 0 and `head` 0: one compare.
        if r.start >= self.from {
            let at = self.head + (r.start - self.from);
            (r.end <= self.to).then(|| at..at + (r.end - r.start))
        } else {
            (r.end <= self.head).then_some(r)
        }
    }

    /// The words of `r` with the mask of its bits in each.
    fn words(r: Range<usize>) -> impl Iterator<Item = (usize, u64)> {
        let mut i = r.start;
        std::iter::from_fn(move || {
            if i >= r.end {
                return None;
            }
            let (word, bit) = (i / 64, i % 64);
            let n = (64 - bit).min(r.end - i);
            let mask = if n == 64 {
                !0
            } else {
                ((1u64 << n) - 1) << bit
            };
            i += n;
            Some((word, mask))
        })
    }

    fn mark(&mut self, r: Range<usize>) {
        // Past the end of its part: only what lies within is marked.
        let end = r.end.min(if r.start >= self.from {
            self.to
        } else {
            self.head
        });
        let Some(r) = self.local(r.start..end) else {
            return;
        };
        let end = r.end.min(self.len);
        // Most values lie within one word: its mask at once.
        if r.start < end && r.start / 64 == (end - 1) / 64 {
            let n = end - r.start;
            let mask = (u64::MAX >> (64 - n)) << (r.start % 64);
            if let Some(word) = self.bits.get_mut(r.start / 64) {
                *word |= mask;
            }
            return;
        }
        for (w, mask) in Consumed::words(r.start..end) {
            if let Some(word) = self.bits.get_mut(w) {
                *word |= mask;
            }
        }
    }

    /// True when the bit kept at `i` (a [`Consumed::local`] position) is
    /// set.
    #[inline]
    fn has_local(&self, i: usize) -> bool {
        self.bits
            .get(i / 64)
            .is_some_and(|word| word & (1 << (i % 64)) != 0)
    }

    fn covers(&self, r: Range<usize>) -> bool {
        self.local(r).is_some_and(|r| {
            r.end <= self.len
                && Consumed::words(r)
                    .all(|(w, mask)| self.bits.get(w).is_some_and(|word| word & mask == mask))
        })
    }
}

/// The accounting: every non-empty leaf is mapped (all its bytes consumed) or
/// reported unmapped with its path, span and raw text.
///
/// Most segments are read whole: for those one pass over the bytes says so
/// and counts their leaves (runs of bytes between separators), and only a
/// segment with an unconsumed byte outside its separators is walked leaf by
/// leaf (as are MSH and every segment of a message the parser repaired).
fn finish(ctx: &mut Ctx<'_, '_>, group: bool) {
    // A patient group accounts for its own segments and the header; a whole
    // message for all of its segments (a later group's, unread, unmapped).
    let acc = match (ctx.group, group) {
        // A later group: the header's segments numbered from none, then the
        // group's after those before it.
        (Some(g), _) => {
            let mut acc = account(
                ctx.msg,
                &ctx.consumed,
                ctx.msg.segments().take(g.header_len),
                &[],
            );
            let rest = account(
                ctx.msg,
                &ctx.consumed,
                ctx.msg.segments_from(g.first).take(g.len),
                &g.before,
            );
            acc.total += rest.total;
            acc.mapped += rest.mapped;
            acc.unmapped.extend(rest.unmapped);
            acc
        }
        // The first group: the message up to the second PID.
        (None, true) => {
            let end = ctx.end;
            let segs = ctx.msg.segments().take_while(|s| s.span().start < end);
            account(ctx.msg, &ctx.consumed, segs, &[])
        }
        (None, false) => account(ctx.msg, &ctx.consumed, ctx.msg.segments(), &[]),
    };
    ctx.report.source_leaves = acc.total;
    ctx.report.mapped = acc.mapped;
    ctx.report.unmapped = acc.unmapped;
    // Spans count from the file's start (see `V2Options::file_offset`).
    let base = ctx.opts.file_offset;
    if base > 0 {
        for u in &mut ctx.report.unmapped {
            if let Source::V2 { span, .. } = &mut u.source {
                *span = shift(span.clone(), base);
            }
        }
    }
}

/// `span` moved `by` bytes on (saturating: a span never wraps).
fn shift(span: Range<usize>, by: usize) -> Range<usize> {
    span.start.saturating_add(by)..span.end.saturating_add(by)
}

/// The accounting of `msg` given what was consumed (see [`finish`]).
fn account<'s, 'a: 's>(
    msg: &Message<'a>,
    consumed: &Consumed,
    segments: impl Iterator<Item = Segment<'s, 'a>>,
    counted: &[([u8; 3], u32)],
) -> Accounting {
    let mut acc = Accounting::default();
    let seps = Separators::of(msg);
    // Each segment's occurrence, counted per id in a few slots, from the
    // counts of the segments before `segments` (`counted`).
    let mut seen = [([0u8; 3], 0u32); 32];
    let mut used = 0usize;
    for (slot, c) in seen.iter_mut().zip(counted) {
        *slot = *c;
        used += 1;
    }
    for seg in segments {
        let i = seg.line() - 1;
        let id = seg.id();
        let key = match id.as_bytes() {
            [a, b, c] => [*a, *b, *c],
            _ => [0; 3],
        };
        let occurrence = match seen.iter_mut().take(used).find(|(k, _)| *k == key) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => match seen.get_mut(used) {
                Some(slot) => {
                    *slot = (key, 1);
                    used += 1;
                    1
                }
                // More distinct ids than slots: count the earlier ones.
                None => 1 + msg.segments().take(i).filter(|s| s.id() == id).count() as u32,
            },
        };
        let Ok(base) = Path::segment_path(id, occurrence) else {
            continue;
        };
        // MSH-1 and MSH-2 are literals, and most messages leave an MSH
        // field unmapped: a header segment is always walked.
        let clean = match &seps {
            Some(seps) if !is_header(key) => {
                seps.consumed_leaves(msg.as_bytes(), seg.span(), consumed)
            }
            _ => None,
        };
        match clean {
            Some(leaves) => {
                acc.total += leaves;
                acc.mapped += leaves;
            }
            None => seg.for_each_leaf(base, |path, v| acc.leaf(consumed, path, v)),
        }
    }
    acc
}

/// Leaves counted so far, and the unmapped ones.
#[derive(Debug, Default, PartialEq)]
struct Accounting {
    total: usize,
    mapped: usize,
    unmapped: Vec<Unmapped>,
}

impl Accounting {
    fn leaf(&mut self, consumed: &Consumed, path: Path, v: Value<'_>) {
        self.total += 1;
        let span = v.span();
        if consumed.covers(span.clone()) {
            self.mapped += 1;
        } else {
            self.unmapped.push(Unmapped {
                raw: String::from_utf8_lossy(v.raw()).into_owned(),
                source: match v2_path(&path) {
                    Some(p) => Source::v2(p, span),
                    None => Source::Derived {
                        rule: path.to_string(),
                    },
                },
            });
        }
    }
}

/// The bytes that split a segment into leaves: field, repetition, component
/// and subcomponent separators (not the escape character, which is part of
/// a leaf's text).
struct Separators {
    field: u8,
    is_sep: [bool; 256],
}

impl Separators {
    /// `None` when the parser repaired the message: its index, not its bytes,
    /// then says where leaves are.
    fn of(msg: &Message<'_>) -> Option<Separators> {
        if !msg.repairs().is_empty() {
            return None;
        }
        let d = msg.delimiters();
        let mut is_sep = [false; 256];
        for b in [
            Some(d.field),
            Some(d.repetition),
            Some(d.component),
            d.subcomponent,
        ]
        .into_iter()
        .flatten()
        {
            if let Some(x) = is_sep.get_mut(usize::from(b)) {
                *x = true;
            }
        }
        Some(Separators {
            field: d.field,
            is_sep,
        })
    }

    /// The number of leaves of the (non-header) segment at `span` when every
    /// byte of every leaf was consumed; `None` when one was not (or the
    /// segment does not look as the index says), so it must be walked.
    fn consumed_leaves(
        &self,
        bytes: &[u8],
        span: Range<usize>,
        consumed: &Consumed,
    ) -> Option<usize> {
        let raw = bytes.get(span.clone())?;
        // Where the segment's bits are (a segment this mapping did not read
        // has none: walked, so its leaves are reported).
        let local = consumed.local(span.clone())?.start;
        // `PID|…`: the leaves start after the id and the first separator.
        let body = match raw.len() {
            0..=3 => return Some(0),
            _ if raw.get(3) != Some(&self.field) => return None,
            _ => raw.get(4..)?,
        };
        let mut leaves = 0usize;
        let mut in_leaf = false;
        for (i, &b) in body.iter().enumerate() {
            if self.is_sep.get(usize::from(b)).copied().unwrap_or(false) {
                in_leaf = false;
                continue;
            }
            if !consumed.has_local(local + 4 + i) {
                return None;
            }
            if !in_leaf {
                leaves += 1;
                in_leaf = true;
            }
        }
        Some(leaves)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]

    use super::*;
    use proptest::prelude::*;

    /// The coding-system table is upper case and sorted (the binary search
    /// needs both), with no name twice; names match in any case; a name
    /// with no URI stays local.
    #[test]
    fn coding_system_table_is_sorted_and_case_blind() {
        for pair in CODING_SYSTEMS.windows(2) {
            assert!(pair[0].0.as_bytes() < pair[1].0.as_bytes(), "{pair:?}");
        }
        for (name, _) in CODING_SYSTEMS {
            assert_eq!(*name, name.to_ascii_uppercase());
            assert!(
                !matches!(coding_system(name), CodeSystem::Local(_)),
                "{name}"
            );
        }
        assert_eq!(coding_system("sct"), CodeSystem::Snomed);
        assert_eq!(coding_system("Ln"), CodeSystem::Loinc);
        assert_eq!(coding_system("I10"), CodeSystem::Icd10);
        assert_eq!(coding_system("DMD"), CodeSystem::Dmd);
        assert_eq!(
            coding_system("cvx"),
            CodeSystem::Uri("http://hl7.org/fhir/sid/cvx".into())
        );
        assert_eq!(coding_system("hl70078"), CodeSystem::V2Table("0078".into()));
        assert_eq!(
            coding_system("2.16.840.1.113883.6.96"),
            CodeSystem::Uri("urn:oid:2.16.840.1.113883.6.96".into())
        );
        for local in ["L", "99LAB", "E5", "HL7ABCD", "HL7007", "SNM3", "RC", ""] {
            assert_eq!(coding_system(local), CodeSystem::Local(local.into()));
        }
        for local in ["L", "l", "LB", "lb", "99zzz", "99LAB"] {
            assert!(local_system(local), "{local}");
        }
        for unknown in ["AS4", "E5", "LN9", "9", "ZZ99"] {
            assert!(!local_system(unknown), "{unknown}");
        }
    }

    #[test]
    fn base64_hex_and_mime_types() {
        // RFC 4648's test vectors.
        for (raw, b64) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), b64);
            assert_eq!(is_base64(b64), !b64.is_empty(), "{b64}");
        }
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
        for bad in ["Zm9", "Zm9v=", "Zg===", "Z=g=", "Zm9 v", "Zm9v\n", "Zm-_"] {
            assert!(!is_base64(bad), "{bad}");
        }
        assert_eq!(hex_bytes("48 65 6c6C"), Some(b"Hell".to_vec()));
        for bad in ["", "4", "4g", "+1", "0x41"] {
            assert_eq!(hex_bytes(bad), None, "{bad}");
        }
        let m = |k: Option<&str>, s: Option<&str>| mime_type(k, s);
        assert_eq!(
            m(Some("application"), Some("pdf")).as_deref(),
            Some("application/pdf")
        );
        assert_eq!(
            m(Some("Image"), Some("JPEG")).as_deref(),
            Some("image/jpeg")
        );
        assert_eq!(
            m(Some("AP"), Some("pdf")).as_deref(),
            Some("application/pdf")
        );
        assert_eq!(m(None, Some("TIFF")).as_deref(), Some("image/tiff"));
        assert_eq!(m(Some("TEXT"), None).as_deref(), Some("text/plain"));
        assert_eq!(m(Some("AP"), None), None);
        assert_eq!(m(Some("AP"), Some("x-local")), None);
        assert_eq!(m(Some("application"), Some("pdf doc")), None);
        assert_eq!(m(None, None), None);
    }

    /// What `Consumed` must answer: a span is covered when the union of the
    /// marked ranges contains it.
    fn covered_by_union(marked: &[Range<usize>], span: &Range<usize>) -> bool {
        span.clone().all(|i| marked.iter().any(|r| r.contains(&i)))
    }

    /// Given names as words, the plain way.
    fn words(parts: &[String]) -> Vec<String> {
        parts
            .iter()
            .flat_map(|p| p.split(' ').filter(|w| !w.is_empty()).map(str::to_owned))
            .collect()
    }

    /// Maps `msg` and returns the repetitions and segments the lookups
    /// stepped over, with the report.
    fn steps_to_map(msg: &[u8]) -> (usize, MappingReport) {
        let msg = Message::parse(msg).unwrap();
        STEPS.with(|s| s.set(0));
        let (_, report) = map_message(&msg, &V2Options::default()).unwrap();
        (STEPS.with(std::cell::Cell::get), report)
    }

    #[test]
    fn reading_repetitions_in_order_is_linear() {
        // 50,000 repetitions in fields read component by component (PID-3,
        // PID-11, PID-13) and whole (NTE-3), and 5,000 interleaved OBX / NTE
        // segments: each lookup must continue from the previous one. Found
        // from the field's (or message's) start each time, this is
        // 50,000² / 2 steps (1.25e9; 25 s for the CLI at 80,000).
        const N: usize = 50_000;
        let ids: Vec<String> = (0..N).map(|i| format!("K{i:07}^^^RX1^MR")).collect();
        let addresses: Vec<String> = (0..N).map(|i| format!("{i} HIGH ST^^LEEDS")).collect();
        let phones: Vec<String> = (0..N).map(|i| format!("0113{i:07}")).collect();
        let notes: Vec<String> = (0..N).map(|i| format!("note {i}")).collect();
        let mut msg = format!(
            "MSH|^~\\&|LAB|RX1|EPR|RX1|20240312091500||ORU^R01|M1|P|2.4\r\
             PID|1||{}||SMITH^JOHN||19700214|M|||{}||{}\rOBR|1|A||1^X^L\rNTE|1||{}\r",
            ids.join("~"),
            addresses.join("~"),
            phones.join("~"),
            notes.join("~"),
        );
        for i in 1..=5_000 {
            msg.push_str(&format!(
                "OBX|{i}|NM|2160-0^Creat^LN||{i}|umol/L|||||F\rNTE|{i}||n\r"
            ));
        }
        let (steps, report) = steps_to_map(msg.as_bytes());
        assert!(report.balanced());
        // About one step a repetition and a segment read (4 × 50,000 + 2 ×
        // 5,000 segments, each read a few times).
        assert!(steps < 4 * (4 * N + 10_000), "{steps} steps");
    }

    #[test]
    fn given_names_are_words() {
        let given = |v: &[&str]| -> Vec<String> {
            let mut out = Vec::new();
            for p in v {
                push_given(&mut out, (*p).to_owned());
            }
            out
        };
        assert_eq!(given(&["JOHN PAUL", "ANNE"]), ["JOHN", "PAUL", "ANNE"]);
        assert_eq!(given(&[" JOHN  ", ""]), ["JOHN"]);
    }

    proptest! {
        #[test]
        fn given_names_split_like_words(parts in prop::collection::vec("[A-Z ]{0,12}", 0..4)) {
            let mut given = Vec::new();
            for p in &parts {
                push_given(&mut given, p.clone());
            }
            prop_assert_eq!(given, words(&parts));
        }

        #[test]
        fn consumed_matches_the_union_of_ranges(
            len in 1usize..300,
            marks in prop::collection::vec((0usize..300, 1usize..90), 0..12),
            probes in prop::collection::vec((0usize..300, 1usize..90), 1..12),
        ) {
            let clip = |(s, n): (usize, usize)| {
                let s = s % len;
                s..(s + n).min(len)
            };
            let marked: Vec<Range<usize>> = marks.into_iter().map(clip).collect();
            let mut c = Consumed::new(len);
            for r in &marked {
                c.mark(r.clone());
            }
            for span in probes.into_iter().map(clip) {
                prop_assert_eq!(c.covers(span.clone()), covered_by_union(&marked, &span), "{:?}", span);
            }
        }
    }

    /// The accounting the plain way: every leaf of every segment walked.
    fn account_by_walk(msg: &Message<'_>, consumed: &Consumed) -> Accounting {
        let mut acc = Accounting::default();
        msg.for_each_leaf(|path, v| acc.leaf(consumed, path, v));
        acc
    }

    proptest! {
        /// Counting the leaves of wholly consumed segments from their bytes
        /// gives what walking every leaf gives: the same totals and the same
        /// unmapped leaves, in order.
        #[test]
        fn accounting_matches_the_full_walk(
            segments in prop::collection::vec(
                ("(PID|PV1|OBX|ZZ1|MSH|EVN)", "[A-C1 ^~&|\\\\]{0,40}"),
                0..6,
            ),
            header in "[A-C1^&|]{0,20}",
            ending in "(\r|\n|\r\n)",
            keep in prop::collection::vec(any::<bool>(), 64),
            marks in prop::collection::vec((0usize..400, 1usize..40), 0..6),
        ) {
            let mut text = format!("MSH|^~\\&|{header}");
            for (id, body) in &segments {
                text.push_str(&ending);
                text.push_str(id);
                text.push('|');
                text.push_str(body);
            }
            text.push_str(&ending);
            let Ok(msg) = Message::parse(text.as_bytes()) else {
                return Ok(());
            };
            let len = msg.as_bytes().len();
            let mut consumed = Consumed::new(len);
            // Most leaves read whole, as the mapper reads them …
            let mut k = 0usize;
            msg.for_each_leaf(|_, v| {
                if keep.get(k % keep.len()).copied().unwrap_or(true) || k % 3 == 0 {
                    consumed.mark(v.span());
                }
                k += 1;
            });
            // … and some arbitrary ranges, separators included.
            for (s, n) in marks {
                let s = s % len;
                consumed.mark(s..(s + n).min(len));
            }
            prop_assert_eq!(account(&msg, &consumed, msg.segments(), &[]), account_by_walk(&msg, &consumed), "{:?}", text);
        }
    }

    /// More distinct segment ids than the accounting keeps counters for:
    /// occurrences are still right (the unmapped leaves' paths say so).
    #[test]
    fn accounting_with_many_segment_ids() {
        let mut text = String::from("MSH|^~\\&|A");
        for i in 0..40 {
            text.push_str(&format!("\rZ{i:02}|x^y\rZ{i:02}|z"));
        }
        text.push('\r');
        let msg = Message::parse(text.as_bytes()).unwrap();
        let consumed = Consumed::new(msg.as_bytes().len());
        let acc = account(&msg, &consumed, msg.segments(), &[]);
        assert_eq!(acc, account_by_walk(&msg, &consumed));
        // MSH-1, MSH-2, MSH-3, then x, y and z of each id.
        assert_eq!(acc.total, 3 + 40 * 3);
        let last = acc.unmapped.last().unwrap();
        assert!(
            last.source
                .to_string()
                .starts_with("HL7 v2 Z39[2]-1[1].1.1 ")
        );
    }

    #[test]
    fn consumed_word_edges() {
        let mut c = Consumed::new(200);
        c.mark(60..64);
        c.mark(64..130);
        assert!(c.covers(60..130));
        assert!(c.covers(64..128));
        assert!(!c.covers(59..61));
        assert!(!c.covers(129..131));
        // Beyond the end is never covered, and marking there is ignored.
        c.mark(190..260);
        assert!(c.covers(190..200));
        assert!(!c.covers(199..201));
    }
}
