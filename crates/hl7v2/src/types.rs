//! Typed views over the common HL7 v2 data types.
//!
//! Each view borrows a [`Value`] and names its components; a component that
//! is absent is `None`, one that is present but empty is `Some` with an empty
//! value, so the absent / empty / `""` distinction survives. Call
//! [`Value::decoded`] on a component for its text.
//!
//! | type | view | components named |
//! |---|---|---|
//! | TS / DTM | [`Timestamp`] | date and time with precision and offset (to chrono) |
//! | CX | [`Cx`] | id, check digit, scheme, assigning authority, type, facility |
//! | XPN | [`Xpn`] | family, given, middle, suffix, prefix, degree, type |
//! | XAD | [`Xad`] | street, other, city, state, postcode, country, type, county |
//! | XTN | [`Xtn`] | number, use, equipment, email, country/area/local |
//! | CWE / CE | [`Cwe`] | code, text, system and the alternate triple |
//! | HD | [`Hd`] | namespace, universal id, its type |
//! | XCN | [`Xcn`] | id, family, given, middle, suffix, prefix, authority, type |
//! | PL | [`Pl`] | point of care, room, bed, facility, status, building, floor |

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

use crate::error::{Error, ErrorKind, Result};
use crate::message::Value;

fn comp<'a>(v: &Value<'a>, n: u32) -> Option<Value<'a>> {
    v.component(n)
}

fn sub<'a>(v: &Value<'a>, c: u32, s: u32) -> Option<Value<'a>> {
    v.component(c)?.subcomponent(s)
}

macro_rules! view {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident = $n:expr),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $name<'a> {
            $($(#[$fdoc])* pub $field: Option<Value<'a>>,)*
        }

        impl<'a> $name<'a> {
            /// Reads the view from one repetition (or a field's first repetition).
            ///
            #[doc = concat!(
                "```\n",
                "use carecodec_hl7v2::{Message, types::", stringify!($name), "};\n",
                "\n",
                "let msg = Message::parse(b\"MSH|^~\\\\&\\rZZZ|1|A^B^C~D^E^F\\r\")?;\n",
                "let field = msg.get(\"ZZZ-2\")?.ok_or(\"absent\")?;\n",
                "let first = field.repetition(1).ok_or(\"no repetition 1\")?;\n",
                "let second = field.repetition(2).ok_or(\"no repetition 2\")?;\n",
                "// A field reads as its first repetition.\n",
                "assert_eq!(", stringify!($name), "::from_value(&field), ", stringify!($name), "::from_value(&first));\n",
                "assert_ne!(", stringify!($name), "::from_value(&field), ", stringify!($name), "::from_value(&second));\n",
                "# Ok::<(), Box<dyn std::error::Error>>(())\n",
                "```",
            )]
            pub fn from_value(v: &Value<'a>) -> $name<'a> {
                $name { $($field: comp(v, $n),)* }
            }
        }
    };
}

/// HD, hierarchic designator (an assigning authority or facility).
///
/// Read from a component's subcomponents (`CX-4`) or from a field (`MSH-4`).
///
/// ```
/// use carecodec_hl7v2::{Message, types::Hd};
///
/// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1^1.2.3^ISO\r").unwrap();
/// let hd = Hd::from_field(&msg.get("MSH-4").unwrap().unwrap());
/// assert_eq!(hd.universal_id.unwrap().raw(), b"1.2.3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hd<'a> {
    /// HD.1 namespace id.
    pub namespace_id: Option<Value<'a>>,
    /// HD.2 universal id.
    pub universal_id: Option<Value<'a>>,
    /// HD.3 universal id type.
    pub universal_id_type: Option<Value<'a>>,
}

