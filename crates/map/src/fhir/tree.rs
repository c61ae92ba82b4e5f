//! The JSON tree the Bundle builders write into.
//!
//! `serde_json::Value` costs an allocation per object key (a `String`), per
//! string value (a copy) and per B-tree node; a Bundle of an ADT message has
//! several hundred of them, and building it took longer than mapping the
//! message. This tree borrows: keys are the builders' `&'static str`s, string
//! values borrow from the [`Event`](carecodec_model::Event) or `Worker` being
//! written (owned only when formatted), objects are vectors in the order
//! written (so `resourceType` comes first, as FHIR's JSON examples have it),
//! and decimals keep their literal text (`7.50` stays `7.50`).
//!
//! It is crate-private: the public API hands out `serde_json::Value`
//! ([`Value::into_serde`]) or compact JSON bytes ([`Value::write`]).

use std::borrow::Cow;

/// A JSON value whose strings may borrow from `'a`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    /// A JSON number, as its literal text (already validated); also, from
    /// [`Value::into_static`] of a [`Value::Hole`], compact JSON text.
    Number(Cow<'a, str>),
    String(Cow<'a, str>),
    /// Compact JSON text written as it is: a constant fragment made by
    /// [`raw!`] from literals at compile time (no node, no allocation).
    Raw(&'static str),
    /// A deterministic resource id ([`Uuid`]), as its 128 bits: written as
    /// text, with the `urn:uuid:` prefix of a full URL when `urn`; as a
    /// FHIR `Reference` object (`{"reference": …}`) when `reference`.
    Uuid {
        bits: [u64; 2],
        urn: bool,
        reference: bool,
    },
    /// The relative URL of a resource with a client-assigned id
    /// (`Location/{id}`, an update by id): its type and the id's 128 bits,
    /// written as text without being put together first.
    Keyed(KeyedType, [u64; 2]),
    /// Short ASCII text that needs no escaping (a date, a dateTime), kept
    /// inline: no allocation.
    Text(Inline),
    /// A JSON number's short literal text (an integer, a decimal), kept
    /// inline.
    Num(Inline),
    /// Constant compact JSON around one string: `parts[0]`, the text as a
    /// JSON string, `parts[1]` (`{"display":` … `}`): a small object of one
    /// varying string with no node or allocation for its members.
    Hole(&'static [&'static str; 2], &'a str),
    /// A small object written as compact JSON as it was built ([`Obj`]):
    /// one allocation, no member nodes. For objects nothing edits after
    /// they are made (names, telecoms, addresses).
    Json(Vec<u8>),
    /// A [`Value::Json`] whose builder left texts out for their length, with
    /// their hashes ([`text_hash`]) for the writer to list
    /// ([`Value::prune_long`] hands them on). Boxed: rare, and a `Value`
    /// stays small.
    JsonDropped(Box<(Vec<u8>, Vec<u64>)>),
    /// A string that is a constant prefix and borrowed text (a code system
    /// URL from a v2 table id): written without being put together first.
    Prefixed(Prefix, &'a str),
    Array(Vec<Value<'a>>),
    Object(Map<'a>),
}

/// A JSON object: members in insertion order, keys unique (the builders'
/// literals).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Map<'a>(Vec<(&'static str, Value<'a>)>);

impl<'a> Map<'a> {
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Map(Vec::new())
    }

    /// An empty object with room for `n` members (objects grow by
    /// reallocating: the builders size theirs).
    pub(crate) fn with_capacity(n: usize) -> Self {
        Map(Vec::with_capacity(n))
    }

    /// An object from members whose keys are known to be unique (a `json!`
    /// literal's): one allocation of the exact size.
    pub(crate) fn from_unique(members: Vec<(&'static str, Value<'a>)>) -> Self {
        debug_assert!(
            members
                .iter()
                .enumerate()
                .all(|(i, (k, _))| members.iter().skip(i + 1).all(|(j, _)| j != k)),
            "duplicate key in a json! literal"
        );
        debug_assert!(members.iter().all(|(k, _)| plain_key(k)));
        Map(members)
    }

    /// Sets `key`, replacing a value already there (in place).
    pub(crate) fn insert(&mut self, key: &'static str, value: Value<'a>) -> Option<Value<'a>> {
        debug_assert!(plain_key(key), "{key}");
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => Some(std::mem::replace(v, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| *k == key)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Keys are element names (`resourceType`, `_birthDate`): written without
/// escaping.
fn plain_key(k: &str) -> bool {
    !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl<'a> Value<'a> {
    /// Empty for the builders' "leave it out" rule: null, `""`, `[]`, `{}`.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            Value::Object(m) => m.is_empty(),
            Value::String(s) => blank_text(s),
            Value::Hole(_, text) => blank_text(text),
            Value::Text(t) => t.len == 0,
            Value::Json(j) => j.as_slice() == b"{}",
            Value::JsonDropped(jd) => jd.0.as_slice() == b"{}",
            Value::Bool(_)
            | Value::Number(_)
            | Value::Raw(_)
            | Value::Uuid { .. }
            | Value::Keyed(..)
            | Value::Num(_)
            | Value::Prefixed(..) => false,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Object(m) => m.get(key),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_object(&self) -> Option<&Map<'a>> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    pub(crate) fn as_object_mut(&mut self) -> Option<&mut Map<'a>> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// `[value]`: an object written as it was built ([`Value::Json`]) gets
    /// its brackets in its own buffer (no array allocation).
    pub(crate) fn in_array(self) -> Self {
        match self {
            // R4 has no empty objects: an empty value is an empty array,
            // which the builders leave out.
            v if v.is_empty() => Value::Array(Vec::new()),
            Value::Json(mut j) => {
                j.insert(0, b'[');
                j.push(b']');
                Value::Json(j)
            }
            Value::JsonDropped(mut jd) => {
                jd.0.insert(0, b'[');
                jd.0.push(b']');
                Value::JsonDropped(jd)
            }
            v => Value::Array(vec![v]),
        }
    }

    /// An integer as a JSON number (inline: no allocation).
    pub(crate) fn int(n: i128) -> Self {
        let mut t = Inline::new();
        t.push(itoa::Buffer::new().format(n).as_bytes());
        Value::Num(t)
    }

    /// Plain ASCII text (no control, `"` or `\\`: a date, a time) as a
    /// string value: inline when it fits, owned otherwise.
    pub(crate) fn ascii(text: &[u8]) -> Value<'static> {
        if text.len() <= Inline::CAP {
            debug_assert!(
                text.iter()
                    .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
            );
            let mut t = Inline::new();
            t.push(text);
            Value::Text(t)
        } else {
            Value::short(text)
        }
    }

    /// Short text as a string value: inline when it fits and needs no
    /// escaping, owned otherwise.
    pub(crate) fn short(text: &[u8]) -> Value<'static> {
        let plain = text
            .iter()
            .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
        if plain && text.len() <= Inline::CAP {
            let mut t = Inline::new();
            t.push(text);
            Value::Text(t)
        } else {
            Value::String(Cow::Owned(String::from_utf8_lossy(text).into_owned()))
        }
    }

    /// A JSON number from its literal text, inline when short; `None`
    /// unless `text` is one.
    pub(crate) fn number_text(text: &[u8]) -> Option<Value<'static>> {
        if !is_json_number(text) {
            return None;
        }
        Some(if text.len() <= Inline::CAP {
            let mut t = Inline::new();
            t.push(text);
            Value::Num(t)
        } else {
            Value::Number(Cow::Owned(String::from_utf8_lossy(text).into_owned()))
        })
    }

    /// A JSON number from its literal text; `None` unless `text` is one.
    pub(crate) fn number(text: String) -> Option<Self> {
        is_json_number(text.as_bytes()).then_some(Value::Number(Cow::Owned(text)))
    }

    /// The same value as a `serde_json::Value` (numbers as serde_json reads
    /// their text).
    pub(crate) fn into_serde(self) -> serde_json::Value {
        use serde_json::Value as V;
        match self {
            Value::Null => V::Null,
            Value::Bool(b) => V::Bool(b),
            Value::Number(n) => serde_json::from_str(&n).unwrap_or(V::Null),
            Value::String(s) => V::String(fhir_text(s)),
            Value::Raw(text) => serde_json::from_str(text).unwrap_or(V::Null),
            Value::Uuid {
                bits,
                urn,
                reference,
            } => {
                let id = Uuid::new(bits);
                let text = V::String(if urn { id.urn() } else { id }.to_string());
                if reference {
                    V::Object(std::iter::once(("reference".to_owned(), text)).collect())
                } else {
                    text
                }
            }
            Value::Keyed(rtype, bits) => {
                V::String(format!("{}/{}", rtype.as_str(), Uuid::new(bits)))
            }
            Value::Text(t) => V::String(t.as_str().to_owned()),
            Value::Num(n) => serde_json::from_str(n.as_str()).unwrap_or(V::Null),
            Value::Prefixed(p, rest) => {
                V::String(fhir_text(Cow::Owned(format!("{}{rest}", p.as_str()))))
            }
            Value::Json(j) => serde_json::from_slice(&j).unwrap_or(V::Null),
            Value::JsonDropped(jd) => serde_json::from_slice(&jd.0).unwrap_or(V::Null),
            hole @ Value::Hole(..) => {
                let mut out = Vec::new();
                hole.write(&mut out);
                serde_json::from_slice(&out).unwrap_or(V::Null)
            }
            // As `write` writes them: an item or member left with nothing is
            // left out.
            Value::Array(a) => V::Array(
                a.into_iter()
                    .filter(|v| !v.is_empty())
                    .map(Value::into_serde)
                    .filter(|v| !serde_nothing(v))
                    .collect(),
            ),
            Value::Object(m) => V::Object(
                m.0.into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.to_owned(), v.into_serde()))
                    .filter(|(_, v)| !serde_nothing(v))
                    .collect(),
            ),
        }
    }

    /// The same value owning all its strings.
    pub(crate) fn into_static(self) -> Value<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Number(n) => Value::Number(own(n)),
            Value::String(s) => Value::String(own(s)),
            Value::Raw(text) => Value::Raw(text),
            Value::Uuid {
                bits,
                urn,
                reference,
            } => Value::Uuid {
                bits,
                urn,
                reference,
            },
            Value::Keyed(rtype, bits) => Value::Keyed(rtype, bits),
            Value::Text(t) => Value::Text(t),
            Value::Num(n) => Value::Num(n),
            Value::Prefixed(p, rest) => Value::String(Cow::Owned(format!("{}{rest}", p.as_str()))),
            Value::Json(j) => Value::Json(j),
            Value::JsonDropped(jd) => Value::JsonDropped(jd),
            hole @ Value::Hole(..) => {
                // Its JSON text, kept as a literal (written as it is).
                let mut out = Vec::new();
                hole.write(&mut out);
                Value::Number(Cow::Owned(String::from_utf8_lossy(&out).into_owned()))
            }
            Value::Array(a) => Value::Array(a.into_iter().map(Value::into_static).collect()),
            Value::Object(m) => Value::Object(Map(m
                .0
                .into_iter()
                .map(|(k, v)| (k, v.into_static()))
                .collect())),
        }
    }

    /// Appends the value as compact JSON, consuming it: each node is freed
    /// right after it is written, while it is still in cache, instead of in
    /// a second walk over the whole tree when it is dropped.
    pub(crate) fn write(self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Number(n) => out.extend_from_slice(n.as_bytes()),
            Value::String(s) => write_str(out, &s),
            Value::Raw(text) => out.extend_from_slice(text.as_bytes()),
            Value::Uuid {
                bits,
                urn,
                reference,
            } => {
                if reference {
                    out.extend_from_slice(b"{\"reference\":");
                }
                out.push(b'"');
                if urn {
                    out.extend_from_slice(URN_UUID);
                }
                out.extend_from_slice(&uuid_text(bits));
                out.push(b'"');
                if reference {
                    out.push(b'}');
                }
            }
            Value::Keyed(rtype, bits) => {
                out.push(b'"');
                // A resource type: ASCII letters, nothing to escape.
                out.extend_from_slice(rtype.as_str().as_bytes());
                out.push(b'/');
                out.extend_from_slice(&uuid_text(bits));
                out.push(b'"');
            }
            Value::Text(t) => {
                out.push(b'"');
                out.extend_from_slice(t.as_bytes());
                out.push(b'"');
            }
            Value::Num(n) => out.extend_from_slice(n.as_bytes()),
            Value::Prefixed(p, rest) => {
                out.push(b'"');
                out.extend_from_slice(p.as_str().as_bytes());
                write_str_body(out, rest);
                out.push(b'"');
            }
            Value::Json(j) => out.extend_from_slice(&j),
            Value::JsonDropped(jd) => out.extend_from_slice(&jd.0),
            Value::Hole([before, after], text) => {
                out.extend_from_slice(before.as_bytes());
                write_str(out, text);
                out.extend_from_slice(after.as_bytes());
            }
            Value::Array(a) => {
                out.push(b'[');
                let open = out.len();
                for v in a {
                    if v.is_empty() {
                        continue;
                    }
                    let at = out.len();
                    if at != open {
                        out.push(b',');
                    }
                    let body = out.len();
                    v.write(out);
                    // R4 has no empty object or string (ele-1): an item
                    // left with nothing is no item.
                    if wrote_nothing(out.get(body..)) {
                        out.truncate(at);
                    }
                }
                out.push(b']');
            }
            Value::Object(m) => {
                out.push(b'{');
                let open = out.len();
                for (k, v) in m.0 {
                    if v.is_empty() {
                        continue;
                    }
                    let at = out.len();
                    // Keys are the builders' literals: plain ASCII names.
                    out.reserve(k.len() + 4);
                    if at != open {
                        out.push(b',');
                    }
                    out.push(b'"');
                    out.extend_from_slice(k.as_bytes());
                    out.extend_from_slice(b"\":");
                    let body = out.len();
                    v.write(out);
                    // A member left with nothing (a blank string, an object
                    // of blank members) is left out, as `put` leaves out one
                    // that is empty when built.
                    if wrote_nothing(out.get(body..)) {
                        out.truncate(at);
                    }
                }
                out.push(b'}');
            }
        }
    }
}

