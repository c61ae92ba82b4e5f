//! Record layouts: per profile and interface version, one table of fields
//! (name, type, required) per record code.
//!
//! ```
//! use carecodec_esr::layout::{layout, FieldType, Profile};
//!
//! let pra = layout(Profile::Gdw, "01", "PRA").unwrap();
//! assert_eq!(pra.fields.len(), 44);
//! assert_eq!(pra.fields[14].name, "National Insurance Number");
//! assert_eq!(pra.fields[14].ty, FieldType::Nino);
//! assert_eq!(layout(Profile::Exp, "01", "ASA").unwrap().fields.len(), 50);
//! assert!(layout(Profile::Exp, "01", "ETA").is_none());
//! ```

#[path = "layout_tables.rs"]
mod tables;

/// The Generic Outbound sub-file profile.
///
/// ```
/// use carecodec_esr::layout::{layout, Profile};
///
/// assert_eq!(Profile::from_code("EXP"), Some(Profile::Exp));
/// assert!(layout(Profile::Gdw, "01", "PRA").is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// `GDW`: the data-warehouse sub-file.
    Gdw,
    /// `EXP`: the expenses sub-file ("outbound v2").
    Exp,
}

impl Profile {
    /// The profile for a sub-file code (`GDW`, `EXP`).
    ///
    /// ```
    /// use carecodec_esr::layout::Profile;
    ///
    /// assert_eq!(Profile::from_code("GDW"), Some(Profile::Gdw));
    /// assert_eq!(Profile::from_code("XYZ"), None);
    /// ```
    pub fn from_code(code: &str) -> Option<Profile> {
        match code {
            "GDW" => Some(Profile::Gdw),
            "EXP" => Some(Profile::Exp),
            _ => None,
        }
    }

    /// The sub-file code.
    ///
    /// ```
    /// use carecodec_esr::layout::Profile;
    ///
    /// assert_eq!(Profile::Exp.code(), "EXP");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Profile::Gdw => "GDW",
            Profile::Exp => "EXP",
        }
    }
}

/// How a field's text is read and checked (docs/esr.md §5 legend).
///
/// ```
/// use carecodec_esr::layout::{layout, FieldType, Profile};
///
/// let pra = layout(Profile::Gdw, "01", "PRA").ok_or("no layout")?;
/// assert_eq!(pra.fields[0].ty, FieldType::Lit);
/// assert_eq!(pra.fields[14].ty, FieldType::Nino);
/// # Ok::<(), &str>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldType {
    /// The record code.
    Lit,
    /// An identifier: digits expected (a warning otherwise).
    Id,
    /// `YYYYMMDD`.
    Date,
    /// An end date: `YYYYMMDD`, or blank / `47121231` for open-ended.
    End,
    /// `YYYYMMDD HHMMSS`, or a bare `YYYYMMDD`.
    Ts,
    /// A decimal number.
    Dec,
    /// A decimal number ≥ 0.
    DecPos,
    /// A decimal number ≥ 0, normally ≤ 1 (FTE; a warning above 1).
    Dec01,
    /// A percentage 0–100.
    Pct,
    /// `Yes`/`No`/`Y`/`N`, any case.
    Yn,
    /// `HH:MM`.
    Hhmm,
    /// Oracle key-flexfield segments joined with `|`.
    Kff,
    /// Free descriptive-flexfield text (leading spaces kept).
    Flex,
    /// National Insurance number.
    Nino,
    /// Occupation code.
    Occ,
    /// Assignment number `digits[-digits]`.
    AsgNo,
    /// E-mail address.
    Email,
    /// Anything.
    Text,
    /// Must be empty (a warning otherwise: layout drift).
    Unused,
}

/// One field of a layout.
///
/// ```
/// use carecodec_esr::layout::{layout, FieldType, Profile};
///
/// let pra = layout(Profile::Gdw, "01", "PRA").ok_or("no layout")?;
/// let key = &pra.fields[pra.key];
/// assert_eq!((key.name, key.ty, key.required), ("Person ID", FieldType::Id, true));
/// # Ok::<(), &str>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldSpec {
    /// Field name, as the layout names it.
    pub name: &'static str,
    /// Its type.
    pub ty: FieldType,
    /// Whether an empty value rejects the row.
    pub required: bool,
}

impl FieldSpec {
    /// A field.
    ///
    /// ```
    /// use carecodec_esr::layout::{FieldSpec, FieldType};
    ///
    /// const NI: FieldSpec = FieldSpec::new("National Insurance Number", FieldType::Nino, false);
    /// assert_eq!(NI.ty, FieldType::Nino);
    /// assert!(!NI.required);
    /// ```
    pub const fn new(name: &'static str, ty: FieldType, required: bool) -> FieldSpec {
        FieldSpec { name, ty, required }
    }
}

