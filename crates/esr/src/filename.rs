//! File names: `GO_<VPD>_<SUB>_<G?T>_<YYYYMMDD>_<SEQ8>.DAT` (and the inbound `TA_…`).

use chrono::NaiveDate;

use crate::value::parse_date;

/// What a Generic Outbound file holds.
///
/// ```
/// use carecodec_esr::filename::{ExtractType, FileName};
///
/// assert_eq!(FileName::parse("GO_999_GDW_GOF_20250301_00000101.DAT").map(|n| n.extract), Ok(ExtractType::Full));
/// assert_eq!(FileName::parse("GO_999_GDW_GOR_20250301_00000101.DAT").map(|n| n.extract), Ok(ExtractType::Refresh));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtractType {
    /// `F`: a full extract.
    Full,
    /// `C`: changes since the previous run.
    Changes,
    /// `R`: a full refresh/seed after a subscriber request.
    Refresh,
}

/// A parsed Generic Outbound file name.
///
/// ```
/// use carecodec_esr::filename::{ExtractType, FileName};
///
/// let n = FileName::parse("GO_999_GDW_GOC_20250302_00000102.DAT").unwrap();
/// assert_eq!((n.vpd.as_str(), n.sub_file.as_str(), n.sequence), ("999", "GDW", 102));
/// assert_eq!(n.extract, ExtractType::Changes);
/// assert!(n.date.is_some());
/// // A 7-digit date (seen in the wild) parses with the date left out, and says why.
/// let bad = FileName::parse("GO_999_GDW_GOC_2025031_00000110.DAT").unwrap();
/// assert!(bad.date.is_none() && bad.defect.is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileName {
    /// The organisation's VPD code (3 characters).
    pub vpd: String,
    /// The sub-file (`GDW`, `EXP`, …).
    pub sub_file: String,
    /// The 2-character format (`GO`, `GD`).
    pub format: String,
    /// Full, changes or refresh.
    pub extract: ExtractType,
    /// The extract date, when well-formed.
    pub date: Option<NaiveDate>,
    /// The sequence number.
    pub sequence: u64,
    /// What is wrong with the name, if anything was tolerated.
    pub defect: Option<&'static str>,
}

impl FileName {
    /// Parses a GO file name (any directory part is ignored). `Err` says why
    /// the name is not a GO name at all.
    ///
    /// ```
    /// use carecodec_esr::filename::FileName;
    ///
    /// let n = FileName::parse("/in/GO_999_EXP_GOC_20250302_00000102.DAT")?;
    /// assert_eq!((n.sub_file.as_str(), n.format.as_str(), n.sequence), ("EXP", "GO", 102));
    /// assert_eq!(n.date.map(|d| d.to_string()).as_deref(), Some("2025-03-02"));
    /// assert!(FileName::parse("staff.csv").is_err());
    /// # Ok::<(), &str>(())
    /// ```
    pub fn parse(name: &str) -> Result<FileName, &'static str> {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let stem = base
            .strip_suffix(".DAT")
            .or_else(|| base.strip_suffix(".dat"))
            .ok_or("no .DAT extension")?;
        let parts: Vec<&str> = stem.split('_').collect();
        let [go, vpd, sub, kind, date, seq] = parts.as_slice() else {
            return Err("expected GO_<VPD>_<SUB>_<type>_<YYYYMMDD>_<SEQ>");
        };
        if *go != "GO" {
            return Err("does not start with GO_");
        }
        if vpd.len() != 3 {
            return Err("VPD is not 3 characters");
        }
        let extract = match kind.as_bytes() {
            [_, _, b'F'] => ExtractType::Full,
            [_, _, b'C'] => ExtractType::Changes,
            [_, _, b'R'] => ExtractType::Refresh,
            _ => return Err("type is not <2 chars><F|C|R>"),
        };
        let sequence = seq
            .parse::<u64>()
            .ok()
            .filter(|_| seq.bytes().all(|b| b.is_ascii_digit()))
            .ok_or("sequence is not a number")?;
        let parsed = parse_date(date.as_bytes());
        let defect = if parsed.is_none() {
            Some("extract date is not YYYYMMDD")
        } else if seq.len() != 8 {
            Some("sequence is not 8 digits")
        } else {
            None
        };
        Ok(FileName {
            vpd: (*vpd).to_owned(),
            sub_file: (*sub).to_owned(),
            format: kind.get(..2).unwrap_or_default().to_owned(),
            extract,
            date: parsed,
            sequence,
            defect,
        })
    }
}

