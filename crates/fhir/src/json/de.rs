//! Reading helpers shared by the generated readers.
//!
//! The generated code is a `match` on each member name that calls one of these small
//! functions; keeping the logic here keeps the generated code (and compile time) small.
//!
//! Everything one read needs to know or collect (strict or lenient, the issues found, the kind
//! of the last error, nesting depths) is in a [`Cx`] that the read creates and lends to every
//! function and seed below: serde's `Deserialize` has no context argument, so the model types
//! are read through [`DeserializeSeed`]s carrying it ([`Seed`]), not through their
//! `Deserialize` impls. Nothing is kept between calls or shared by two reads.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::error::{ErrorKind, Issue};
use crate::model::Resource;
use crate::primitive::{Decimal, Primitive, PrimitiveExt, has_control_char, is_json_number};

/// How many resources whose `resourceType` is not their first member may nest
/// inside one another (each is re-read from its buffered members).
const MAX_REORDER_DEPTH: u8 = 4;

/// How deeply resources may nest (`Bundle.entry.resource`, `contained`, `Parameters`):
/// bounds the stack a hostile document can make the reader use.
///
/// ```
/// use carecodec_fhir::json::{self, ErrorKind, MAX_RESOURCE_DEPTH};
/// use carecodec_fhir::Resource;
///
/// let nest = |n: usize| {
///     let mut s = String::new();
///     for _ in 0..n { s.push_str(r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":"#); }
///     s.push_str(r#"{"resourceType":"Patient"}"#);
///     for _ in 0..n { s.push_str("}]}"); }
///     s
/// };
/// assert!(json::from_str::<Resource>(&nest(usize::from(MAX_RESOURCE_DEPTH) - 1)).is_ok());
/// let err = json::from_str::<Resource>(&nest(usize::from(MAX_RESOURCE_DEPTH) + 1)).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::DepthLimit);
/// ```
pub const MAX_RESOURCE_DEPTH: u8 = 16;

/// The state of one read: its mode, and what it collects on the way. Created by each read
/// ([`super::from_slice`], [`super::from_slice_lenient`], or a model type's `Deserialize`
/// impl) and lent down the whole read; dropped with it.
///
/// (`pub` only because the sealed [`ReadJson`] names it; this module is private.)
#[derive(Debug)]
pub struct Cx {
    /// Lenient mode: problems are recorded as issues instead of errors.
    lenient: bool,
    /// Set when [`super::from_slice`] (or the lenient one) reads JSON text with serde_json:
    /// a string it lends unchanged (borrowed: it had no escapes) then holds no control
    /// character, because serde_json refuses them raw in a string (see [`Checked`]).
    from_text: bool,
    /// The kind of the last error raised (taken once by the caller).
    kind: Cell<Option<ErrorKind>>,
    /// How many [`reorder`] re-reads enclose the current point.
    reorder_depth: Cell<u8>,
    /// How many resources enclose the current point.
    resource_depth: Cell<u8>,
    /// The lenient reader's issues, in the order found.
    issues: RefCell<Vec<Issue>>,
    /// Where an error inside a re-read (reordered) resource really is: the address of the
    /// byte in the text that level was read from (see [`reorder`]).
    position: Cell<Option<usize>>,
    /// How many repeating primitives read so far hold an entry with neither a value nor an
    /// extension (a `null` not yet paired with its twin array's entry): see
    /// [`Cx::note_unpaired`].
    unpaired: Cell<usize>,
}

impl Cx {
    /// For reading JSON text (a slice) with serde_json, `lenient` or not.
    pub(crate) fn from_text(lenient: bool) -> Self {
        Self::new(lenient, true)
    }

    /// For a model type's `Deserialize` impl: strict, reading from any deserializer (so
    /// every string is checked for control characters).
    fn detached() -> Self {
        Self::new(false, false)
    }

    fn new(lenient: bool, from_text: bool) -> Self {
        Self {
            lenient,
            from_text,
            kind: Cell::new(None),
            reorder_depth: Cell::new(0),
            resource_depth: Cell::new(0),
            issues: RefCell::new(Vec::new()),
            position: Cell::new(None),
            unpaired: Cell::new(0),
        }
    }

    /// Whether a repeating primitive read so far still holds an entry with neither a value
    /// nor an extension (`"given": [null]` with no `_given`, or `null` at the same index of
    /// both): the caller then finds and reports it in the text (`super::pairs`). Taken once.
    pub(crate) fn take_unpaired(&self) -> bool {
        self.unpaired.take() > 0
    }

    /// Counts the repeating primitive `slot` as unpaired when it holds an entry with neither
    /// half now, and no longer when it did `before` its twin array was merged in and does not
    /// now.
    fn note_unpaired<T>(&self, before: bool, slot: &[Primitive<T>]) {
        let now = slot.iter().any(|p| p.value.is_none() && p.ext.is_none());
        if now && !before {
            self.unpaired.set(self.unpaired.get() + 1);
        } else if before && !now {
            self.unpaired.set(self.unpaired.get().saturating_sub(1));
        }
    }

    /// The issues recorded so far (lenient mode), taken.
    pub(crate) fn take_issues(&self) -> Vec<Issue> {
        self.issues.take()
    }

    /// The kind recorded by the last custom error raised in this read (taken once).
    pub(crate) fn take_kind(&self) -> Option<ErrorKind> {
        self.kind.take()
    }

    /// The offset in `text` of the error `e` raised while reading `text`: the position a
    /// nested [`reorder`] recorded (taken once) when it points into `text`, else serde_json's
    /// line and column.
    pub(crate) fn error_offset(&self, text: &[u8], e: &serde_json::Error) -> usize {
        let base = text.as_ptr() as usize;
        match self.position.take() {
            Some(addr) if addr >= base && addr <= base + text.len() => addr - base,
            _ => super::path::offset_of(text, e.line(), e.column()),
        }
    }

    /// Records `kind` as the kind of the error about to be raised, and makes it.
    #[cold]
    fn error<E: de::Error>(&self, kind: ErrorKind, message: fmt::Arguments<'_>) -> E {
        self.kind.set(Some(kind));
        E::custom(message)
    }

    /// In lenient mode records an issue and returns `Ok`; in strict mode returns the error.
    #[cold]
    fn problem<E: de::Error>(
        &self,
        kind: ErrorKind,
        path: &str,
        name: &str,
        message: fmt::Arguments<'_>,
    ) -> Result<(), E> {
        self.problem_at(kind, path, name, message, None)
    }