impl<'a> Hd<'a> {
    /// Reads an HD held in a field's components.
    ///
    /// ```
    /// use carecodec_hl7v2::{types::Hd, Message};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|PAS|RX1^2.16.840.1^ISO\r")?;
    /// let hd = Hd::from_field(&msg.get("MSH-4")?.ok_or("absent")?);
    /// assert_eq!(hd.namespace_id.map(|v| v.raw()), Some(&b"RX1"[..]));
    /// assert_eq!(hd.universal_id_type.map(|v| v.raw()), Some(&b"ISO"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_field(v: &Value<'a>) -> Hd<'a> {
        Hd {
            namespace_id: comp(v, 1),
            universal_id: comp(v, 2),
            universal_id_type: comp(v, 3),
        }
    }

    /// Reads an HD held in component `c`'s subcomponents.
    ///
    /// ```
    /// use carecodec_hl7v2::{types::Hd, Message};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||123^^^RX1&2.16.840&ISO^MR\r")?;
    /// let hd = Hd::from_component(&msg.get("PID-3")?.ok_or("absent")?, 4);
    /// assert_eq!(hd.namespace_id.map(|v| v.raw()), Some(&b"RX1"[..]));
    /// assert_eq!(hd.universal_id.map(|v| v.raw()), Some(&b"2.16.840"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_component(v: &Value<'a>, c: u32) -> Hd<'a> {
        Hd {
            namespace_id: sub(v, c, 1),
            universal_id: sub(v, c, 2),
            universal_id_type: sub(v, c, 3),
        }
    }
}

/// CX, extended composite id with check digit (PID-3).
///
/// ```
/// use carecodec_hl7v2::{Message, types::Cx};
///
/// let msg = Message::parse(b"MSH|^~\\&\rPID|1||9434765919^^^NHS^NH~K123^^^RX1&2.16.840^MR\r").unwrap();
/// let ids = msg.get("PID-3").unwrap().unwrap();
/// let mrn = Cx::from_value(&ids.repetition(2).unwrap());
/// assert_eq!(mrn.id.unwrap().raw(), b"K123");
/// assert_eq!(mrn.assigning_authority.namespace_id.unwrap().raw(), b"RX1");
/// assert_eq!(mrn.identifier_type.unwrap().raw(), b"MR");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cx<'a> {
    /// CX.1 id number.
    pub id: Option<Value<'a>>,
    /// CX.2 check digit.
    pub check_digit: Option<Value<'a>>,
    /// CX.3 check digit scheme.
    pub check_digit_scheme: Option<Value<'a>>,
    /// CX.4 assigning authority.
    pub assigning_authority: Hd<'a>,
    /// CX.5 identifier type code (`NH`, `MR`, …).
    pub identifier_type: Option<Value<'a>>,
    /// CX.6 assigning facility.
    pub assigning_facility: Hd<'a>,
}

impl<'a> Cx<'a> {
    /// Reads a CX from one repetition.
    ///
    /// ```
    /// use carecodec_hl7v2::{types::Cx, Message};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||9434765919^^^NHS^NH\r")?;
    /// let cx = Cx::from_value(&msg.get("PID-3")?.ok_or("absent")?);
    /// assert_eq!(cx.id.map(|v| v.raw()), Some(&b"9434765919"[..]));
    /// assert_eq!(cx.identifier_type.map(|v| v.raw()), Some(&b"NH"[..]));
    /// assert!(cx.check_digit.is_some_and(|v| v.is_empty())); // present, empty
    /// assert!(cx.assigning_facility.namespace_id.is_none()); // absent
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_value(v: &Value<'a>) -> Cx<'a> {
        Cx {
            id: comp(v, 1),
            check_digit: comp(v, 2),
            check_digit_scheme: comp(v, 3),
            assigning_authority: Hd::from_component(v, 4),
            identifier_type: comp(v, 5),
            assigning_facility: Hd::from_component(v, 6),
        }
    }
}

view! {
    /// XPN, extended person name (PID-5). XPN.1 is a family name (FN) whose
    /// first subcomponent is the surname.
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, types::Xpn};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||1||SMITH&&Smyth^JOHN^P^JR^DR^^L\r").unwrap();
    /// let name = Xpn::from_value(&msg.get("PID-5").unwrap().unwrap());
    /// assert_eq!(name.family.unwrap().subcomponent(1).unwrap().raw(), b"SMITH");
    /// assert_eq!(name.given.unwrap().raw(), b"JOHN");
    /// assert_eq!(name.name_type.unwrap().raw(), b"L");
    /// ```
    Xpn {
        /// XPN.1 family name (FN: surname & own prefix & own surname…).
        family = 1,
        /// XPN.2 given name.
        given = 2,
        /// XPN.3 second and further given names or initials.
        middle = 3,
        /// XPN.4 suffix.
        suffix = 4,
        /// XPN.5 prefix (title).
        prefix = 5,
        /// XPN.6 degree.
        degree = 6,
        /// XPN.7 name type code (table 0200: `L` legal, `D` display…).
        name_type = 7,
    }
}