/// The last applied sequence per (VPD, sub-file) of an ingester.
///
/// ```
/// use carecodec_esr::filename::{SequenceCheck, SequenceTracker};
///
/// let mut t = SequenceTracker::new(Some(108));
/// assert_eq!(t.check(110), SequenceCheck::Gap { expected: 109, found: 110 });
/// assert_eq!(t.check(109), SequenceCheck::Next);
/// t.applied(109);
/// assert_eq!(t.check(109), SequenceCheck::Repeat);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SequenceTracker {
    last: Option<u64>,
}

/// The verdict on a file's sequence number.
///
/// ```
/// use carecodec_esr::filename::{SequenceCheck, SequenceTracker};
///
/// assert_eq!(SequenceTracker::new(None).check(7), SequenceCheck::First);
/// assert_eq!(SequenceTracker::new(Some(7)).check(5), SequenceCheck::Gap { expected: 8, found: 5 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SequenceCheck {
    /// No file applied yet: any sequence starts the chain.
    First,
    /// The expected next one.
    Next,
    /// The last applied again (a re-delivery).
    Repeat,
    /// Out of order: files are missing or the file is old.
    Gap {
        /// Last applied + 1.
        expected: u64,
        /// The file's.
        found: u64,
    },
}

impl SequenceTracker {
    /// A tracker whose last applied sequence is `last`.
    ///
    /// ```
    /// use carecodec_esr::filename::{SequenceCheck, SequenceTracker};
    ///
    /// let t = SequenceTracker::new(Some(101));
    /// assert_eq!(t.last(), Some(101));
    /// assert_eq!(t.check(102), SequenceCheck::Next);
    /// ```
    pub fn new(last: Option<u64>) -> SequenceTracker {
        SequenceTracker { last }
    }

    /// Judges `seq` against the last applied.
    ///
    /// ```
    /// use carecodec_esr::filename::{SequenceCheck, SequenceTracker};
    ///
    /// let t = SequenceTracker::new(Some(101));
    /// assert_eq!(t.check(101), SequenceCheck::Repeat);
    /// assert_eq!(t.check(102), SequenceCheck::Next);
    /// assert_eq!(t.check(104), SequenceCheck::Gap { expected: 102, found: 104 });
    /// ```
    pub fn check(&self, seq: u64) -> SequenceCheck {
        match self.last {
            None => SequenceCheck::First,
            Some(l) if seq == l => SequenceCheck::Repeat,
            Some(l) if seq == l + 1 => SequenceCheck::Next,
            Some(l) => SequenceCheck::Gap {
                expected: l + 1,
                found: seq,
            },
        }
    }

    /// Records `seq` as applied (a full or refresh file re-bases the chain).
    ///
    /// ```
    /// use carecodec_esr::filename::SequenceTracker;
    ///
    /// let mut t = SequenceTracker::new(None);
    /// t.applied(101);
    /// t.applied(102);
    /// assert_eq!(t.last(), Some(102));
    /// ```
    pub fn applied(&mut self, seq: u64) {
        self.last = Some(seq);
    }

    /// The last applied sequence.
    ///
    /// ```
    /// use carecodec_esr::filename::SequenceTracker;
    ///
    /// assert_eq!(SequenceTracker::new(None).last(), None);
    /// assert_eq!(SequenceTracker::default().last(), None);
    /// ```
    pub fn last(&self) -> Option<u64> {
        self.last
    }
}