    /// [`Cx::problem`], with the address of the value concerned in the text being read, when
    /// known (turned into the issue's offset, line, column and instance path by the caller).
    #[cold]
    fn problem_at<E: de::Error>(
        &self,
        kind: ErrorKind,
        path: &str,
        name: &str,
        message: fmt::Arguments<'_>,
        address: Option<usize>,
    ) -> Result<(), E> {
        if self.lenient {
            let path = if name.is_empty() {
                path.to_string()
            } else {
                format!("{path}.{name}")
            };
            let issue = Issue {
                kind,
                path,
                message: message.to_string(),
                offset: address,
                line: 0,
                column: 0,
                location: String::new(),
            };
            self.issues.borrow_mut().push(issue);
            Ok(())
        } else {
            Err(self.error(kind, message))
        }
    }
}

/// A type the crate's readers read with a [`Cx`]: the bound of [`super::FromJson`] (sealed:
/// this module is private).
pub trait ReadJson: Sized {
    /// Reads a `Self` from `d` within the read `cx`.
    fn read_json<'de, D: Deserializer<'de>>(d: D, cx: &Cx) -> Result<Self, D::Error>;
}

impl<T: DeFields> ReadJson for T {
    fn read_json<'de, D: Deserializer<'de>>(d: D, cx: &Cx) -> Result<Self, D::Error> {
        Seed::<T>::new(cx).deserialize(d)
    }
}

/// Plain JSON, read by serde_json (with this module's errors and positions).
impl ReadJson for serde_json::Value {
    fn read_json<'de, D: Deserializer<'de>>(d: D, _: &Cx) -> Result<Self, D::Error> {
        Self::deserialize(d)
    }
}

/// A JSON object read member by member: every generated struct, [`PrimitiveExt`] and
/// [`Resource`].
pub(crate) trait DeFields: Sized {
    /// What a value of another JSON type is reported as instead (`a Patient object`).
    const EXPECTING: &'static str;
    /// Reads the members of the object `map`.
    fn de_fields<'de, A: MapAccess<'de>>(map: &mut A, cx: &Cx) -> Result<Self, A::Error>;
}

impl<T: DeFields> DeFields for Box<T> {
    const EXPECTING: &'static str = T::EXPECTING;
    fn de_fields<'de, A: MapAccess<'de>>(map: &mut A, cx: &Cx) -> Result<Self, A::Error> {
        T::de_fields(map, cx).map(Box::new)
    }
}

/// Reads a `T` (a JSON object) within the read `.0`.
pub(crate) struct Seed<'c, T>(&'c Cx, PhantomData<fn() -> T>);

impl<'c, T> Seed<'c, T> {
    pub(crate) fn new(cx: &'c Cx) -> Self {
        Self(cx, PhantomData)
    }
}

impl<T> Clone for Seed<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Seed<'_, T> {}

impl<'de, T: DeFields> DeserializeSeed<'de> for Seed<'_, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeFields> Visitor<'de> for Seed<'_, T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        T::de_fields(&mut map, self.0)
    }
}

/// Reads a `T` outside any of the crate's readers (a model type's `Deserialize` impl): strict,
/// with a [`Cx`] of its own.
pub(crate) fn deserialize_detached<'de, T: DeFields, D: Deserializer<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Seed::<T>::new(&Cx::detached()).deserialize(d)
}

/// A member name, borrowed from the input when it has no escapes.
pub(crate) struct Key<'de>(Cow<'de, str>);

impl Key<'_> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Implements, for a generated struct, [`DeFields`] through its `de_fields` and
/// `serde::Deserialize` (strict, with a [`Cx`] of its own).
macro_rules! impl_de {
    ($t:ident) => {
        impl de::DeFields for $t {
            const EXPECTING: &'static str = concat!("a ", stringify!($t), " object");
            #[inline]
            fn de_fields<'de, A: ::serde::de::MapAccess<'de>>(
                map: &mut A,
                cx: &de::Cx,
            ) -> Result<Self, A::Error> {
                $t::de_fields(map, cx)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $t {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                de::deserialize_detached(d)
            }
        }
    };
}
pub(crate) use impl_de;

#[cold]
fn duplicate<E: de::Error>(cx: &Cx, k: &str) -> E {
    cx.error(
        ErrorKind::DuplicateElement,
        format_args!("duplicate element `{k}`"),
    )
}

/// Reads a primitive's value into `slot` (a string-like value is checked as it is read:
/// see [`PrimValue`]).
pub(crate) fn prim<'de, A: MapAccess<'de>, T: PrimValue<'de>>(
    map: &mut A,
    cx: &Cx,
    slot: &mut Option<Primitive<T>>,
    k: &str,
) -> Result<(), A::Error> {
    let v: T = value(map, cx, k)?;
    match slot {
        None => *slot = Some(Primitive::new(v)),
        Some(p) => set_value::<A::Error, T>(cx, p, v, k)?,
    }
    Ok(())
}

/// Reads the value of member `k`, a primitive's value (also a choice's), checking a
/// string-like one as it is read (see [`PrimValue`]).
pub(crate) fn value<'de, A: MapAccess<'de>, T: PrimValue<'de>>(
    map: &mut A,
    cx: &Cx,
    k: &str,
) -> Result<T, A::Error> {
    map.next_value_seed(ValueSeed::<T>::new(cx, k))
}

/// The lexical form a primitive is checked against as it is read: the regex or range R4
/// gives its type where that is more than its JSON type says (`code`, `id`, `uri` / `url` /
/// `canonical`, `oid`, `uuid`, `string` / `markdown`, `positiveInt`, `unsignedInt`); control
/// characters are excluded in every string-like one (see [`check_text`]), and none may be empty
/// (see [`empty_string`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// Any other string-like type (dates, `base64Binary`, `xhtml`…): no control characters but
    /// tab, CR and LF.
    Text,
    /// `string` and `markdown`: as `Text`, and at most 1,048,576 characters ("strings SHALL
    /// NOT exceed 1MB (1024*1024 characters) in size").
    String,
    /// `[^\s]+(\s[^\s]+)*`: see [`check_code`].
    Code,
    /// `[A-Za-z0-9\-\.]{1,64}`.
    Id,
    /// `uri`, `url` and `canonical`: `\S*`, no space, tab, line break, VT or FF (nor other C0
    /// controls).
    Uri,
    /// `urn:oid:[0-2](\.(0|[1-9][0-9]*))+`.
    Oid,
    /// `urn:uuid:` and a lower-case UUID.
    Uuid,
    /// `positiveInt`: 1 to 2,147,483,647.
    PositiveInt,
    /// `unsignedInt`: 0 to 2,147,483,647.
    UnsignedInt,
    /// `xhtml` (`Narrative.div`): as `Text`, and one well-formed XHTML `div` in the XHTML
    /// namespace (see [`check_xhtml`]).
    Xhtml,
}