/// An object written as compact JSON while it is built, with the builders'
/// "leave it out" rule ([`Value::is_empty`]) on each member; `finish` gives
/// a [`Value::Json`].
pub(crate) struct Obj(Vec<u8>, Vec<u64>);

impl Obj {
    /// An empty object with room for about `bytes` of text.
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        let mut out = Vec::with_capacity(bytes);
        out.push(b'{');
        Obj(out, Vec::new())
    }

    fn key(&mut self, k: &'static str) {
        member_key(&mut self.0, k);
    }

    /// A comma before the next member or element, unless it is the first of
    /// its object or array.
    fn comma(&mut self) {
        comma(&mut self.0);
    }

    /// Where the text ends: a mark for [`Obj::undo`].
    pub(crate) fn mark(&self) -> usize {
        self.0.len()
    }

    /// Drops what was written after `mark` (a member that turned out empty).
    pub(crate) fn undo(&mut self, mark: usize) {
        self.0.truncate(mark);
    }

    /// True when nothing was written after `mark` but the opening bracket
    /// (and its comma) of a nested object or array.
    pub(crate) fn opened_only(&self, mark: usize) -> bool {
        matches!(self.0.get(mark..), Some(b"{" | b"[" | b",{" | b",["))
    }

    /// Opens member `k` as an array of objects (`"k":[`), closed by
    /// [`Obj::close_array`]; its objects are opened by [`Obj::open_element`].
    pub(crate) fn open_array(&mut self, k: &'static str) {
        self.key(k);
        self.0.push(b'[');
    }

    /// Opens an object element of the array opened last: its members are
    /// written as the outer object's are, then [`Obj::close_object`].
    pub(crate) fn open_element(&mut self) {
        self.comma();
        self.0.push(b'{');
    }

    /// Closes the object element opened last ([`Obj::open_element`]).
    pub(crate) fn close_object(&mut self) {
        self.0.push(b'}');
    }

    /// Closes the array member opened last ([`Obj::open_array`]).
    pub(crate) fn close_array(&mut self) {
        self.0.push(b']');
    }

    /// A member written whatever its value (as a `json!` literal writes
    /// its members).
    pub(crate) fn always(&mut self, k: &'static str, mut v: Value<'_>) {
        if v.prune_long(k, &mut self.1) {
            return;
        }
        self.key(k);
        v.write(&mut self.0);
    }

    /// A string member, left out when empty or over R4's limit ([`too_long`],
    /// noted as [`dropped`]).
    pub(crate) fn str(&mut self, k: &'static str, v: &str) {
        // A FHIR string has content: surrounding whitespace is left out (HL7
        // v2 trailing blanks mean nothing), and a blank string altogether.
        let v = trim_text(v);
        if !v.is_empty() && !drop_long(k, v, &mut self.1) {
            self.key(k);
            write_str(&mut self.0, v);
        }
    }

    /// An array of strings (each as [`Obj::str`] writes it), left out when
    /// there are none.
    pub(crate) fn strs(&mut self, k: &'static str, vs: &[String]) {
        let Obj(out, dropped) = self;
        let mut vs = vs
            .iter()
            .map(|v| trim_text(v))
            .filter(|v| !v.is_empty() && !drop_long(k, v, dropped));
        if let Some(first) = vs.next() {
            member_key(out, k);
            out.push(b'[');
            write_str(out, first);
            for v in vs {
                out.push(b',');
                write_str(out, v);
            }
            out.push(b']');
        }
    }

    /// Any value, left out when empty.
    pub(crate) fn value(&mut self, k: &'static str, mut v: Value<'_>) {
        if !v.is_empty() && !v.prune_long(k, &mut self.1) {
            let at = self.mark();
            self.key(k);
            let body = self.0.len();
            v.write(&mut self.0);
            if wrote_nothing(self.0.get(body..)) {
                self.undo(at);
            }
        }
    }

    pub(crate) fn finish(mut self) -> Value<'static> {
        self.0.push(b'}');
        if self.1.is_empty() {
            Value::Json(self.0)
        } else {
            Value::JsonDropped(Box::new((self.0, self.1)))
        }
    }
}