/// A parsed inbound element-entry file name:
/// `TA_<VPD>_<SUPPLIER>_<period type><period run><YY><PP>_<SEQ8>.DAT`, e.g.
/// `TA_431_SEL_WN1701_00000048.DAT` (weekly, normal run, tax year 17, period 01).
///
/// ```
/// use carecodec_esr::filename::InboundFileName;
///
/// let n = InboundFileName::parse("/out/TA_999_SEL_MN2511_00000001.DAT")?;
/// assert_eq!((n.vpd.as_str(), n.supplier.as_str(), n.sequence), ("999", "SEL", 1));
/// assert_eq!((n.period_type, n.period_run, n.tax_year, n.period), ('M', 'N', 25, 11));
/// assert!(InboundFileName::parse("TA_999_SEL_MX2511_00000001.DAT").is_err()); // run X
/// assert!(InboundFileName::parse("GO_999_GDW_GOF_20250301_00000101.DAT").is_err());
/// # Ok::<(), &str>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboundFileName {
    /// The organisation's VPD code (3 digits).
    pub vpd: String,
    /// The supplier code (`SEL`).
    pub supplier: String,
    /// Period type: `W` weekly, `M` monthly, `L` lunar month, `B` bi-weekly.
    pub period_type: char,
    /// Period run: `N` normal, `S` supplementary.
    pub period_run: char,
    /// Tax year, two digits (`25`).
    pub tax_year: u8,
    /// Tax period, two digits, from 1.
    pub period: u8,
    /// The sequence number (8 digits in the name).
    pub sequence: u64,
}

impl InboundFileName {
    /// Parses an inbound file name (any directory part is ignored). `Err` says what does not
    /// follow the convention.
    ///
    /// ```
    /// use carecodec_esr::filename::InboundFileName;
    ///
    /// assert_eq!(InboundFileName::parse("TA_999_SEL_MN2511_0000001.DAT"), Err("sequence is not 8 digits"));
    /// assert_eq!(InboundFileName::parse("TA_99_SEL_MN2511_00000001.DAT"), Err("VPD is not 3 digits"));
    /// assert_eq!(InboundFileName::parse("TA_999_SEL_MN2500_00000001.DAT"), Err("tax period is 00"));
    /// ```
    pub fn parse(name: &str) -> Result<InboundFileName, &'static str> {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let stem = base
            .strip_suffix(".DAT")
            .or_else(|| base.strip_suffix(".dat"))
            .ok_or("no .DAT extension")?;
        let parts: Vec<&str> = stem.split('_').collect();
        let [ta, vpd, supplier, period, seq] = parts.as_slice() else {
            return Err("expected TA_<VPD>_<SUPPLIER>_<period>_<SEQ8>");
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if *ta != "TA" {
            return Err("does not start with TA_");
        }
        if vpd.len() != 3 || !digits(vpd) {
            return Err("VPD is not 3 digits");
        }
        if supplier.is_empty() || !supplier.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("supplier code is not letters and digits");
        }
        let (period_type, period_run, yy, pp) = match period.as_bytes() {
            [t, r, y1, y2, p1, p2] => (*t, *r, [*y1, *y2], [*p1, *p2]),
            _ => return Err("period is not <type><run><YY><PP> (6 characters)"),
        };
        if !matches!(period_type, b'W' | b'M' | b'L' | b'B') {
            return Err("period type is not W, M, L or B");
        }
        if !matches!(period_run, b'N' | b'S') {
            return Err("period run is not N or S");
        }
        let two = |[a, b]: [u8; 2]| {
            (a.is_ascii_digit() && b.is_ascii_digit()).then(|| (a - b'0') * 10 + (b - b'0'))
        };
        let tax_year = two(yy).ok_or("tax year is not 2 digits")?;
        let period = two(pp).ok_or("tax period is not 2 digits")?;
        if period == 0 {
            return Err("tax period is 00");
        }
        if seq.len() != 8 || !digits(seq) {
            return Err("sequence is not 8 digits");
        }
        Ok(InboundFileName {
            vpd: (*vpd).to_owned(),
            supplier: (*supplier).to_owned(),
            period_type: char::from(period_type),
            period_run: char::from(period_run),
            tax_year,
            period,
            sequence: seq.parse().map_err(|_| "sequence is not a number")?,
        })
    }
}