/// The most characters an R4 `string` (or `markdown`) may hold.
const MAX_STRING_CHARS: usize = 1024 * 1024;

/// A primitive's value type read with its lexical [`Form`] checked.
pub(crate) trait Formed<'de>: Sized {
    /// Reads the value of member `k` from `d`, checked against `form`.
    fn read_formed<D: Deserializer<'de>>(
        d: D,
        cx: &Cx,
        k: &str,
        form: Form,
    ) -> Result<Self, D::Error>;
}

impl<'de> Formed<'de> for String {
    fn read_formed<D: Deserializer<'de>>(
        d: D,
        cx: &Cx,
        k: &str,
        form: Form,
    ) -> Result<Self, D::Error> {
        Checked { cx, k, form }.deserialize(d)
    }
}

impl<'de> Formed<'de> for u32 {
    fn read_formed<D: Deserializer<'de>>(
        d: D,
        cx: &Cx,
        k: &str,
        form: Form,
    ) -> Result<Self, D::Error> {
        d.deserialize_u32(Ranged { cx, k, form })
    }
}

/// How an error about a JSON number that is not in R4's integer form begins: the caller
/// ([`super::from_slice`]) puts the number as written in its place (serde_json hands the
/// visitor only the float it makes of it: `100.0` for `1e2`).
pub(crate) const THIS_NUMBER: &str = "this number";

/// A JSON number with a fraction or an exponent (or `-0`, which serde_json reads as the float
/// `-0.0`), for an `integer`, `positiveInt` or `unsignedInt` (`what`) of member `k`: refused
/// in the visitor, so that the error is placed at the number.
#[cold]
fn not_integer<E: de::Error>(cx: &Cx, k: &str, what: &str) -> E {
    cx.error(
        ErrorKind::InvalidValue,
        format_args!(
            "{THIS_NUMBER} is not {what} (`{k}`): R4 integers are written -?(0|[1-9][0-9]*), with no fraction or exponent (and zero as 0)"
        ),
    )
}

/// Reads an `integer` of member `k` as an `i32`, refusing other number forms at the number.
struct Int32<'k> {
    cx: &'k Cx,
    k: &'k str,
}

impl Visitor<'_> for Int32<'_> {
    type Value = i32;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i32, E> {
        i32::try_from(v).map_err(|_| {
            self.cx.error(
                ErrorKind::InvalidValue,
                format_args!(
                    "{v} is not an integer (-2147483648 to 2147483647) (`{}`)",
                    self.k
                ),
            )
        })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i32, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<i32, E> {
        Err(not_integer(self.cx, self.k, "an integer"))
    }
}

/// Reads a `positiveInt` or `unsignedInt` of member `k`, checking its range in the visitor, so
/// that serde_json places an error at the number.
struct Ranged<'k> {
    cx: &'k Cx,
    k: &'k str,
    form: Form,
}

impl Visitor<'_> for Ranged<'_> {
    type Value = u32;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
        let min = u64::from(self.form == Form::PositiveInt);
        match u32::try_from(v) {
            Ok(n) if (min..=i32::MAX.unsigned_abs().into()).contains(&v) => Ok(n),
            _ => {
                let what = if self.form == Form::PositiveInt {
                    "a positiveInt (1 to 2147483647)"
                } else {
                    "an unsignedInt (0 to 2147483647)"
                };
                let k = self.k;
                self.cx
                    .problem(
                        ErrorKind::InvalidValue,
                        k,
                        "",
                        format_args!("{v} is not {what} (`{k}`)"),
                    )
                    // Lenient: the issue is recorded and the value kept as far as it fits.
                    .map(|()| u32::try_from(v).unwrap_or(u32::MAX))
            }
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
        }
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<u32, E> {
        let what = if self.form == Form::PositiveInt {
            "a positiveInt"
        } else {
            "an unsignedInt"
        };
        Err(not_integer(self.cx, self.k, what))
    }
}

/// What [`formed_value`] reads: a value of member `.k` checked against `.form`.
struct FormSeed<'k, T> {
    cx: &'k Cx,
    k: &'k str,
    form: Form,
    value: PhantomData<fn() -> T>,
}

impl<T> Clone for FormSeed<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for FormSeed<'_, T> {}

impl<'de, T: Formed<'de>> DeserializeSeed<'de> for FormSeed<'_, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::read_formed(d, self.cx, self.k, self.form)
    }
}

/// Reads a primitive of lexical form `form` into `slot`, checking it as it is read.
pub(crate) fn formed<'de, A: MapAccess<'de>, T: Formed<'de>>(
    map: &mut A,
    cx: &Cx,
    slot: &mut Option<Primitive<T>>,
    k: &str,
    form: Form,
) -> Result<(), A::Error> {
    let v = formed_value(map, cx, k, form)?;
    match slot {
        None => *slot = Some(Primitive::new(v)),
        Some(p) => set_value::<A::Error, T>(cx, p, v, k)?,
    }
    Ok(())
}

/// Reads the value of member `k`, of lexical form `form`, checking it as it is read: the
/// reader then places an error at the value itself (checked after the member, an error would
/// be placed wherever the reader stopped, after the enclosing object if the value came last).
pub(crate) fn formed_value<'de, A: MapAccess<'de>, T: Formed<'de>>(
    map: &mut A,
    cx: &Cx,
    k: &str,
    form: Form,
) -> Result<T, A::Error> {
    map.next_value_seed(FormSeed {
        cx,
        k,
        form,
        value: PhantomData,
    })
}

/// A primitive's value type as the reader takes it from JSON. A string-like value (`String`:
/// string, uri, id, markdown, dateTime, …) is checked by [`check_text`] as it is read, so
/// that an error carries the value's own line, column and path; the others are read as serde
/// reads them (their JSON type is their check; a decimal checks its literal).
pub(crate) trait PrimValue<'de>: Sized {
    /// Reads the value of member `k` from `d`.
    fn read<D: Deserializer<'de>>(d: D, cx: &Cx, k: &str) -> Result<Self, D::Error>;
}

