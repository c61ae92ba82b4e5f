//! FHIR JSON text → FHIR XML, driven by the element table: elements in
//! definition order, primitives as `value` attributes merged with their `_name`
//! twins, nested resources wrapped, XHTML verbatim.

use super::error::{Error, ErrorKind, Result, excerpt};
use super::json::{self, Json, Member, Value};
use super::table::{self, Elem, Kind, Type};
use super::text::xml_attr;
use super::{FHIR_NS, MAX_DEPTH};

/// Converts one FHIR JSON resource to FHIR XML. `indent`: spaces per level, or none.
pub(crate) fn json_to_xml(input: &[u8], indent: Option<usize>) -> Result<String> {
    let root = json::parse(input)?;
    let mut w = Writer {
        input,
        out: String::with_capacity(input.len() + input.len() / 2),
        indent,
        level: 0,
        path: Vec::new(),
    };
    w.resource(&root, true)?;
    if indent.is_some() {
        w.out.push('\n');
    }
    Ok(w.out)
}

/// One step of the element path, for error messages.
struct Seg {
    name: &'static str,
    index: Option<usize>,
}

struct Writer<'i> {
    input: &'i [u8],
    out: String,
    indent: Option<usize>,
    level: usize,
    path: Vec<Seg>,
}

/// The JSON members that make up one XML element (or run of elements).
struct Group<'v, 'a> {
    elem: &'static Elem,
    main: Option<&'v Value<'a>>,
    side: Option<&'v Value<'a>>,
}