/// Writes member `k`'s key (`"k":`) to an object being built, after a
/// comma unless it is the object's first.
fn member_key(out: &mut Vec<u8>, k: &'static str) {
    debug_assert!(plain_key(k), "{k}");
    comma(out);
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

/// A comma before the next member or element, unless it is the first of its
/// object or array.
fn comma(out: &mut Vec<u8>) {
    if !matches!(out.last(), Some(b'{' | b'[')) {
        out.push(b',');
    }
}

/// The most characters an R4 `string` or `markdown` may hold ("strings SHALL
/// NOT exceed 1MB (1024*1024 characters) in size"): the strict reader
/// (`carecodec_fhir`) refuses a longer one.
pub(crate) const MAX_STRING_CHARS: usize = 1024 * 1024;

/// True when `text`, trimmed as the writer writes it, is over
/// [`MAX_STRING_CHARS`] characters (counted only past as many bytes).
pub(crate) fn too_long(text: &str) -> bool {
    text.len() > MAX_STRING_CHARS && {
        let t = text.trim();
        t.len() > MAX_STRING_CHARS && t.chars().count() > MAX_STRING_CHARS
    }
}

/// Members whose strings are no R4 `string` or `markdown` (`base64Binary`,
/// `xhtml`, `uri`, `code`, …), which R4 sets no length limit for: never
/// dropped for their length.
const UNLIMITED: [&str; 10] = [
    "data",
    "div",
    "url",
    "system",
    "reference",
    "fullUrl",
    "code",
    "valueCode",
    "valueUri",
    "contentType",
];

/// The hash kept of a (trimmed) text left out for its length, by which the
/// writer finds the model value it came from.
pub(crate) fn text_hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.trim().hash(&mut h);
    h.finish()
}