impl<'de> PrimValue<'de> for String {
    fn read<D: Deserializer<'de>>(d: D, cx: &Cx, k: &str) -> Result<Self, D::Error> {
        // `div` is R4's one `xhtml` element (`Narrative.div`).
        let form = if k == "div" { Form::Xhtml } else { Form::Text };
        Checked { cx, k, form }.deserialize(d)
    }
}

/// [`PrimValue`] for the types whose serde reading is their whole check.
macro_rules! prim_value_as_serde {
    ($($t:ty),*) => {$(
        impl<'de> PrimValue<'de> for $t {
            fn read<D: Deserializer<'de>>(d: D, _: &Cx, _: &str) -> Result<Self, D::Error> {
                <$t>::deserialize(d)
            }
        }
    )*};
}
prim_value_as_serde!(bool, u32);

impl<'de> PrimValue<'de> for i32 {
    fn read<D: Deserializer<'de>>(d: D, cx: &Cx, k: &str) -> Result<Self, D::Error> {
        d.deserialize_i32(Int32 { cx, k })
    }
}

/// A decimal checks its literal (a JSON number).
impl<'de> PrimValue<'de> for Decimal {
    fn read<D: Deserializer<'de>>(d: D, cx: &Cx, _: &str) -> Result<Self, D::Error> {
        read_decimal(d, cx)
    }
}

/// The seed that reads a [`PrimValue`] of member `k`.
struct ValueSeed<'k, T>(&'k Cx, &'k str, PhantomData<fn() -> T>);

impl<'k, T> ValueSeed<'k, T> {
    fn new(cx: &'k Cx, k: &'k str) -> Self {
        Self(cx, k, PhantomData)
    }
}

impl<T> Clone for ValueSeed<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ValueSeed<'_, T> {}

impl<'de, T: PrimValue<'de>> DeserializeSeed<'de> for ValueSeed<'_, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::read(d, self.0, self.1)
    }
}

/// A string of member `k`, checked as it is read against its lexical [`Form`], under member
/// name `.0`.
///
/// The valid path is kept fast: a string serde_json lends from the JSON text being read
/// (`visit_borrowed_str`: it had no escapes) cannot hold a control character, since serde_json
/// rejects them raw inside a string; only a string that had escapes (`\u0001`, `\b`, `\n`…)
/// is scanned for them, in one pass. Deserializing from anything other than the crate's own
/// readers (a [`Cx::detached`]) checks every string.
#[derive(Clone, Copy)]
struct Checked<'k> {
    cx: &'k Cx,
    k: &'k str,
    form: Form,
}

impl Checked<'_> {
    /// Checks `v`; for control characters only when it `may_hold_controls` (see above).
    fn check<E: de::Error>(self, v: &str, may_hold_controls: bool) -> Result<(), E> {
        if v.is_empty() {
            return empty_string(self.cx, self.k);
        }
        match self.form {
            Form::String if v.len() > MAX_STRING_CHARS && v.chars().count() > MAX_STRING_CHARS => {
                too_long(self.cx, v, self.k)
            }
            Form::Text | Form::String if !may_hold_controls => Ok(()),
            Form::Text | Form::String => check_text(self.cx, v, self.k),
            Form::Xhtml => check_xhtml(self.cx, v, self.k, may_hold_controls),
            Form::Code => check_code(self.cx, v, self.k, may_hold_controls),
            // The other forms exclude every control character in their regex.
            form => check_form(self.cx, v, self.k, form),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Checked<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_string(self)
    }
}

impl<'de> Visitor<'de> for Checked<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<String, E> {
        self.check::<E>(v, !self.cx.from_text)?;
        Ok(v.to_owned())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.check::<E>(v, true)?;
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        self.check::<E>(&v, true)?;
        Ok(v)
    }
}

/// A `null` or what seed `S` reads: one item of a repeating primitive.
#[derive(Clone, Copy)]
struct OptSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for OptSeed<S> {
    type Value = Option<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for OptSeed<S> {
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("option")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

/// An array of member `k`, each item read by seed `S` (a repeating primitive's values, `null`s
/// included, through an [`OptSeed`]; a repeating element's objects through a [`Seed`]); an
/// empty one is an error (see [`empty_array`]), raised before its `]` is read, so that it is
/// placed at the member.
struct NonEmpty<'k, S> {
    item: S,
    cx: &'k Cx,
    k: &'k str,
}

impl<'de, S: DeserializeSeed<'de> + Copy> DeserializeSeed<'de> for NonEmpty<'_, S> {
    type Value = Vec<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: DeserializeSeed<'de> + Copy> Visitor<'de> for NonEmpty<'_, S> {
    type Value = Vec<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(self.item)? {
            out.push(v);
        }
        if out.is_empty() {
            empty_array::<A::Error>(self.cx, self.k)?;
        }
        Ok(out)
    }
}

/// Reads `_name` (id and extensions) of a primitive into `slot`.
pub(crate) fn prim_ext<'de, A: MapAccess<'de>, T>(
    map: &mut A,
    cx: &Cx,
    slot: &mut Option<Primitive<T>>,
    k: &str,
) -> Result<(), A::Error> {
    let e = ext(map, cx)?;
    match slot {
        None => *slot = Some(Primitive::from_ext(e)),
        Some(p) => set_ext::<A::Error, T>(cx, p, e, k)?,
    }
    Ok(())
}

/// Reads a primitive's `_name` object (id and extensions).
pub(crate) fn ext<'de, A: MapAccess<'de>>(map: &mut A, cx: &Cx) -> Result<PrimitiveExt, A::Error> {
    map.next_value_seed(Seed::new(cx))
}

/// Sets the value half of a primitive, rejecting a second value.
pub(crate) fn set_value<E: de::Error, T>(
    cx: &Cx,
    p: &mut Primitive<T>,
    v: T,
    k: &str,
) -> Result<(), E> {
    if p.value.is_some() {
        return Err(duplicate(cx, k));
    }
    p.value = Some(v);
    Ok(())
}