impl<'i> Writer<'i> {
    #[cold]
    fn err(&self, kind: ErrorKind, at: usize) -> Error {
        let mut path = String::new();
        for (i, seg) in self.path.iter().enumerate() {
            if i > 0 {
                path.push('.');
            }
            path.push_str(seg.name);
            if let Some(index) = seg.index {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
        }
        Error::new(kind).at(self.input, at).with_path(|| path)
    }

    #[cold]
    fn type_err(&self, expected: &'static str, found: &Value<'_>) -> Error {
        self.err(
            ErrorKind::JsonType {
                expected,
                found: found.json.describe(),
            },
            found.offset,
        )
    }

    fn newline(&mut self) {
        if let Some(n) = self.indent {
            if !self.out.is_empty() {
                self.out.push('\n');
            }
            for _ in 0..self.level.saturating_mul(n) {
                self.out.push(' ');
            }
        }
    }

    fn enter(&mut self, at: usize) -> Result<()> {
        self.level += 1;
        if self.level > MAX_DEPTH {
            return Err(self.err(ErrorKind::TooDeep(MAX_DEPTH), at));
        }
        Ok(())
    }

    /// `{"resourceType":"X",...}` → `<X>...</X>`.
    fn resource(&mut self, value: &Value<'_>, root: bool) -> Result<()> {
        let Json::Obj(members) = &value.json else {
            return Err(self.type_err("a resource object", value));
        };
        let rt = members.iter().find(|m| m.key == "resourceType");
        let Some(rt) = rt else {
            return Err(self.err(ErrorKind::MissingResourceType, value.offset));
        };
        let Json::Str(name) = &rt.value.json else {
            return Err(self.type_err("a string", &rt.value));
        };
        let Some(ty) = table::resource(name) else {
            return Err(self.err(ErrorKind::UnknownResource(excerpt(name)), rt.value.offset));
        };
        if root {
            self.path.push(Seg {
                name: ty.name,
                index: None,
            });
        }
        self.newline();
        self.out.push('<');
        self.out.push_str(ty.name);
        if root {
            self.out.push_str(" xmlns=\"");
            self.out.push_str(FHIR_NS);
            self.out.push('"');
        }
        self.body(ty.name, ty, members, value.offset, true)?;
        if root {
            self.path.pop();
        }
        Ok(())
    }

    /// Writes the attributes and children of an element whose start tag is open
    /// (`<name` written), then closes it (`/>` or `>...</name>`).
    fn body(
        &mut self,
        name: &str,
        ty: &'static Type,
        members: &[Member<'_>],
        at: usize,
        is_resource: bool,
    ) -> Result<()> {
        // Attributes, then gather the element groups.
        let mut groups: Vec<Group<'_, '_>> = Vec::with_capacity(members.len());
        for m in members {
            if is_resource && m.key == "resourceType" {
                continue;
            }
            let (key, side) = match m.key.strip_prefix('_') {
                Some(k) => (k, true),
                None => (&*m.key, false),
            };
            let Some(elem) = ty.get(key) else {
                return Err(self.err(ErrorKind::UnknownElement(excerpt(&m.key)), m.value.offset));
            };
            if elem.kind == Kind::Attr && !side {
                let Json::Str(s) = &m.value.json else {
                    return Err(self.type_err("a string", &m.value));
                };
                self.out.push(' ');
                self.out.push_str(elem.name);
                self.out.push_str("=\"");
                xml_attr(s, &mut self.out).map_err(|k| self.err(k, m.value.offset))?;
                self.out.push('"');
                continue;
            }
            if side && !elem.kind.is_primitive() {
                return Err(self.err(ErrorKind::UnknownElement(excerpt(&m.key)), m.value.offset));
            }
            match groups.iter_mut().find(|g| std::ptr::eq(g.elem, elem)) {
                Some(g) => {
                    if side {
                        g.side = Some(&m.value);
                    } else {
                        g.main = Some(&m.value);
                    }
                }
                None => groups.push(Group {
                    elem,
                    main: (!side).then_some(&m.value),
                    side: side.then_some(&m.value),
                }),
            }
        }
        groups.sort_by_key(|g| g.elem.order);
        for pair in groups.windows(2) {
            if let [a, b] = pair {
                if a.elem.order == b.elem.order {
                    let at = b.main.or(b.side).map_or(at, |v| v.offset);
                    return Err(self.err(
                        ErrorKind::ChoiceConflict(a.elem.name.to_owned(), b.elem.name.to_owned()),
                        at,
                    ));
                }
            }
        }
        // A repeating element given as `[]` (not valid FHIR JSON, read
        // leniently) has no item to write: without it the element may be
        // empty, and is then written `<name/>`, as reading that back and
        // writing it again gives.
        let no_items = |v: Option<&Value<'_>>| {
            v.is_none_or(|v| matches!(&v.json, Json::Arr(items) if items.is_empty()))
        };
        groups.retain(|g| !(g.elem.repeating && no_items(g.main) && no_items(g.side)));
        if groups.is_empty() {
            self.out.push_str("/>");
            return Ok(());
        }
        self.out.push('>');
        self.enter(at)?;
        for g in &groups {
            self.group(g)?;
        }
        self.level -= 1;
        self.newline();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        Ok(())
    }

    fn group(&mut self, g: &Group<'_, '_>) -> Result<()> {
        let elem = g.elem;
        let items_main = self.items(elem, g.main)?;
        let items_side = self.items(elem, g.side)?;
        let count = match (items_main, items_side) {
            (Some(a), Some(b)) => {
                if a.len() != b.len() {
                    let at = g.side.map_or(0, |v| v.offset);
                    return Err(self.err(
                        ErrorKind::Json(format!(
                            "`{0}` and `_{0}` have different lengths",
                            elem.name
                        )),
                        at,
                    ));
                }
                a.len()
            }
            (Some(a), None) => a.len(),
            (None, Some(b)) => b.len(),
            (None, None) => 0,
        };
        for i in 0..count {
            self.path.push(Seg {
                name: elem.name,
                index: elem.repeating.then_some(i),
            });
            // Where item `i` is, `null` or not (for an error about an item that is nothing).
            let at = [items_main, items_side]
                .into_iter()
                .find_map(|items| items.and_then(|v| v.get(i)))
                .or(g.main)
                .or(g.side)
                .map_or(0, |v| v.offset);
            self.item(elem, present(items_main, i), present(items_side, i), at)?;
            self.path.pop();
        }
        Ok(())
    }

    /// The values of one group member: the array of a repeating element, the one
    /// value otherwise (JSON `null` entries are padding).
    fn items<'v, 'a>(
        &self,
        elem: &'static Elem,
        value: Option<&'v Value<'a>>,
    ) -> Result<Option<&'v [Value<'a>]>> {
        let Some(value) = value else {
            return Ok(None);
        };
        match (&value.json, elem.repeating) {
            (Json::Arr(items), true) => Ok(Some(items)),
            (_, true) => Err(self.type_err("an array", value)),
            (Json::Arr(_), false) => {
                Err(self.err(ErrorKind::NotRepeating(elem.name.to_owned()), value.offset))
            }
            (_, false) => Ok(Some(std::slice::from_ref(value))),
        }
    }