/// True when `text`, of member `k`, is a string R4 limits and over the
/// limit: left out, its hash added to `dropped` (once).
fn drop_long(k: &str, text: &str, dropped: &mut Vec<u64>) -> bool {
    let long = !UNLIMITED.contains(&k) && too_long(text);
    if long {
        let hash = text_hash(text);
        if !dropped.contains(&hash) {
            dropped.push(hash);
        }
    }
    long
}

impl Value<'_> {
    /// True when this value of member `k` is text over R4's string limit
    /// that [`Value::prune_long`] would leave out (its hash added to
    /// `dropped`).
    pub(crate) fn long_text(&self, k: &str, dropped: &mut Vec<u64>) -> bool {
        match self {
            Value::String(s) => drop_long(k, s, dropped),
            // A code system's URL: a `uri` under `system`.
            Value::Prefixed(_, s) => drop_long(k, s, dropped),
            // Text written into a constant fragment (a display, a note's
            // text, an identifier's value): the fragment goes.
            Value::Hole(_, s) => drop_long("", s, dropped),
            _ => false,
        }
    }

    /// Leaves out every string over R4's limit ([`MAX_STRING_CHARS`]) of a
    /// member R4 limits (not [`UNLIMITED`]), and the objects and arrays left
    /// empty by that (R4 has none); a CodeableConcept `code` left empty
    /// (a resource's required code) becomes the data-absent-reason
    /// extension. Each text left out is added to `dropped` ([`text_hash`]),
    /// with those objects written as built ([`Obj`]) left out as they were
    /// built (taken from them). Returns true when the value itself is to be
    /// left out.
    pub(crate) fn prune_long(&mut self, k: &str, dropped: &mut Vec<u64>) -> bool {
        match self {
            Value::Object(m) => {
                m.0.retain_mut(|(k, v)| {
                    let keep = !v.prune_long(k, dropped);
                    if !keep && *k == "code" {
                        *v = absent_reason();
                        return true;
                    }
                    keep
                });
                m.0.is_empty()
            }
            Value::Array(a) => {
                a.retain_mut(|v| !v.prune_long(k, dropped));
                a.is_empty()
            }
            Value::Json(j) => j.as_slice() == b"{}",
            Value::JsonDropped(jd) => {
                for hash in jd.1.drain(..) {
                    if !dropped.contains(&hash) {
                        dropped.push(hash);
                    }
                }
                jd.0.as_slice() == b"{}"
            }
            v => v.long_text(k, dropped),
        }
    }
}

/// A primitive or element with no value: the data-absent-reason extension.
fn absent_reason() -> Value<'static> {
    Value::Raw(
        r#"{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}"#,
    )
}

const URN_UUID: &[u8; 9] = b"urn:uuid:";

/// A deterministic resource id: 128 bits in the UUID version 4 layout, kept
/// with its text inline (no allocation); reads as the id
/// (`xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx`) or, made by [`Uuid::urn`], as the
/// full URL `urn:uuid:` and the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Uuid {
    bits: [u64; 2],
    urn: bool,
    /// `urn:uuid:` and the id's 36 characters.
    text: [u8; 45],
}

impl Uuid {
    pub(crate) fn new(bits: [u64; 2]) -> Self {
        let mut text = [0u8; 45];
        let (prefix, id) = text.split_at_mut(9);
        prefix.copy_from_slice(URN_UUID);
        id.copy_from_slice(&uuid_text(bits));
        Uuid {
            bits,
            urn: false,
            text,
        }
    }

    /// The same id as a `urn:uuid:` full URL.
    pub(crate) fn urn(self) -> Self {
        Uuid { urn: true, ..self }
    }

    /// Its 128 bits: equal for the same id, whether written as an id or a URL.
    pub(crate) fn bits(&self) -> [u64; 2] {
        self.bits
    }
}

/// The id, or the full URL.
impl std::ops::Deref for Uuid {
    type Target = str;
    fn deref(&self) -> &str {
        let text = if self.urn {
            &self.text[..]
        } else {
            self.text.get(9..).unwrap_or_default()
        };
        // Hex digits, dashes and the ASCII prefix: always UTF-8.
        std::str::from_utf8(text).unwrap_or_default()
    }
}

impl std::fmt::Display for Uuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl From<Uuid> for Value<'_> {
    fn from(u: Uuid) -> Self {
        Value::Uuid {
            bits: u.bits,
            urn: u.urn,
            reference: false,
        }
    }
}

impl Uuid {
    /// The relative URL `{rtype}/{id}` of the resource with this id (the
    /// `request.url` of an update by a client-assigned id), written without
    /// a `String`.
    pub(crate) fn keyed<'a>(&self, rtype: KeyedType) -> Value<'a> {
        Value::Keyed(rtype, self.bits)
    }

    /// A FHIR `Reference` to this id or full URL: `{"reference": …}`,
    /// written without an object node.
    pub(crate) fn reference<'a>(&self) -> Value<'a> {
        Value::Uuid {
            bits: self.bits,
            urn: self.urn,
            reference: true,
        }
    }
}

impl From<&Uuid> for Value<'_> {
    fn from(u: &Uuid) -> Self {
        Value::from(*u)
    }
}

/// `xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx` from two 64-bit lanes: version
/// nibble 4, variant nibble 8, lower-case hex. The 32 hex digits of `a` then
/// `b` in order, a byte (two digits) at a time from a table, with the dashes
/// between and the version and variant digits set over theirs.
fn uuid_text([a, b]: [u64; 2]) -> [u8; 36] {
    let mut hex = [0u8; 32];
    for (pair, byte) in hex
        .chunks_exact_mut(2)
        .zip(a.to_be_bytes().into_iter().chain(b.to_be_bytes()))
    {
        if let Some(h) = HEX_PAIRS.get(usize::from(byte)) {
            pair.copy_from_slice(h);
        }
    }
    let mut out = [b'-'; 36];
    for (to, from) in [
        (0..8, 0..8),
        (9..13, 8..12),
        (14..18, 12..16),
        (19..23, 16..20),
        (24..36, 20..32),
    ] {
        if let (Some(o), Some(h)) = (out.get_mut(to), hex.get(from)) {
            o.copy_from_slice(h);
        }
    }
    for (at, c) in [(14, b'4'), (19, b'8')] {
        if let Some(o) = out.get_mut(at) {
            *o = c;
        }
    }
    out
}