/// Sets the `_name` half of a primitive, rejecting a second one.
pub(crate) fn set_ext<E: de::Error, T>(
    cx: &Cx,
    p: &mut Primitive<T>,
    e: PrimitiveExt,
    k: &str,
) -> Result<(), E> {
    if p.ext.is_some() {
        return Err(duplicate(cx, k));
    }
    p.ext = Some(Box::new(e));
    Ok(())
}

/// Reads a repeating primitive's values (`"given": ["a", null]`), each checked as it is read
/// (see [`PrimValue`]).
pub(crate) fn prims<'de, A: MapAccess<'de>, T: PrimValue<'de>>(
    map: &mut A,
    cx: &Cx,
    slot: &mut Vec<Primitive<T>>,
    k: &str,
) -> Result<(), A::Error> {
    let values = map.next_value_seed(NonEmpty {
        item: OptSeed(ValueSeed::<T>::new(cx, k)),
        cx,
        k,
    })?;
    set_values(cx, slot, values, k)
}

/// Sets the values of a repeating primitive (its `_name` array may have come first).
fn set_values<E: de::Error, T>(
    cx: &Cx,
    slot: &mut Vec<Primitive<T>>,
    values: Vec<Option<T>>,
    k: &str,
) -> Result<(), E> {
    if slot.is_empty() {
        slot.extend(
            values
                .into_iter()
                .map(|value| Primitive { value, ext: None }),
        );
        cx.note_unpaired(false, slot);
        return Ok(());
    }
    if slot.len() != values.len() || slot.iter().any(|p| p.value.is_some()) {
        return Err(mismatch(cx, k));
    }
    let before = slot.iter().any(|p| p.ext.is_none());
    for (p, v) in slot.iter_mut().zip(values) {
        p.value = v;
    }
    cx.note_unpaired(before, slot);
    Ok(())
}

/// Reads a repeating primitive of lexical form `form`, checking each value as it is read (see
/// [`formed_value`]).
pub(crate) fn formeds<'de, A: MapAccess<'de>, T: Formed<'de>>(
    map: &mut A,
    cx: &Cx,
    slot: &mut Vec<Primitive<T>>,
    k: &str,
    form: Form,
) -> Result<(), A::Error> {
    let values = map.next_value_seed(NonEmpty {
        item: OptSeed(FormSeed {
            cx,
            k,
            form,
            value: PhantomData,
        }),
        cx,
        k,
    })?;
    set_values(cx, slot, values, k)
}

/// Reads a repeating primitive's `_name` array (`"_given": [null, {…}]`).
pub(crate) fn prims_ext<'de, A: MapAccess<'de>, T>(
    map: &mut A,
    cx: &Cx,
    slot: &mut Vec<Primitive<T>>,
    k: &str,
) -> Result<(), A::Error> {
    let exts: Vec<Option<PrimitiveExt>> = map.next_value_seed(NonEmpty {
        item: OptSeed(Seed::new(cx)),
        cx,
        k,
    })?;
    if slot.is_empty() {
        slot.extend(exts.into_iter().map(|e| Primitive {
            value: None,
            ext: e.map(Box::new),
        }));
        cx.note_unpaired(false, slot);
        return Ok(());
    }
    if slot.len() != exts.len() || slot.iter().any(|p| p.ext.is_some()) {
        return Err(mismatch(cx, k));
    }
    let before = slot.iter().any(|p| p.value.is_none());
    for (p, e) in slot.iter_mut().zip(exts) {
        p.ext = e.map(Box::new);
    }
    cx.note_unpaired(before, slot);
    Ok(())
}

#[cold]
fn mismatch<E: de::Error>(cx: &Cx, k: &str) -> E {
    let base = k.strip_prefix('_').unwrap_or(k);
    cx.error(
        ErrorKind::InvalidValue,
        format_args!("`{base}` and `_{base}` differ in length, or `{k}` appears twice"),
    )
}

/// Reads a plain JSON string (element `id`, `Extension.url`), checked as any FHIR string.
pub(crate) fn plain<'de, A: MapAccess<'de>>(
    map: &mut A,
    cx: &Cx,
    slot: &mut Option<String>,
    k: &str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(duplicate(cx, k));
    }
    *slot = Some(map.next_value_seed(Checked {
        cx,
        k,
        form: Form::Text,
    })?);
    Ok(())
}

/// Reads a single complex element.
pub(crate) fn one<'de, A: MapAccess<'de>, T: DeFields>(
    map: &mut A,
    cx: &Cx,
    slot: &mut Option<T>,
    k: &str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(duplicate(cx, k));
    }
    *slot = Some(map.next_value_seed(Seed::new(cx))?);
    Ok(())
}

/// Reads a repeating element (a JSON array).
pub(crate) fn many<'de, A: MapAccess<'de>, T: DeFields>(
    map: &mut A,
    cx: &Cx,
    slot: &mut Vec<T>,
    k: &str,
) -> Result<(), A::Error> {
    if !slot.is_empty() {
        return Err(duplicate(cx, k));
    }
    *slot = map.next_value_seed(NonEmpty {
        item: Seed::new(cx),
        cx,
        k,
    })?;
    Ok(())
}

/// Checks a member `resourceType` found inside a resource read on its own.
#[allow(
    dead_code,
    reason = "every resource's reader calls it: unused when no resource feature is enabled"
)]
pub(crate) fn resource_type<'de, A: MapAccess<'de>>(
    map: &mut A,
    cx: &Cx,
    expected: &str,
) -> Result<(), A::Error> {
    let v: Key<'de> = map.next_value()?;
    if v.as_str() == expected {
        Ok(())
    } else {
        Err(cx.error(
            ErrorKind::UnknownResourceType,
            format_args!(
                "resourceType `{}` where `{expected}` was expected",
                v.as_str()
            ),
        ))
    }
}

/// An unknown member: an error in strict mode, skipped and recorded in lenient mode.
#[cold]
pub(crate) fn unknown<'de, A: MapAccess<'de>>(
    map: &mut A,
    cx: &Cx,
    k: &str,
    path: &str,
) -> Result<(), A::Error> {
    if !cx.lenient {
        return cx.problem::<A::Error>(
            ErrorKind::UnknownElement,
            path,
            k,
            format_args!("unknown element `{k}` in {path}"),
        );
    }
    // Lenient reading is always over a slice, so the value can be borrowed to know where
    // it is.
    let value: &'de RawValue = map.next_value()?;
    cx.problem_at::<A::Error>(
        ErrorKind::UnknownElement,
        path,
        k,
        format_args!("unknown element `{k}` in {path}"),
        Some(value.get().as_ptr() as usize),
    )
}