view! {
    /// XAD, extended address (PID-11).
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, types::Xad};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||1||X||||||1 High St^^Leeds^^LS1 1AA^GBR^H\r").unwrap();
    /// let a = Xad::from_value(&msg.get("PID-11").unwrap().unwrap());
    /// assert_eq!(a.postcode.unwrap().raw(), b"LS1 1AA");
    /// ```
    Xad {
        /// XAD.1 street address (SAD).
        street = 1,
        /// XAD.2 other designation.
        other = 2,
        /// XAD.3 city.
        city = 3,
        /// XAD.4 state or province (county in NHS use).
        state = 4,
        /// XAD.5 zip or postal code.
        postcode = 5,
        /// XAD.6 country.
        country = 6,
        /// XAD.7 address type (table 0190: `H` home…).
        address_type = 7,
        /// XAD.8 other geographic designation.
        other_geographic = 8,
        /// XAD.9 county/parish code.
        county = 9,
    }
}

view! {
    /// XTN, extended telecommunication number (PID-13).
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, types::Xtn};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPID|1||||||||||||01132 123456^PRN^PH~^NET^Internet^a@b.nhs.uk\r").unwrap();
    /// let f = msg.get("PID-13").unwrap().unwrap();
    /// let email = Xtn::from_value(&f.repetition(2).unwrap());
    /// assert_eq!(email.email.unwrap().raw(), b"a@b.nhs.uk");
    /// ```
    Xtn {
        /// XTN.1 telephone number (as formatted text; deprecated in v2.6+).
        number = 1,
        /// XTN.2 use code (table 0201: `PRN`, `WPN`, `NET`…).
        use_code = 2,
        /// XTN.3 equipment type (table 0202: `PH`, `CP`, `Internet`…).
        equipment = 3,
        /// XTN.4 email address.
        email = 4,
        /// XTN.5 country code.
        country_code = 5,
        /// XTN.6 area/city code.
        area_code = 6,
        /// XTN.7 local number.
        local_number = 7,
        /// XTN.8 extension.
        extension = 8,
    }
}

view! {
    /// CWE / CE, coded element (OBX-3, AL1-3, DG1-3…).
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, types::Cwe};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rOBX|1|NM|8867-4^Heart rate^LN\r").unwrap();
    /// let c = Cwe::from_value(&msg.get("OBX-3").unwrap().unwrap());
    /// assert_eq!(c.code.unwrap().raw(), b"8867-4");
    /// assert_eq!(c.system.unwrap().raw(), b"LN");
    /// ```
    Cwe {
        /// CWE.1 identifier (code).
        code = 1,
        /// CWE.2 text.
        text = 2,
        /// CWE.3 name of coding system.
        system = 3,
        /// CWE.4 alternate identifier.
        alt_code = 4,
        /// CWE.5 alternate text.
        alt_text = 5,
        /// CWE.6 name of alternate coding system.
        alt_system = 6,
        /// CWE.7 coding system version.
        system_version = 7,
        /// CWE.9 original text.
        original_text = 9,
    }
}