/// Each byte's two lower-case hex digits.
// Evaluated at compile time: an index out of bounds would not compile.
#[allow(clippy::indexing_slicing)]
static HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX[i >> 4], HEX[i & 0xf]];
        i += 1;
    }
    t
};

/// Up to 30 bytes of ASCII text that needs no JSON escaping, inline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Inline {
    len: u8,
    buf: [u8; 30],
}

impl Inline {
    pub(crate) const CAP: usize = 30;

    pub(crate) fn new() -> Self {
        Inline {
            len: 0,
            buf: [0; 30],
        }
    }

    /// Appends `bytes` (the caller keeps within [`Inline::CAP`]; more is cut).
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let at = usize::from(self.len);
        let n = bytes.len().min(Self::CAP.saturating_sub(at));
        if let (Some(to), Some(from)) = (self.buf.get_mut(at..at + n), bytes.get(..n)) {
            to.copy_from_slice(from);
        }
        // n <= 30: fits in a u8.
        self.len += n as u8;
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII is pushed by the builders; a cut never splits a char.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// The resource types written by a client-assigned id ([`Value::Keyed`]):
/// a type in one byte keeps [`Value`] small.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum KeyedType {
    /// A Location from an HL7 v2 person location (PL).
    Location,
    /// An Encounter keyed by a visit number with no system (PV1-19).
    Encounter,
    /// An Observation keyed by an OBX-21 known by its namespace.
    Observation,
    /// A DiagnosticReport keyed by an OBR-3 filler number known by its
    /// namespace.
    DiagnosticReport,
    /// The ServiceRequest such a report answers.
    ServiceRequest,
    /// A Device keyed by an OBX-18 equipment id known by its namespace.
    Device,
    /// An Organization keyed by an identifier that is not an ODS code.
    Organization,
    /// A PractitionerRole keyed by its Practitioner, Organization and role.
    PractitionerRole,
    /// A Condition keyed by a DG1-20 identifier known by its namespace, or
    /// by its keyed Encounter and its code.
    Condition,
    /// An AllergyIntolerance keyed by its patient's key and its allergen.
    AllergyIntolerance,
}

impl KeyedType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeyedType::Location => "Location",
            KeyedType::Encounter => "Encounter",
            KeyedType::Observation => "Observation",
            KeyedType::DiagnosticReport => "DiagnosticReport",
            KeyedType::ServiceRequest => "ServiceRequest",
            KeyedType::Device => "Device",
            KeyedType::Organization => "Organization",
            KeyedType::PractitionerRole => "PractitionerRole",
            KeyedType::Condition => "Condition",
            KeyedType::AllergyIntolerance => "AllergyIntolerance",
        }
    }

    /// The start of the key of a resource of this type: no type's is the
    /// start of another's, and a Location's is the one PL keys have always
    /// had (`location`), so their ids are unchanged.
    pub(crate) fn key_tag(self) -> &'static str {
        match self {
            KeyedType::Location => "location",
            KeyedType::Encounter => "encounter",
            KeyedType::Observation => "observation",
            KeyedType::DiagnosticReport => "diagnostic-report",
            KeyedType::ServiceRequest => "service-request",
            KeyedType::Device => "device",
            KeyedType::Organization => "organization",
            KeyedType::PractitionerRole => "practitioner-role",
            KeyedType::Condition => "condition",
            KeyedType::AllergyIntolerance => "allergy-intolerance",
        }
    }
}

/// The constant starts of [`Value::Prefixed`] strings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Prefix {
    /// `http://terminology.hl7.org/CodeSystem/`
    Terminology,
    /// `http://terminology.hl7.org/CodeSystem/v2-`
    V2,
    /// `https://fhir.hl7.org.uk/CodeSystem/`
    UkCore,
    /// `https://fhir.hl7.org.uk/CodeSystem/UKCore-`
    UkCoreDash,
}

impl Prefix {
    /// The prefix whose text `start` is, if it is one of them.
    pub(crate) fn of(start: &str) -> Option<Prefix> {
        [
            Prefix::Terminology,
            Prefix::V2,
            Prefix::UkCore,
            Prefix::UkCoreDash,
        ]
        .into_iter()
        .find(|p| p.as_str() == start)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Prefix::Terminology => "http://terminology.hl7.org/CodeSystem/",
            Prefix::V2 => "http://terminology.hl7.org/CodeSystem/v2-",
            Prefix::UkCore => "https://fhir.hl7.org.uk/CodeSystem/",
            Prefix::UkCoreDash => "https://fhir.hl7.org.uk/CodeSystem/UKCore-",
        }
    }
}