/// Turns the addresses the lenient reader recorded in `issues` into offsets in `text` (an
/// address outside it is dropped), mapping through `to_source` first when given (for a
/// reordered resource's buffer).
pub(crate) fn locate_issues(
    issues: &mut [Issue],
    text: &[u8],
    to_source: Option<&dyn Fn(usize) -> usize>,
) {
    let base = text.as_ptr() as usize;
    for issue in issues {
        issue.offset = match issue.offset {
            Some(a) if a >= base && a <= base + text.len() => match to_source {
                Some(f) => Some(f(a - base)),
                None => Some(a - base),
            },
            // Not in this text: left for an outer level (reorder) or dropped at the end.
            other if to_source.is_some() => other,
            _ => None,
        };
    }
}

/// An element read as `{}`: R4 ele-1 ("All FHIR elements must have a @value or children"),
/// and FHIR JSON has no empty objects.
#[cold]
pub(crate) fn empty_object<E: de::Error>(cx: &Cx, path: &str) -> Result<(), E> {
    cx.problem(
        ErrorKind::InvalidValue,
        path,
        "",
        format_args!("an empty object in {path}: FHIR elements have a value or children"),
    )
}

/// An array read as `[]`: FHIR JSON writes a repeating element with no items by leaving it out.
#[cold]
fn empty_array<E: de::Error>(cx: &Cx, k: &str) -> Result<(), E> {
    cx.problem(
        ErrorKind::InvalidValue,
        k,
        "",
        format_args!("an empty array (`{k}`): FHIR JSON has none"),
    )
}

/// A required element's presence check.
pub(crate) fn required<E: de::Error>(
    cx: &Cx,
    present: bool,
    path: &str,
    name: &str,
) -> Result<(), E> {
    if present {
        Ok(())
    } else {
        cx.problem(
            ErrorKind::MissingElement,
            path,
            name,
            format_args!("required element `{name}` missing in {path}"),
        )
    }
}

/// Checks a FHIR `code`: non-empty, no leading/trailing whitespace, no runs of whitespace,
/// and, when `controls`, no control characters (see [`check_text`]).
pub(crate) fn check_code<E: de::Error>(cx: &Cx, v: &str, k: &str, controls: bool) -> Result<(), E> {
    let ok = !v.is_empty()
        && !v.starts_with(char::is_whitespace)
        && !v.ends_with(char::is_whitespace)
        && !v
            .chars()
            .zip(v.chars().skip(1))
            .any(|(a, b)| a.is_whitespace() && b.is_whitespace())
        && (!controls || !has_control_char(v));
    if ok {
        Ok(())
    } else {
        cx.problem(
            ErrorKind::InvalidValue,
            k,
            "",
            format_args!("{v:?} is not a valid code (`{k}`)"),
        )
    }
}

/// Checks `v` against the regex R4 gives lexical form `form` (`Id`, `Uri`, `Oid`, `Uuid`).
pub(crate) fn check_form<E: de::Error>(cx: &Cx, v: &str, k: &str, form: Form) -> Result<(), E> {
    if form_ok(v, form) {
        Ok(())
    } else {
        bad_form(cx, v, k, form)
    }
}

/// Whether `v` matches the regex of lexical form `form` (`Text` and `Code` are checked by
/// [`check_text`] and [`check_code`]).
fn form_ok(v: &str, form: Form) -> bool {
    match form {
        Form::Text
        | Form::String
        | Form::Code
        | Form::PositiveInt
        | Form::UnsignedInt
        | Form::Xhtml => true,
        Form::Id => {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.'))
        }
        // `\S`: no space, tab, LF, CR, VT or FF (the regex's white space), nor another C0
        // control (no string holds one). Other characters, C1 controls and non-ASCII white
        // space included, are `\S`.
        Form::Uri => !v.bytes().any(|b| b <= b' '),
        Form::Oid => v.strip_prefix("urn:oid:").is_some_and(oid_ok),
        Form::Uuid => v.strip_prefix("urn:uuid:").is_some_and(uuid_ok),
    }
}

/// `[0-2](\.(0|[1-9][0-9]*))+`.
fn oid_ok(s: &str) -> bool {
    let mut arcs = s.split('.');
    let first = matches!(arcs.next(), Some("0" | "1" | "2"));
    let mut rest = 0;
    let rest_ok = arcs.all(|a| {
        rest += 1;
        !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && (a == "0" || !a.starts_with('0'))
    });
    first && rest > 0 && rest_ok
}

/// `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`.
fn uuid_ok(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        })
}

/// An empty string value: R4 JSON "string property values can never be empty. Either the
/// property is absent, or it is present with at least one character of content" (every R4
/// primitive's regex but `uri` / `url` / `canonical`'s `\S*` requires a character too).
#[cold]
fn empty_string<E: de::Error>(cx: &Cx, k: &str) -> Result<(), E> {
    cx.problem(
        ErrorKind::InvalidValue,
        k,
        "",
        format_args!(
            "an empty string (`{k}`): an R4 value is absent or holds at least one character"
        ),
    )
}

#[cold]
fn too_long<E: de::Error>(cx: &Cx, v: &str, k: &str) -> Result<(), E> {
    cx.problem(
        ErrorKind::InvalidValue,
        k,
        "",
        format_args!(
            "a string of {} characters (`{k}`): R4 strings hold at most {MAX_STRING_CHARS}",
            v.chars().count()
        ),
    )
}

#[cold]
fn bad_form<E: de::Error>(cx: &Cx, v: &str, k: &str, form: Form) -> Result<(), E> {
    let what = match form {
        Form::Id => "an id (1 to 64 of A–Z, a–z, 0–9, `-` and `.`)",
        Form::Uri => "a uri (no white space)",
        Form::Oid => "an oid (`urn:oid:` and dotted decimal arcs)",
        Form::Uuid => "a uuid (`urn:uuid:` and a lower-case UUID)",
        Form::Text
        | Form::String
        | Form::Code
        | Form::PositiveInt
        | Form::UnsignedInt
        | Form::Xhtml => "valid",
    };
    let mut quoted = Vec::new();
    super::ser::write_escaped(&mut quoted, &short(v));
    cx.problem(
        ErrorKind::InvalidValue,
        k,
        "",
        format_args!("{} is not {what} (`{k}`)", String::from_utf8_lossy(&quoted)),
    )
}