    /// Writes item `main` (with its `_name` twin `side`) of element `elem`; `at` is where the
    /// item is in the input, for an error when it is `null`.
    fn item(
        &mut self,
        elem: &'static Elem,
        main: Option<&Value<'_>>,
        side: Option<&Value<'_>>,
        at: usize,
    ) -> Result<()> {
        match elem.kind {
            Kind::Str | Kind::Num | Kind::Int | Kind::Bool => self.primitive(elem, main, side, at),
            Kind::Complex(index) => {
                let Some(value) = main else {
                    return Err(self.err(ErrorKind::EmptyPrimitive(elem.name.to_owned()), at));
                };
                let Json::Obj(members) = &value.json else {
                    return Err(self.type_err("an object", value));
                };
                let Some(ty) = table::complex(index) else {
                    return Err(self.err(
                        ErrorKind::UnknownElement(elem.name.to_owned()),
                        value.offset,
                    ));
                };
                self.newline();
                self.out.push('<');
                self.out.push_str(elem.name);
                self.body(elem.name, ty, members, value.offset, false)?;
                Ok(())
            }
            Kind::Resource => {
                let Some(value) = main else {
                    return Err(self.err(ErrorKind::ResourceWrapper(elem.name.to_owned()), at));
                };
                self.newline();
                self.out.push('<');
                self.out.push_str(elem.name);
                self.out.push('>');
                self.enter(value.offset)?;
                self.resource(value, false)?;
                self.level -= 1;
                self.newline();
                self.out.push_str("</");
                self.out.push_str(elem.name);
                self.out.push('>');
                Ok(())
            }
            Kind::Xhtml => {
                let Some(value) = main else {
                    return Err(self.err(ErrorKind::EmptyPrimitive(elem.name.to_owned()), at));
                };
                let Json::Str(div) = &value.json else {
                    return Err(self.type_err("a string", value));
                };
                let div = div.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
                let has_ns = super::xhtml::check_div(div)
                    .map_err(|k| self.err(k, value.offset))?
                    .is_some();
                self.newline();
                match div.strip_prefix("<div").filter(|_| !has_ns) {
                    // Declare the XHTML namespace on the div, as the reader does.
                    Some(rest) => {
                        self.out.push_str("<div xmlns=\"");
                        self.out.push_str(super::XHTML_NS);
                        self.out.push('"');
                        self.out.push_str(rest);
                    }
                    None => self.out.push_str(div),
                }
                Ok(())
            }
            Kind::Attr => Ok(()),
        }
    }

    fn primitive(
        &mut self,
        elem: &'static Elem,
        main: Option<&Value<'_>>,
        side: Option<&Value<'_>>,
        at: usize,
    ) -> Result<()> {
        let mut id = None;
        let mut ext = None;
        if let Some(side) = side {
            let Json::Obj(members) = &side.json else {
                return Err(self.type_err("an object", side));
            };
            for m in members {
                match &*m.key {
                    "id" => id = Some(&m.value),
                    "extension" => ext = Some(&m.value),
                    _ => {
                        return Err(
                            self.err(ErrorKind::UnknownElement(excerpt(&m.key)), m.value.offset)
                        );
                    }
                }
            }
        }
        if main.is_none() && id.is_none() && ext.is_none() {
            let at = side.map_or(at, |v| v.offset);
            return Err(self.err(ErrorKind::EmptyPrimitive(elem.name.to_owned()), at));
        }
        self.newline();
        self.out.push('<');
        self.out.push_str(elem.name);
        if let Some(id) = id {
            let Json::Str(s) = &id.json else {
                return Err(self.type_err("a string", id));
            };
            self.out.push_str(" id=\"");
            xml_attr(s, &mut self.out).map_err(|k| self.err(k, id.offset))?;
            self.out.push('"');
        }
        if let Some(value) = main {
            self.out.push_str(" value=\"");
            match (&value.json, elem.kind) {
                (Json::Str(s), Kind::Str) => {
                    xml_attr(s, &mut self.out).map_err(|k| self.err(k, value.offset))?;
                }
                (Json::Num(n), Kind::Num) => self.out.push_str(n),
                (Json::Num(n), Kind::Int) => {
                    if !crate::primitive::is_integer_literal(n) {
                        return Err(self.err(not_integer(n), value.offset));
                    }
                    self.out.push_str(n);
                }
                (Json::Bool(b), Kind::Bool) => self.out.push_str(if *b { "true" } else { "false" }),
                (_, Kind::Num | Kind::Int) => return Err(self.type_err("a number", value)),
                (_, Kind::Bool) => return Err(self.type_err("a boolean", value)),
                _ => return Err(self.type_err("a string", value)),
            }
            self.out.push('"');
        }
        match ext {
            None => self.out.push_str("/>"),
            Some(ext) => {
                self.out.push('>');
                self.enter(ext.offset)?;
                let element = table::element();
                let Some(ext_elem) = element.get("extension") else {
                    return Err(self.err(ErrorKind::UnknownElement("extension".into()), ext.offset));
                };
                self.group(&Group {
                    elem: ext_elem,
                    main: Some(ext),
                    side: None,
                })?;
                self.level -= 1;
                self.newline();
                self.out.push_str("</");
                self.out.push_str(elem.name);
                self.out.push('>');
            }
        }
        Ok(())
    }
}

/// A JSON number that is not in R4's integer form, for an `integer`, `positiveInt` or
/// `unsignedInt` element (`1e2`, `2.0`).
#[cold]
fn not_integer(n: &str) -> ErrorKind {
    ErrorKind::InvalidValue {
        expected: "integer",
        value: excerpt(n),
    }
}

/// Item `i` of a group member, unless absent or `null` (padding).
fn present<'v, 'a>(items: Option<&'v [Value<'a>]>, i: usize) -> Option<&'v Value<'a>> {
    items
        .and_then(|v| v.get(i))
        .filter(|v| !matches!(v.json, Json::Null))
}