/// Compact JSON, as [`Value::write`] appends it (of a copy).
impl std::fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = Vec::new();
        self.clone().write(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

/// RFC 8259 `number`: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(b: &[u8]) -> bool {
    let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let rest = |i: usize| b.get(i..).unwrap_or_default();
    let int = digits(rest(i));
    if int == 0 || (int > 1 && rest(i).first() == Some(&b'0')) {
        return false;
    }
    i += int;
    if rest(i).first() == Some(&b'.') {
        let frac = digits(rest(i + 1));
        if frac == 0 {
            return false;
        }
        i += 1 + frac;
    }
    if matches!(rest(i).first(), Some(b'e' | b'E')) {
        i += 1;
        if matches!(rest(i).first(), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = digits(rest(i));
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

/// A JSON string literal (RFC 8259 escapes: `"`, `\\`, and controls); runs
/// of plain text are copied whole. Text is tested eight bytes at a time
/// ([`needs_escape`]); only a word that may hold such a byte is looked at
/// byte by byte.
///
/// A FHIR string is never blank and holds no control character but tab, LF
/// and CR (R4 `string`: `[ \r\n\t\S]+`): blank text ([`blank_text`]) is
/// written `""` (which the object or array it is in leaves out), and the
/// other control characters are not written ([`is_control`]), as the HL7 v2
/// reader drops them. The Bundle writers list such values in `not_written`.
fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    if !blank_text(s) {
        write_str_body(out, s);
    }
    out.push(b'"');
}

/// A control character a FHIR string may not hold: below U+0020 other
/// than tab, LF and CR (as the HL7 v2 reader's).
pub(crate) fn is_control(b: u8) -> bool {
    b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')
}

/// A character no FHIR string has content of: white space, or a control
/// character ([`is_control`]).
fn void_char(c: char) -> bool {
    c.is_whitespace() || u8::try_from(c).is_ok_and(is_control)
}

/// True for text that is no FHIR string: empty, or nothing but white space
/// and control characters (which are not written).
#[inline]
pub(crate) fn blank_text(s: &str) -> bool {
    // Most text starts with a printable ASCII character: no walk.
    match s.as_bytes().first() {
        Some(b) if b.is_ascii_graphic() => false,
        _ => s.chars().all(void_char),
    }
}

/// `s` without the white space and control characters around it.
#[inline]
pub(crate) fn trim_text(s: &str) -> &str {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        // Most text: nothing around it (no walk).
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => s,
        _ => s.trim_matches(void_char),
    }
}

/// Text as the FHIR string [`write_str`] writes: empty when blank, without
/// its control characters.
fn fhir_text(s: Cow<'_, str>) -> String {
    if blank_text(&s) {
        String::new()
    } else if s.bytes().any(is_control) {
        s.chars()
            .filter(|c| !u8::try_from(*c).is_ok_and(is_control))
            .collect()
    } else {
        s.into_owned()
    }
}

/// True when `written` (a value's JSON text) is nothing R4 may hold: `{}`,
/// `[]` or `""` (ele-1; a string has content).
#[inline]
fn wrote_nothing(written: Option<&[u8]>) -> bool {
    matches!(written, Some(b"{}" | b"[]" | b"\"\""))
}

/// [`wrote_nothing`] for a `serde_json::Value`.
fn serde_nothing(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.is_empty(),
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// [`write_str`] without the quotes.
fn write_str_body(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in words.by_ref() {
        let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        if needs_escape(w) {
            for (j, &b) in word.iter().enumerate() {
                escape(out, bytes, &mut start, at + j, b);
            }
        }
        at += 8;
    }
    // The tail, padded with spaces (which need no escape) to one more word.
    let tail = words.remainder();
    let mut last = [b' '; 8];
    if let Some(head) = last.get_mut(..tail.len()) {
        head.copy_from_slice(tail);
    }
    if needs_escape(u64::from_le_bytes(last)) {
        for (j, &b) in tail.iter().enumerate() {
            escape(out, bytes, &mut start, at + j, b);
        }
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
}

/// True when one of the eight bytes of `w` is a control (< 0x20), `"` or
/// `\\` (the classic "has a zero byte" / "has a byte less than n" word
/// tests; exact for "any", which is all that is asked).
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q;
    let bs = w ^ (ONES * u64::from(b'\\'));
    let backslash = bs.wrapping_sub(ONES) & !bs;
    (control | quote | backslash) & HIGH != 0
}

/// If `b` (at `at` in `bytes`) needs escaping: copies the plain run before
/// it, writes its escape and moves `start` past it.
fn escape(out: &mut Vec<u8>, bytes: &[u8], start: &mut usize, at: usize, b: u8) {
    let esc: &[u8] = match b {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        // Not in a FHIR string (see `write_str`): left out.
        0..=0x1f => b"",
        _ => return,
    };
    out.extend_from_slice(bytes.get(*start..at).unwrap_or_default());
    out.extend_from_slice(esc);
    *start = at + 1;
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::String(Cow::Borrowed(s))
    }
}

impl<'a> From<&&'a str> for Value<'a> {
    fn from(s: &&'a str) -> Self {
        Value::String(Cow::Borrowed(s))
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(s: &'a String) -> Self {
        Value::String(Cow::Borrowed(s))
    }
}

impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::String(Cow::Owned(s))
    }
}

impl<'a> From<Cow<'a, str>> for Value<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value<'_> {
            fn from(n: $t) -> Self {
                Value::int(i128::from(n))
            }
        }
    )*};
}
from_int!(u8, u16, u32, u64, i32, i64);

impl From<usize> for Value<'_> {
    fn from(n: usize) -> Self {
        // usize is at most 64 bits wide.
        Value::int(i128::try_from(n).unwrap_or(0))
    }
}

impl<'a> From<Map<'a>> for Value<'a> {
    fn from(m: Map<'a>) -> Self {
        Value::Object(m)
    }
}

impl<'a, T: Into<Value<'a>>> From<Vec<T>> for Value<'a> {
    fn from(v: Vec<T>) -> Self {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}