/// Checks any FHIR string-like value (string, uri, id, markdown, dateTime, xhtml, …, and
/// element ids and extension urls): R4 says strings "SHALL NOT contain Unicode character
/// points below 32, except for u0009 (horizontal tab), u000D (carriage return) and u000A
/// (line feed)", and the regex of every string-based type excludes them too.
#[inline]
pub(crate) fn check_text<E: de::Error>(cx: &Cx, v: &str, k: &str) -> Result<(), E> {
    if has_control_char(v) {
        control_char(cx, v, k)
    } else {
        Ok(())
    }
}

#[cold]
fn control_char<E: de::Error>(cx: &Cx, v: &str, k: &str) -> Result<(), E> {
    let c = v
        .chars()
        .find(|&c| c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
        .unwrap_or_default();
    // The start of the value as JSON writes it (`"SM\u0001ITH"`).
    let mut quoted = Vec::new();
    super::ser::write_escaped(&mut quoted, &short(v));
    cx.problem(
        ErrorKind::InvalidValue,
        k,
        "",
        format_args!(
            "{} holds the control character U+{:04X} (`{k}`): FHIR strings allow none below U+0020 but tab, LF and CR",
            String::from_utf8_lossy(&quoted),
            u32::from(c)
        ),
    )
}

/// Checks a narrative (`xhtml`): no control characters (see [`check_text`]), and one
/// well-formed XHTML `div` in the XHTML namespace, with no entity but XML's (as the XML writer
/// needs it: see `xml::xhtml::check_div`).
fn check_xhtml<E: de::Error>(cx: &Cx, v: &str, k: &str, may_hold_controls: bool) -> Result<(), E> {
    if may_hold_controls {
        check_text(cx, v, k)?;
    }
    match crate::xml::xhtml::json_div_problem(v) {
        None => Ok(()),
        Some(message) => bad_xhtml(cx, &message, k),
    }
}

#[cold]
fn bad_xhtml<E: de::Error>(cx: &Cx, message: &str, k: &str) -> Result<(), E> {
    cx.problem(
        ErrorKind::InvalidValue,
        k,
        "",
        format_args!("{message} (`{k}`)"),
    )
}

/// A choice enum (`value[x]`): the FHIR type name of the variant held.
pub(crate) trait Choice {
    fn type_name(&self) -> &'static str;
}

/// Splits a choice member name `valueString` / `_valueString` into (is `_` form, type suffix).
pub(crate) fn choice_split<'k>(k: &'k str, prefix: &str) -> (bool, &'k str) {
    match k.strip_prefix('_') {
        Some(rest) => (true, rest.strip_prefix(prefix).unwrap_or(rest)),
        None => (false, k.strip_prefix(prefix).unwrap_or(k)),
    }
}

/// Fails if the choice slot already holds a value.
pub(crate) fn choice_free<E: de::Error, C: Choice>(
    cx: &Cx,
    slot: &Option<C>,
    k: &str,
    prefix: &str,
) -> Result<(), E> {
    match slot {
        None => Ok(()),
        Some(c) => Err(two_choices(cx, k, prefix, c.type_name())),
    }
}

/// Two members for one choice element (or the same one twice).
#[cold]
pub(crate) fn two_choices<E: de::Error>(cx: &Cx, k: &str, prefix: &str, held: &str) -> E {
    let k_plain = k.strip_prefix('_').unwrap_or(k);
    let other = format!("{prefix}{held}");
    if other == k_plain {
        duplicate(cx, k)
    } else {
        cx.error(
            ErrorKind::MultipleChoice,
            format_args!("`{prefix}[x]` has two values: `{other}` and `{k_plain}`"),
        )
    }
}

/// A choice member whose type suffix is not allowed (unreachable from generated code).
#[cold]
pub(crate) fn bad_choice<E: de::Error>(cx: &Cx, k: &str) -> E {
    cx.error(
        ErrorKind::UnknownElement,
        format_args!("unknown element `{k}`"),
    )
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_decimal(d, &Cx::detached())
    }
}

/// Reads a decimal, keeping its literal text (which must be a JSON number).
fn read_decimal<'de, D: Deserializer<'de>>(d: D, cx: &Cx) -> Result<Decimal, D::Error> {
    let raw = Box::<RawValue>::deserialize(d)?;
    if !is_json_number(raw.get().as_bytes()) {
        return Err(cx.error(
            ErrorKind::InvalidValue,
            format_args!(
                "a decimal must be a JSON number, found {}",
                short(raw.get())
            ),
        ));
    }
    let text: Box<str> = raw.into();
    Ok(Decimal::from_literal(text.into()))
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(24).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

impl DeFields for PrimitiveExt {
    const EXPECTING: &'static str = "an object with `id` and `extension`";
    fn de_fields<'de, A: MapAccess<'de>>(map: &mut A, cx: &Cx) -> Result<Self, A::Error> {
        let mut r = PrimitiveExt::default();
        let mut empty = true;
        while let Some(k) = map.next_key::<Key<'de>>()? {
            let k = k.as_str();
            empty = false;
            match k {
                "id" => plain(map, cx, &mut r.id, k)?,
                "extension" => many(map, cx, &mut r.extension, k)?,
                _ => unknown(map, cx, k, "Element")?,
            }
        }
        if empty {
            empty_object::<A::Error>(cx, "Element")?;
        }
        Ok(r)
    }
}

impl<'de> Deserialize<'de> for PrimitiveExt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_detached(d)
    }
}

impl DeFields for Resource {
    const EXPECTING: &'static str = "a FHIR resource (an object with `resourceType`)";
    fn de_fields<'de, A: MapAccess<'de>>(map: &mut A, cx: &Cx) -> Result<Self, A::Error> {
        let depth = cx.resource_depth.get();
        if depth >= MAX_RESOURCE_DEPTH {
            return Err(cx.error(
                ErrorKind::DepthLimit,
                format_args!("resources nested more than {MAX_RESOURCE_DEPTH} deep"),
            ));
        }
        cx.resource_depth.set(depth + 1);
        let result = resource_body(map, cx);
        cx.resource_depth.set(depth);
        result
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_detached(d)
    }
}

fn resource_body<'de, A: MapAccess<'de>>(map: &mut A, cx: &Cx) -> Result<Resource, A::Error> {
    let Some(first) = map.next_key::<Key<'de>>()? else {
        return Err(no_resource_type(cx));
    };
    if first.as_str() == "resourceType" {
        let rt: Key<'de> = map.next_value()?;
        return Resource::de_typed(map, cx, rt.as_str());
    }
    reorder(map, cx, first)
}