/// XCN, extended composite id and name for persons (PV1-7, OBR-16).
///
/// ```
/// use carecodec_hl7v2::{Message, types::Xcn};
///
/// let msg = Message::parse(b"MSH|^~\\&\rPV1|1|I||||||C1234567^JONES^ANN^^^DR^^^GMC\r").unwrap();
/// let doc = Xcn::from_value(&msg.get("PV1-8").unwrap().unwrap());
/// assert_eq!(doc.id.unwrap().raw(), b"C1234567");
/// assert_eq!(doc.family.unwrap().raw(), b"JONES");
/// assert_eq!(doc.assigning_authority.namespace_id.unwrap().raw(), b"GMC");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Xcn<'a> {
    /// XCN.1 id number.
    pub id: Option<Value<'a>>,
    /// XCN.2 family name.
    pub family: Option<Value<'a>>,
    /// XCN.3 given name.
    pub given: Option<Value<'a>>,
    /// XCN.4 middle names or initials.
    pub middle: Option<Value<'a>>,
    /// XCN.5 suffix.
    pub suffix: Option<Value<'a>>,
    /// XCN.6 prefix.
    pub prefix: Option<Value<'a>>,
    /// XCN.7 degree.
    pub degree: Option<Value<'a>>,
    /// XCN.9 assigning authority.
    pub assigning_authority: Hd<'a>,
    /// XCN.10 name type code.
    pub name_type: Option<Value<'a>>,
    /// XCN.13 identifier type code.
    pub identifier_type: Option<Value<'a>>,
}

impl<'a> Xcn<'a> {
    /// Reads an XCN from one repetition.
    ///
    /// ```
    /// use carecodec_hl7v2::{types::Xcn, Message};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPV1|1|I|||||G1234567^BROWN^AMY\r")?;
    /// let who = Xcn::from_value(&msg.get("PV1-7")?.ok_or("absent")?);
    /// assert_eq!(who.id.map(|v| v.raw()), Some(&b"G1234567"[..]));
    /// assert_eq!(who.given.map(|v| v.raw()), Some(&b"AMY"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_value(v: &Value<'a>) -> Xcn<'a> {
        Xcn {
            id: comp(v, 1),
            family: comp(v, 2),
            given: comp(v, 3),
            middle: comp(v, 4),
            suffix: comp(v, 5),
            prefix: comp(v, 6),
            degree: comp(v, 7),
            assigning_authority: Hd::from_component(v, 9),
            name_type: comp(v, 10),
            identifier_type: comp(v, 13),
        }
    }
}

view! {
    /// PL, person location (PV1-3).
    ///
    /// ```
    /// use carecodec_hl7v2::{Message, types::Pl};
    ///
    /// let msg = Message::parse(b"MSH|^~\\&\rPV1|1|I|WARD1^BAY2^BED3^RX1\r").unwrap();
    /// let loc = Pl::from_value(&msg.get("PV1-3").unwrap().unwrap());
    /// assert_eq!(loc.bed.unwrap().raw(), b"BED3");
    /// ```
    Pl {
        /// PL.1 point of care (ward).
        point_of_care = 1,
        /// PL.2 room.
        room = 2,
        /// PL.3 bed.
        bed = 3,
        /// PL.4 facility (HD; subcomponents).
        facility = 4,
        /// PL.5 location status.
        status = 5,
        /// PL.6 person location type.
        location_type = 6,
        /// PL.7 building.
        building = 7,
        /// PL.8 floor.
        floor = 8,
        /// PL.9 location description.
        description = 9,
    }
}

/// How much of a TS/DTM value was sent.
///
/// ```
/// use carecodec_hl7v2::types::{Precision, Timestamp};
///
/// assert_eq!(Timestamp::parse(b"2024")?.precision, Precision::Year);
/// assert_eq!(Timestamp::parse(b"20240102")?.precision, Precision::Day);
/// assert_eq!(Timestamp::parse(b"202401021230")?.precision, Precision::Minute);
/// assert!(Precision::Day < Precision::Second);
/// # Ok::<(), carecodec_hl7v2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Precision {
    /// `YYYY`
    Year,
    /// `YYYYMM`
    Month,
    /// `YYYYMMDD`
    Day,
    /// `YYYYMMDDHH`
    Hour,
    /// `YYYYMMDDHHMM`
    Minute,
    /// `YYYYMMDDHHMMSS`
    Second,
    /// `YYYYMMDDHHMMSS.S` to `.SSSS`
    Fraction,
}