impl<'a> From<&'a Vec<String>> for Value<'a> {
    fn from(v: &'a Vec<String>) -> Self {
        Value::Array(v.iter().map(Value::from).collect())
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// `json!`-style literals for [`Value`]: `{"key": expr, …}`, `[expr, …]`,
/// `null`, or an expression turned into a value with `From` (by value: write
/// `&x` to borrow). Object keys are string literals.
macro_rules! json {
    (null) => { $crate::fhir::tree::Value::Null };
    ([]) => { $crate::fhir::tree::Value::Array(::std::vec::Vec::new()) };
    ([ $($tt:tt)+ ]) => {
        $crate::fhir::tree::Value::Array(json!(@array [] $($tt)+))
    };
    ({}) => { $crate::fhir::tree::Value::Object($crate::fhir::tree::Map::with_capacity(0)) };
    ({ $($tt:tt)+ }) => {
        $crate::fhir::tree::Value::Object($crate::fhir::tree::Map::from_unique(
            json!(@object [] $($tt)+),
        ))
    };
    ($e:expr) => { $crate::fhir::tree::Value::from($e) };

    // Array elements, accumulated.
    (@array [$($done:expr,)*]) => { vec![$($done,)*] };
    (@array [$($done:expr,)*] null $(, $($rest:tt)*)?) => {
        json!(@array [$($done,)* json!(null),] $($($rest)*)?)
    };
    (@array [$($done:expr,)*] [$($inner:tt)*] $(, $($rest:tt)*)?) => {
        json!(@array [$($done,)* json!([$($inner)*]),] $($($rest)*)?)
    };
    (@array [$($done:expr,)*] {$($inner:tt)*} $(, $($rest:tt)*)?) => {
        json!(@array [$($done,)* json!({$($inner)*}),] $($($rest)*)?)
    };
    (@array [$($done:expr,)*] $e:expr $(, $($rest:tt)*)?) => {
        json!(@array [$($done,)* json!($e),] $($($rest)*)?)
    };

    // Object members, accumulated as (key, value) pairs.
    (@object [$($done:expr,)*]) => { vec![$($done,)*] };
    (@object [$($done:expr,)*] $k:literal : null $(, $($rest:tt)*)?) => {
        json!(@object [$($done,)* ($k, json!(null)),] $($($rest)*)?)
    };
    (@object [$($done:expr,)*] $k:literal : [$($inner:tt)*] $(, $($rest:tt)*)?) => {
        json!(@object [$($done,)* ($k, json!([$($inner)*])),] $($($rest)*)?)
    };
    (@object [$($done:expr,)*] $k:literal : {$($inner:tt)*} $(, $($rest:tt)*)?) => {
        json!(@object [$($done,)* ($k, json!({$($inner)*})),] $($($rest)*)?)
    };
    (@object [$($done:expr,)*] $k:literal : $v:expr $(, $($rest:tt)*)?) => {
        json!(@object [$($done,)* ($k, json!($v)),] $($($rest)*)?)
    };
}
pub(crate) use json;

/// A [`Value::Raw`] from a JSON literal of string literals, arrays and
/// objects, made compact at compile time: `raw!({"coding": [{"code": "bd"}]})`.
/// The strings are written as given, so they must not need escaping (URLs,
/// codes and displays; the tests parse every fragment back).
macro_rules! raw {
    (@text [ $($v:tt),* ]) => { concat!("[", raw!(@seq $($v),*), "]") };
    (@text { $($k:literal : $v:tt),* }) => { concat!("{", raw!(@members $($k : $v),*), "}") };
    (@text $s:literal) => { concat!("\"", $s, "\"") };
    (@seq) => { "" };
    (@seq $v:tt) => { raw!(@text $v) };
    (@seq $v:tt, $($rest:tt),+) => { concat!(raw!(@text $v), ",", raw!(@seq $($rest),+)) };
    (@members) => { "" };
    (@members $k:literal : $v:tt) => { concat!("\"", $k, "\":", raw!(@text $v)) };
    (@members $k:literal : $v:tt, $($rk:literal : $rv:tt),+) => {
        concat!("\"", $k, "\":", raw!(@text $v), ",", raw!(@members $($rk : $rv),+))
    };
    ($($tt:tt)+) => { $crate::fhir::tree::Value::Raw(raw!(@text $($tt)+)) };
}
pub(crate) use raw;

#[cfg(test)]
mod tests {
    use super::*;

    /// `prune_long` leaves out strings over R4's limit of members R4 limits,
    /// and what is left empty by that (a `code` concept becomes
    /// data-absent-reason); `uri`, `code`, Base64 and XHTML members are kept
    /// whole; each text left out is noted once, by the caller's list or by
    /// the object built ([`Obj`]) until it is pruned.
    #[test]
    fn prune_long_leaves_out_only_limited_strings_over_the_limit() {
        let long = "x".repeat(MAX_STRING_CHARS + 1);
        let at_limit = "y".repeat(MAX_STRING_CHARS);
        let text = |s: &str| Value::String(Cow::Owned(s.to_owned()));
        let mut v = Value::Object(Map::from_unique(vec![
            (
                "note",
                Value::Array(vec![Value::Object(Map::from_unique(vec![(
                    "text",
                    text(&long),
                )]))]),
            ),
            (
                "code",
                Value::Object(Map::from_unique(vec![("text", text(&long))])),
            ),
            ("comment", text(&at_limit)),
            ("data", text(&long)),
            ("div", text(&long)),
            ("system", Value::Prefixed(Prefix::UkCore, &long)),
            ("display", Value::Hole(&[r#"{"display":"#, "}"], &long)),
        ]));
        let mut dropped = Vec::new();
        assert!(!v.prune_long("", &mut dropped));
        let mut out = Vec::new();
        v.write(&mut out);
        let back: serde_json::Value = serde_json::from_slice(&out).unwrap_or_default();
        let keys: Vec<&str> = back
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys, ["code", "comment", "data", "div", "system"]);
        assert_eq!(
            back.pointer("/code/extension/0/valueCode"),
            Some(&serde_json::json!("unknown"))
        );
        assert_eq!(dropped, [text_hash(&long)]);
        // Built as an object: the member is left out as it is written, and
        // the object hands its hash on when pruned, also from inside another.
        let mut o = Obj::with_capacity(8);
        o.str("family", &long);
        o.strs("given", &[long.clone(), "Ann".into()]);
        let mut outer = Obj::with_capacity(8);
        outer.value("name", o.finish().in_array());
        let mut name = outer.finish();
        let mut dropped = Vec::new();
        assert!(!name.prune_long("", &mut dropped));
        assert_eq!(dropped, [text_hash(&long)]);
        let mut out = Vec::new();
        name.write(&mut out);
        assert_eq!(out, br#"{"name":[{"given":["Ann"]}]}"#);
    }

    #[test]
    fn writes_compact_json_that_serde_json_reads_back() {
        let name = String::from("O'Brien \"Jr\"\n\u{1}é");
        let v = json!({
            "resourceType": "Patient",
            "name": [{"family": &name, "given": ["A", "B"]}],
            "active": true,
            "rank": 2u32,
            "deceased": null,
            "value": Value::number("7.50".into()),
        });
        let mut out = Vec::new();
        v.clone().write(&mut out);
        let text = String::from_utf8(out).unwrap();
        // U+0001 is no FHIR string's: left out; null members too.
        assert!(
            text.starts_with(r#"{"resourceType":"Patient","name":[{"family":"O'Brien \"Jr\"\né""#)
        );
        assert!(!text.contains("deceased"), "{text}");
        assert!(text.ends_with(r#""value":7.50}"#), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v.clone().into_serde());
        assert_eq!(back["name"][0]["family"], name.replace('\u{1}', ""));
    }

    #[test]
    fn blank_strings_and_what_they_leave_empty_are_not_written() {
        // R4: a string has content; no object or array is empty (ele-1).
        let v = json!({
            "a": " \t",
            "b": [" ", "\u{1}", {"c": "", "d": {"e": "\u{7} "}}],
            "f": Value::Hole(&[r#"{"text":"#, "}"], "  "),
            "g": [Value::Hole(&[r#"{"text":"#, "}"], "\u{0}")],
            "h": [{}, "x\u{0}y"],
        });
        let mut out = Vec::new();
        v.clone().write(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"h":["xy"]}"#);
        assert_eq!(v.into_serde(), serde_json::json!({"h": ["xy"]}));
        let mut o = Obj::with_capacity(16);
        o.str("a", "\u{1} \u{2}");
        o.strs("b", &["\u{3}".into(), " ".into()]);
        o.value("c", json!({"d": [" "]}));
        assert!(o.finish().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn any_string_writes_as_json_that_reads_back(s in ".*", k in "[a-z]{1,8}") {
            let v = json!({"k": &s, "a": [&k, null]});
            let mut out = Vec::new();
            v.clone().write(&mut out);
            let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
            // Without the control characters FHIR strings may not hold; a
            // blank one not at all.
            let fhir: String = s.chars().filter(|c| !u8::try_from(*c).is_ok_and(is_control)).collect();
            let fhir = (!blank_text(&s)).then_some(fhir.as_str());
            proptest::prop_assert_eq!(back["k"].as_str(), fhir);
            proptest::prop_assert_eq!(back["a"][0].as_str(), Some(k.as_str()));
            proptest::prop_assert_eq!(&back, &v.into_serde());
        }
    }

    #[test]
    fn every_ascii_char_at_every_chunk_position_round_trips() {
        let all: String = (0u8..=127).map(char::from).collect();
        for shift in 0..17 {
            let s = format!("{}{all}é{all}", "x".repeat(shift));
            let mut out = Vec::new();
            write_str(&mut out, &s);
            let back: String = serde_json::from_slice(&out).unwrap();
            // Control characters but tab, LF and CR are not written.
            let fhir: String = s
                .chars()
                .filter(|c| !u8::try_from(*c).is_ok_and(is_control))
                .collect();
            assert_eq!(back, fhir);
        }
    }

    #[test]
    fn the_word_test_finds_exactly_the_bytes_to_escape() {
        // Every byte value at every position, among plain and high bytes.
        for fill in [b'a', 0xc3, 0x7f, b' '] {
            for pos in 0..8 {
                for b in 0u8..=255 {
                    let mut word = [fill; 8];
                    word[pos] = b;
                    let expect = word.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
                    assert_eq!(needs_escape(u64::from_le_bytes(word)), expect, "{word:?}");
                }
            }
        }
    }

    #[test]
    fn raw_fragments_are_compact_json_written_as_they_are() {
        let v = raw!({"coding": [{"system": "http://x/y", "code": "bd"}], "a": [], "b": {}, "c": ["1", "2"]});
        let Value::Raw(text) = v else {
            panic!("not raw")
        };
        assert_eq!(
            text,
            r#"{"coding":[{"system":"http://x/y","code":"bd"}],"a":[],"b":{},"c":["1","2"]}"#
        );
        let tree = json!({"k": v.clone(), "n": null});
        let mut out = Vec::new();
        tree.clone().write(&mut out);
        // A null member is no member (FHIR JSON has none).
        assert_eq!(out, format!(r#"{{"k":{text}}}"#).into_bytes());
        let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, tree.into_serde());
        assert!(!v.is_empty());
    }

    #[test]
    fn uuid_text_is_the_hex_of_the_bits_with_version_and_variant() {
        let bits = [0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210];
        assert_eq!(&uuid_text(bits), b"01234567-89ab-4def-8edc-ba9876543210");
        let v = Uuid::new(bits).urn().reference();
        let mut out = Vec::new();
        v.clone().write(&mut out);
        assert_eq!(
            out,
            br#"{"reference":"urn:uuid:01234567-89ab-4def-8edc-ba9876543210"}"#
        );
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&out).unwrap(),
            v.into_serde()
        );
        // A relative URL by id (the id, not the full URL, follows the type).
        let v = Uuid::new(bits).urn().keyed(KeyedType::Location);
        let mut out = Vec::new();
        v.clone().write(&mut out);
        assert_eq!(out, br#""Location/01234567-89ab-4def-8edc-ba9876543210""#);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&out).unwrap(),
            v.into_serde()
        );
    }

    #[test]
    fn inline_values_write_as_their_text_and_stay_small() {
        assert!(std::mem::size_of::<Value<'_>>() <= 32);
        for (v, text) in [
            (Value::from(-42i64), "-42"),
            (Value::from(u64::MAX), "18446744073709551615"),
            (
                Value::short(b"2024-03-12T09:15:00.123+00:00"),
                "\"2024-03-12T09:15:00.123+00:00\"",
            ),
            (Value::short(b"a\"b"), r#""a\"b""#),
            (
                Value::Prefixed(Prefix::V2, "0203\""),
                r#""http://terminology.hl7.org/CodeSystem/v2-0203\"""#,
            ),
            (Value::number_text(b"7.50").unwrap(), "7.50"),
            (
                Value::Hole(&[r#"{"display":"#, "}"], "a\"b"),
                r#"{"display":"a\"b"}"#,
            ),
        ] {
            let mut out = Vec::new();
            v.clone().write(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), text);
            let back: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(back, v.into_serde());
        }
        assert!(Value::short(b"").is_empty());
        let hole = Value::Hole(&[r#"{"a":["#, "]}"], "x").into_static();
        let mut out = Vec::new();
        hole.write(&mut out);
        assert_eq!(out, br#"{"a":["x"]}"#);
    }

    #[test]
    fn objects_written_as_built_are_the_maps_they_replace() {
        let given = vec![String::from("A \"B\""), String::new()];
        let mut o = Obj::with_capacity(4);
        o.str("use", "");
        o.str("family", "O'Brien\n");
        o.strs("given", &given);
        o.strs("prefix", &[]);
        o.value("rank", Value::from(2u32));
        o.value("period", json!({}));
        let v = o.finish();
        // Strings are written trimmed; blank ones are left out.
        let mut m = Map::new();
        m.insert("family", json!("O'Brien"));
        m.insert("given", json!([&given[0]]));
        m.insert("rank", json!(2u32));
        let (mut ours, mut tree) = (Vec::new(), Vec::new());
        v.clone().write(&mut ours);
        Value::Object(m.clone()).write(&mut tree);
        assert_eq!(ours, tree);
        assert_eq!(v.into_serde(), Value::Object(m).into_serde());
        assert!(Obj::with_capacity(0).finish().is_empty());
        // An empty object is no item: an empty array, left out.
        assert!(Obj::with_capacity(0).finish().in_array().is_empty());
        let mut one = Obj::with_capacity(8);
        one.str("a", "b");
        let one = one.finish().in_array();
        let mut out = Vec::new();
        one.clone().write(&mut out);
        assert_eq!(out, br#"[{"a":"b"}]"#);
        assert_eq!(one.into_serde(), serde_json::json!([{"a": "b"}]));
        assert_eq!(
            Value::from("a").in_array(),
            Value::Array(vec![Value::from("a")])
        );
    }

    #[test]
    fn insert_replaces_in_place_and_numbers_are_checked() {
        let mut m = Map::new();
        m.insert("a", json!("1"));
        m.insert("b", json!("2"));
        assert_eq!(m.insert("a", json!("3")), Some(json!("1")));
        assert_eq!(m.0.iter().map(|(k, _)| *k).collect::<Vec<_>>(), ["a", "b"]);
        assert!(Value::number("1e3".into()).is_some());
        for bad in ["", "abc", "1.", "NaN", "01", "+1", "1 2", "\"1\""] {
            assert_eq!(Value::number(bad.into()), None, "{bad}");
        }
    }
}