/// The layout of one record code.
///
/// ```
/// use carecodec_esr::layout::{layout, Profile};
///
/// let pra = layout(Profile::Gdw, "01", "PRA").ok_or("no layout")?;
/// assert_eq!((pra.code, pra.entity), ("PRA", "person"));
/// assert_eq!(pra.fields[pra.key].name, "Person ID");
/// # Ok::<(), &str>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordLayout {
    /// The record code (`PRA`).
    pub code: &'static str,
    /// What the record describes (`person`).
    pub entity: &'static str,
    /// Index of the key field (the one a `…D` delete row carries).
    pub key: usize,
    /// Index of the effective start date, for date-tracked records.
    pub start: Option<usize>,
    /// The fields, record code first.
    pub fields: &'static [FieldSpec],
}

impl RecordLayout {
    /// A layout.
    ///
    /// ```
    /// use carecodec_esr::layout::{FieldSpec, FieldType, RecordLayout};
    ///
    /// const FIELDS: &[FieldSpec] = &[
    ///     FieldSpec::new("Record Type", FieldType::Lit, true),
    ///     FieldSpec::new("Site ID", FieldType::Id, true),
    /// ];
    /// const ZSA: RecordLayout = RecordLayout::new("ZSA", "site", 1, None, FIELDS);
    /// assert_eq!(ZSA.index_of("Site ID"), Some(1));
    /// ```
    pub const fn new(
        code: &'static str,
        entity: &'static str,
        key: usize,
        start: Option<usize>,
        fields: &'static [FieldSpec],
    ) -> RecordLayout {
        RecordLayout {
            code,
            entity,
            key,
            start,
            fields,
        }
    }

    /// The index of the field called `name`.
    ///
    /// ```
    /// use carecodec_esr::layout::{layout, Profile};
    ///
    /// let pra = layout(Profile::Gdw, "01", "PRA").ok_or("no layout")?;
    /// assert_eq!(pra.index_of("National Insurance Number"), Some(14));
    /// assert_eq!(pra.index_of("Shoe Size"), None);
    /// # Ok::<(), &str>(())
    /// ```
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

/// Every layout of `profile` at interface `version` (`01`).
///
/// ```
/// use carecodec_esr::layout::{layouts, Profile};
///
/// let gdw = layouts(Profile::Gdw, "01").ok_or("no layouts")?;
/// assert!(gdw.iter().any(|l| l.code == "POA"));
/// assert!(layouts(Profile::Gdw, "02").is_none());
/// # Ok::<(), &str>(())
/// ```
pub fn layouts(profile: Profile, version: &str) -> Option<&'static [RecordLayout]> {
    match (profile, version) {
        (Profile::Gdw, "01") => Some(tables::GDW_V01),
        (Profile::Exp, "01") => Some(tables::EXP_V01),
        _ => None,
    }
}

/// The layout of record `code` (an add/update code such as `PRA`).
///
/// ```
/// use carecodec_esr::layout::{layout, Profile};
///
/// assert_eq!(layout(Profile::Gdw, "01", "PRA").map(|l| l.entity), Some("person"));
/// assert!(layout(Profile::Gdw, "01", "PRD").is_none()); // a delete code: see deleted_layout
/// ```
pub fn layout(profile: Profile, version: &str, code: &str) -> Option<&'static RecordLayout> {
    let all = layouts(profile, version)?;
    all.binary_search_by(|l| l.code.cmp(code))
        .ok()
        .and_then(|i| all.get(i))
}

/// For a delete code (`PRD`), the layout of what it deletes (`PRA`).
///
/// ```
/// use carecodec_esr::layout::{deleted_layout, Profile};
///
/// assert_eq!(deleted_layout(Profile::Gdw, "01", "PRD").map(|l| l.code), Some("PRA"));
/// assert!(deleted_layout(Profile::Gdw, "01", "PRA").is_none());
/// ```
pub fn deleted_layout(
    profile: Profile,
    version: &str,
    code: &str,
) -> Option<&'static RecordLayout> {
    let stem = code.strip_suffix('D')?;
    if stem.len() != 2 {
        return None;
    }
    let all = layouts(profile, version)?;
    all.iter()
        .find(|l| l.code.starts_with(stem) && l.code.ends_with('A'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_consistent() {
        for p in [Profile::Gdw, Profile::Exp] {
            let all = layouts(p, "01").unwrap();
            assert!(all.windows(2).all(|w| w[0].code < w[1].code));
            for l in all {
                assert_eq!(l.fields[0].ty, FieldType::Lit, "{}", l.code);
                assert!(l.key < l.fields.len());
                assert!(l.fields[l.key].required, "{} key", l.code);
            }
        }
        assert_eq!(
            deleted_layout(Profile::Gdw, "01", "PRD").unwrap().code,
            "PRA"
        );
        assert_eq!(
            deleted_layout(Profile::Gdw, "01", "ETD").unwrap().code,
            "ETA"
        );
        assert!(deleted_layout(Profile::Gdw, "01", "ZZD").is_none());
    }
}