#[cold]
fn no_resource_type<E: de::Error>(cx: &Cx) -> E {
    cx.error(
        ErrorKind::UnknownResourceType,
        format_args!("a resource needs a `resourceType` member"),
    )
}

/// Reads a `T` from the JSON text `input` within the read `cx`, as `serde_json::from_slice`
/// reads (the whole input: only white space may follow the value).
pub(crate) fn read_slice<T: ReadJson>(input: &[u8], cx: &Cx) -> Result<T, serde_json::Error> {
    let mut d = serde_json::Deserializer::from_slice(input);
    let value = T::read_json(&mut d, cx)?;
    d.end()?;
    Ok(value)
}

/// The slow path for a resource whose `resourceType` is not its first member: buffer the
/// members as raw JSON text, then re-read them with `resourceType` first.
#[cold]
fn reorder<'de, A: MapAccess<'de>>(
    map: &mut A,
    cx: &Cx,
    first: Key<'de>,
) -> Result<Resource, A::Error> {
    let mut members: Vec<(Key<'de>, &'de RawValue)> = Vec::new();
    let mut rt: Option<&'de RawValue> = None;
    let mut key = Some(first);
    while let Some(k) = key {
        let v: &'de RawValue = map.next_value()?;
        if k.as_str() == "resourceType" {
            if rt.is_some() {
                return Err(duplicate(cx, "resourceType"));
            }
            rt = Some(v);
        } else {
            members.push((k, v));
        }
        key = map.next_key()?;
    }
    let Some(rt) = rt else {
        return Err(no_resource_type(cx));
    };
    let mut buf = Vec::with_capacity(
        members
            .iter()
            .map(|(k, v)| k.0.len() + v.get().len() + 4)
            .sum::<usize>()
            + 32,
    );
    buf.extend_from_slice(b"{\"resourceType\":");
    // Where each buffered value sits in `buf` and where it came from, to map an error back.
    let mut spans: Vec<(usize, &'de str)> = Vec::with_capacity(members.len() + 1);
    spans.push((buf.len(), rt.get()));
    buf.extend_from_slice(rt.get().as_bytes());
    for (k, v) in &members {
        buf.push(b',');
        super::ser::write_escaped(&mut buf, k.as_str());
        buf.push(b':');
        spans.push((buf.len(), v.get()));
        buf.extend_from_slice(v.get().as_bytes());
    }
    buf.push(b'}');
    let depth = cx.reorder_depth.get();
    if depth >= MAX_REORDER_DEPTH {
        return Err(cx.error(
            ErrorKind::DepthLimit,
            format_args!("too many nested resources whose `resourceType` is not first"),
        ));
    }
    cx.reorder_depth.set(depth + 1);
    let before = cx.issues.borrow().len();
    // The same read goes on in the buffer: same mode, same issues, same depths.
    let result = read_slice::<Resource>(&buf, cx);
    cx.reorder_depth.set(depth);
    if let Some(new) = cx.issues.borrow_mut().get_mut(before..) {
        locate_issues(new, &buf, Some(&|at| source_address(&spans, at)));
    }
    result.map_err(|e| {
        let at = cx.error_offset(&buf, &e);
        cx.position.set(Some(source_address(&spans, at)));
        let text = e.to_string();
        let msg = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(m, _)| m);
        let kind = cx.kind.get().unwrap_or(ErrorKind::InvalidValue);
        cx.error(kind, format_args!("{msg}"))
    })
}

/// The address in the original text of offset `at` of a reordered buffer, given where each
/// buffered value starts in the buffer and the original value text. An offset between values
/// (a member name, the closing brace) maps to the end of the value before it.
fn source_address(spans: &[(usize, &str)], at: usize) -> usize {
    let mut address = 0;
    for &(start, text) in spans {
        if start > at {
            break;
        }
        address = text.as_ptr() as usize + (at - start).min(text.len());
    }
    address
}

/// The error for an unknown or disabled `resourceType`.
#[cold]
pub(crate) fn unknown_resource<E: de::Error>(cx: &Cx, rt: &str) -> E {
    match crate::model::feature_of(rt) {
        Some(feature) => cx.error(
            ErrorKind::DisabledResourceType,
            format_args!(
                "resourceType `{rt}` is not enabled in this build (Cargo feature `{feature}` of carecodec-fhir)"
            ),
        ),
        None => cx.error(
            ErrorKind::UnknownResourceType,
            format_args!("unknown resourceType `{}`", short(rt)),
        ),
    }
}

// The test reads a Patient.
#[cfg(all(test, feature = "patient"))]
mod tests {
    use serde::de::value::MapDeserializer;
    use serde_json::{Value, json};

    use super::*;

    /// A lenient read in the middle of another lenient read on the same thread (here between
    /// two members the outer read is given by an iterator): each gets its own issues, all of
    /// them. With the issues in a thread-local, the inner read took the outer one's so far.
    #[test]
    fn a_lenient_read_inside_another_has_its_own_issues() {
        struct Members(std::vec::IntoIter<(&'static str, Value)>);
        impl Iterator for Members {
            type Item = (&'static str, Value);
            fn next(&mut self) -> Option<Self::Item> {
                let (_, issues) = super::super::from_slice_lenient::<Resource>(
                    br#"{"resourceType":"Patient","language":" en"}"#,
                )
                .unwrap();
                let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
                assert_eq!(paths, ["language"]);
                self.0.next()
            }
        }
        // Lenient, as `from_slice_lenient` reads (but not from JSON text).
        let cx = Cx::new(true, false);
        let members = vec![
            ("resourceType", json!("Patient")),
            ("gender", json!(" male")),
            ("birthDate", json!("")),
        ];
        let map = MapDeserializer::<_, serde_json::Error>::new(Members(members.into_iter()));
        let r: Resource = Seed::new(&cx).deserialize(map).unwrap();
        let Resource::Patient(p) = r else {
            panic!("a Patient")
        };
        assert_eq!(p.gender.and_then(|g| g.value).as_deref(), Some(" male"));
        let paths: Vec<String> = cx.take_issues().into_iter().map(|i| i.path).collect();
        assert_eq!(paths, ["gender", "birthDate"]);
    }
}