/// A TS/DTM value: `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`, with its
/// precision and optional UTC offset kept.
///
/// ```
/// use carecodec_hl7v2::types::{Precision, Timestamp};
///
/// let t = Timestamp::parse(b"20240102123045.12+0100").unwrap();
/// assert_eq!(t.precision, Precision::Fraction);
/// assert_eq!(t.offset.unwrap().local_minus_utc(), 3600);
/// assert_eq!(t.to_datetime().unwrap().to_rfc3339(), "2024-01-02T12:30:45.120+01:00");
/// let d = Timestamp::parse(b"197001").unwrap();
/// assert_eq!(d.precision, Precision::Month);
/// assert_eq!(d.date().to_string(), "1970-01-01");
/// assert!(Timestamp::parse(b"20241301").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Timestamp {
    /// The date and time, missing parts set to their first value.
    pub local: NaiveDateTime,
    /// How much was sent.
    pub precision: Precision,
    /// The offset, when one was sent.
    pub offset: Option<FixedOffset>,
}

#[cold]
fn ts_err(reason: &'static str) -> Error {
    Error::new(
        ErrorKind::InvalidValue {
            datatype: "DTM",
            reason,
        },
        0,
        0,
    )
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
}

impl Timestamp {
    /// Parses TS/DTM text. For TS, pass component 1 (`TS.1`); a value's
    /// [`Timestamp::from_value`] does that.
    ///
    /// ```
    /// use carecodec_hl7v2::types::{Precision, Timestamp};
    ///
    /// let t = Timestamp::parse(b"202401021230-0500")?;
    /// assert_eq!(t.precision, Precision::Minute);
    /// assert_eq!(t.local.to_string(), "2024-01-02 12:30:00");
    /// assert_eq!(t.offset.map(|o| o.local_minus_utc()), Some(-5 * 3600));
    /// assert!(Timestamp::parse(b"2024010").is_err()); // odd length
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn parse(s: &[u8]) -> Result<Timestamp> {
        let s = s.trim_ascii();
        let (main, offset) = match s.iter().position(|&b| b == b'+' || b == b'-') {
            Some(p) => (
                s.get(..p).unwrap_or_default(),
                Some(s.get(p..).unwrap_or_default()),
            ),
            None => (s, None),
        };
        let offset = match offset {
            None => None,
            Some([sign, rest @ ..]) if rest.len() == 4 => {
                let hh = digits(rest.get(..2).unwrap_or_default())
                    .ok_or_else(|| ts_err("bad offset"))?;
                let mm = digits(rest.get(2..).unwrap_or_default())
                    .ok_or_else(|| ts_err("bad offset"))?;
                let secs = (hh * 3600 + mm * 60) as i32;
                let secs = if *sign == b'-' { -secs } else { secs };
                Some(FixedOffset::east_opt(secs).ok_or_else(|| ts_err("offset out of range"))?)
            }
            Some(_) => return Err(ts_err("an offset is +HHMM or -HHMM")),
        };
        let (whole, frac) = match main.iter().position(|&b| b == b'.') {
            Some(p) => (
                main.get(..p).unwrap_or_default(),
                Some(main.get(p + 1..).unwrap_or_default()),
            ),
            None => (main, None),
        };
        let part = |a: usize, b: usize| whole.get(a..b).and_then(digits);
        let precision = match whole.len() {
            4 => Precision::Year,
            6 => Precision::Month,
            8 => Precision::Day,
            10 => Precision::Hour,
            12 => Precision::Minute,
            14 if frac.is_some() => Precision::Fraction,
            14 => Precision::Second,
            _ => return Err(ts_err("expected YYYY[MM[DD[HH[MM[SS]]]]]")),
        };
        if frac.is_some() && whole.len() != 14 {
            return Err(ts_err("fractions need seconds"));
        }
        let year = part(0, 4).ok_or_else(|| ts_err("bad year"))? as i32;
        let month = if whole.len() >= 6 {
            part(4, 6).ok_or_else(|| ts_err("bad month"))?
        } else {
            1
        };
        let day = if whole.len() >= 8 {
            part(6, 8).ok_or_else(|| ts_err("bad day"))?
        } else {
            1
        };
        let hour = if whole.len() >= 10 {
            part(8, 10).ok_or_else(|| ts_err("bad hour"))?
        } else {
            0
        };
        let minute = if whole.len() >= 12 {
            part(10, 12).ok_or_else(|| ts_err("bad minute"))?
        } else {
            0
        };
        let second = if whole.len() >= 14 {
            part(12, 14).ok_or_else(|| ts_err("bad second"))?
        } else {
            0
        };
        let nanos = match frac {
            None => 0,
            Some(f) if (1..=4).contains(&f.len()) => {
                let n = digits(f).ok_or_else(|| ts_err("bad fraction"))?;
                n * 10u32.pow(9 - f.len() as u32)
            }
            Some(_) => return Err(ts_err("a fraction has one to four digits")),
        };
        let date =
            NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| ts_err("no such date"))?;
        let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
            .ok_or_else(|| ts_err("no such time"))?;
        Ok(Timestamp {
            local: NaiveDateTime::new(date, time),
            precision,
            offset,
        })
    }

    /// Reads a TS (component 1) or DTM value. Errors carry the value's offset.
    ///
    /// ```
    /// use carecodec_hl7v2::types::{Precision, Timestamp};
    /// use carecodec_hl7v2::Message;
    ///
    /// let msg = Message::parse(b"MSH|^~\\&|A|B|C|D|20240102123000^S\r")?;
    /// let ts = Timestamp::from_value(&msg.get("MSH-7")?.ok_or("absent")?)?; // reads TS.1
    /// assert_eq!(ts.precision, Precision::Second);
    /// assert_eq!(ts.date().to_string(), "2024-01-02");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_value(v: &Value<'_>) -> Result<Timestamp> {
        let raw = v.component(1).map_or(v.raw(), |c| c.raw());
        Timestamp::parse(raw).map_err(|e| Error::new(e.kind().clone(), v.offset(), v.line()))
    }

    /// The date part.
    ///
    /// ```
    /// use carecodec_hl7v2::types::Timestamp;
    ///
    /// assert_eq!(Timestamp::parse(b"19700101083000")?.date().to_string(), "1970-01-01");
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn date(&self) -> NaiveDate {
        self.local.date()
    }

    /// The instant, when an offset was sent. Apply a zone rule of your own to
    /// values sent without one; this crate never assumes the host's zone.
    ///
    /// ```
    /// use carecodec_hl7v2::types::Timestamp;
    ///
    /// let t = Timestamp::parse(b"20240102123000+0000")?;
    /// assert_eq!(t.to_datetime().map(|d| d.to_rfc3339()).as_deref(), Some("2024-01-02T12:30:00+00:00"));
    /// assert_eq!(Timestamp::parse(b"20240102123000")?.to_datetime(), None); // no offset sent
    /// # Ok::<(), carecodec_hl7v2::Error>(())
    /// ```
    pub fn to_datetime(&self) -> Option<DateTime<FixedOffset>> {
        let off = self.offset?;
        self.local.and_local_timezone(off).single()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(
            Timestamp::parse(b"2024").unwrap().precision,
            Precision::Year
        );
        assert_eq!(
            Timestamp::parse(b"202401021230").unwrap().precision,
            Precision::Minute
        );
        assert_eq!(
            Timestamp::parse(b"20240102-0500")
                .unwrap()
                .offset
                .unwrap()
                .local_minus_utc(),
            -18000
        );
        for bad in [
            &b""[..],
            b"20",
            b"2024010",
            b"20240230",
            b"20240102126000",
            b"2024+01",
            b"20240102.5",
            b"2024010212304.1",
            b"abcd",
            b"20240102123045.12345",
        ] {
            assert!(
                Timestamp::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
