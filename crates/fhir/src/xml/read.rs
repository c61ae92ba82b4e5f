//! FHIR XML → FHIR JSON text, driven by the element table.
//!
//! One pass over quick-xml events from a slice reader. Nothing is ever resolved
//! from outside the document: a `<!DOCTYPE` is an error, attribute values know only
//! the five predefined entities and character references.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::error::{Error, ErrorKind, Result, excerpt};
use super::table::{self, Elem, Kind, Type};
use super::text::{self, decode_attr};
use super::{FHIR_NS, MAX_DEPTH, XHTML_NS};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Converts one FHIR XML resource to FHIR JSON text (compact).
pub(crate) fn xml_to_json(input: &[u8]) -> Result<String> {
    let (base, body) = split_bom(input);
    // A second mark is a U+FEFF character before the document: not XML.
    // (The XML reader would skip it too, and every byte position it gives,
    // by which the narrative is cut out verbatim, would be three short.)
    if body.starts_with(BOM) {
        return Err(Error::new(ErrorKind::UnexpectedText).at(input, base));
    }
    if let Err(e) = std::str::from_utf8(body) {
        return Err(Error::new(ErrorKind::InvalidUtf8).at(input, base + e.valid_up_to()));
    }
    if let Some((at, c)) = text::find_invalid_char(body) {
        return Err(Error::new(ErrorKind::InvalidChar(c)).at(input, base + at));
    }
    let mut conv = Conv::<false>::new(body, String::new());
    let mut out = String::with_capacity(body.len());
    conv.document(&mut out)
        .map_err(|e| e.at(input, base).with_path(String::new))?;
    Ok(out)
}

/// The byte offset in `input` of the element that the JSON element path `path` (as the
/// typed reader reports it, `Patient.name[0]._given[1].extension[0].valueInteger`) names,
/// or of its nearest enclosing element: the input is converted again, noting where each
/// element starts. Only called on the error path, so converting valid input pays nothing.
#[cold]
pub(crate) fn locate(input: &[u8], path: &str) -> Option<usize> {
    let (base, body) = split_bom(input);
    // `_given` is the JSON home of the `given` element's id and extensions.
    let target = path
        .split('.')
        .map(|seg| seg.strip_prefix('_').unwrap_or(seg))
        .collect::<Vec<_>>()
        .join(".");
    let mut conv = Conv::<true>::new(body, target);
    // The input converted before; an error now (there should be none) just ends the search.
    let _ = conv.document(&mut String::new());
    conv.found.map(|(_, at)| base + at)
}

/// The byte order mark's length (0 or 3) and the input after it.
fn split_bom(input: &[u8]) -> (usize, &[u8]) {
    match input.strip_prefix(BOM) {
        Some(rest) => (BOM.len(), rest),
        None => (0, input),
    }
}

/// One step of the element path, for error messages.
struct Seg {
    name: &'static str,
    index: Option<usize>,
}

/// Where an element starts and whether it is `<x/>`.
struct Open<'a> {
    tag: BytesStart<'a>,
    empty: bool,
    start: usize,
}

enum Next<'a> {
    Open(Open<'a>),
    Close,
    Eof,
}

/// An open run of same-named sibling elements (one JSON property, maybe an array).
struct Run {
    elem: &'static Elem,
    count: usize,
    /// Primitives only: values (JSON), and the `_name` part.
    main: String,
    side: String,
    any_main: bool,
    any_side: bool,
}

/// The converter; `LOCATE` is [`locate`]'s mode (noting where elements start), a
/// separate instance so that plain conversion does not even test for it.
struct Conv<'a, const LOCATE: bool> {
    body: &'a [u8],
    reader: Reader<&'a [u8]>,
    path: Vec<Seg>,
    depth: usize,
    pool: Vec<String>,
    attr: String,
    /// `LOCATE` only (else empty): the element path sought, in the form of `path_string`.
    target: String,
    /// The path length and start offset of the deepest element yet whose path is `target`
    /// or encloses it.
    found: Option<(usize, usize)>,
}

impl<'a, const LOCATE: bool> Conv<'a, LOCATE> {
    fn new(body: &'a [u8], target: String) -> Self {
        let mut reader = Reader::from_reader(body);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        Conv {
            body,
            reader,
            path: Vec::new(),
            depth: 0,
            pool: Vec::new(),
            attr: String::new(),
            target,
            found: None,
        }
    }

    /// [`locate`]: notes the element starting at `start` (its path is `self.path`) if it is
    /// the element sought or the deepest yet to enclose it.
    #[cold]
    fn mark(&mut self, start: usize) {
        let path = self.path_string();
        let encloses = self
            .target
            .strip_prefix(path.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['));
        if encloses && self.found.is_none_or(|(len, _)| path.len() > len) {
            self.found = Some((path.len(), start));
        }
    }

    fn document(&mut self, out: &mut String) -> Result<()> {
        let root = match self.next()? {
            Next::Open(open) => open,
            Next::Close => return Err(self.syntax("unexpected end tag", self.pos())),
            Next::Eof => return Err(Error::new(ErrorKind::MissingResourceType)),
        };
        self.resource(root, true, out)?;
        match self.next()? {
            Next::Eof => Ok(()),
            Next::Open(open) => Err(self.syntax("content after the root element", open.start)),
            Next::Close => Err(self.syntax("unexpected end tag", self.pos())),
        }
    }

    fn pos(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    #[cold]
    fn syntax(&self, what: &str, at: usize) -> Error {
        self.err(ErrorKind::Syntax(what.to_owned()), at)
    }

    #[cold]
    fn err(&self, kind: ErrorKind, at: usize) -> Error {
        let path = self.path_string();
        Error::new(kind).at(self.body, at).with_path(|| path)
    }

    fn path_string(&self) -> String {
        let mut s = String::new();
        for (i, seg) in self.path.iter().enumerate() {
            if i > 0 {
                s.push('.');
            }
            s.push_str(seg.name);
            if let Some(index) = seg.index {
                s.push('[');
                s.push_str(&index.to_string());
                s.push(']');
            }
        }
        s
    }

    /// The next element-level event, skipping comments, processing instructions
    /// and whitespace; rejecting text, CDATA and DOCTYPE.
    fn next(&mut self) -> Result<Next<'a>> {
        loop {
            let start = self.pos();
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(e) => {
                    let at = usize::try_from(self.reader.error_position()).unwrap_or(start);
                    return Err(self.err(ErrorKind::Syntax(e.to_string()), at));
                }
            };
            match event {
                Event::Start(tag) => {
                    return Ok(Next::Open(Open {
                        tag,
                        empty: false,
                        start,
                    }));
                }
                Event::Empty(tag) => {
                    return Ok(Next::Open(Open {
                        tag,
                        empty: true,
                        start,
                    }));
                }
                Event::End(_) => return Ok(Next::Close),
                Event::Eof => return Ok(Next::Eof),
                Event::Text(t) => {
                    if !t.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
                        return Err(self.err(ErrorKind::UnexpectedText, start));
                    }
                }
                Event::GeneralRef(_) | Event::CData(_) => {
                    return Err(self.err(ErrorKind::UnexpectedText, start));
                }
                Event::DocType(_) => return Err(self.err(ErrorKind::Doctype, start)),
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
            }
        }
    }

    fn enter(&mut self, at: usize) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(ErrorKind::TooDeep(MAX_DEPTH), at));
        }
        Ok(())
    }

    fn take_buf(&mut self) -> String {
        self.pool.pop().unwrap_or_default()
    }

    fn give_buf(&mut self, mut buf: String) {
        buf.clear();
        self.pool.push(buf);
    }

    /// Checks an element name: no prefix (FHIR elements live in the default namespace).
    fn local<'t>(&self, open: &'t Open<'_>) -> Result<&'t str> {
        let name = open.tag.name().into_inner();
        let name =
            std::str::from_utf8(name).map_err(|_| self.err(ErrorKind::InvalidUtf8, open.start))?;
        if name.contains(':') {
            return Err(self.err(
                ErrorKind::Namespace(format!("prefixed element `{}`", excerpt(name))),
                open.start,
            ));
        }
        Ok(name)
    }

    /// Handles a namespace declaration attribute; `Ok(true)` if `key` was one.
    /// The default namespace, where declared, must be FHIR's; prefixed
    /// declarations and prefixed attributes (`xsi:schemaLocation`) are ignored.
    fn namespace_attr(&mut self, key: &[u8], value: &[u8], at: usize) -> Result<bool> {
        if key == b"xmlns" {
            self.attr.clear();
            decode_attr(value, &mut self.attr).map_err(|k| self.err(k, at))?;
            if self.attr != FHIR_NS {
                return Err(self.err(
                    ErrorKind::Namespace(format!("xmlns=\"{}\"", excerpt(&self.attr))),
                    at,
                ));
            }
            return Ok(true);
        }
        Ok(key.contains(&b':'))
    }

    /// A resource element (the document root, or inside a wrapper): writes
    /// `{"resourceType":"Name",...}`.
    fn resource(&mut self, open: Open<'a>, root: bool, out: &mut String) -> Result<()> {
        let name = self.local(&open)?;
        let Some(ty) = table::resource(name) else {
            return Err(self.err(ErrorKind::UnknownResource(excerpt(name)), open.start));
        };
        let mut has_ns = false;
        for attr in open.tag.attributes() {
            let attr = attr.map_err(|e| self.err(ErrorKind::Syntax(e.to_string()), open.start))?;
            let key = attr.key.into_inner();
            if key == b"xmlns" {
                has_ns = true;
            }
            if !self.namespace_attr(key, &attr.value, open.start)? {
                return Err(self.err(
                    ErrorKind::UnexpectedAttribute(String::from_utf8_lossy(key).into_owned()),
                    open.start,
                ));
            }
        }
        if root && !has_ns {
            return Err(self.err(
                ErrorKind::Namespace(format!("`{name}` has no xmlns=\"{FHIR_NS}\"")),
                open.start,
            ));
        }
        if root {
            self.path.push(Seg {
                name: ty.name,
                index: None,
            });
            if LOCATE {
                self.mark(open.start);
            }
        }
        self.enter(open.start)?;
        out.push_str("{\"resourceType\":\"");
        out.push_str(ty.name);
        out.push('"');
        if !open.empty {
            self.children(ty, out, true)?;
        }
        out.push('}');
        self.depth -= 1;
        if root {
            self.path.pop();
        }
        Ok(())
    }

    /// Reads the child elements of a complex element up to its end tag, writing
    /// `"name":value` members (preceded by a comma unless `first` is false... i.e.
    /// `comma` says whether a member was already written).
    fn children(&mut self, ty: &'static Type, out: &mut String, mut comma: bool) -> Result<()> {
        let mut run: Option<Run> = None;
        let mut seen: Vec<&'static Elem> = Vec::new();
        loop {
            let open = match self.next()? {
                Next::Open(open) => open,
                Next::Close => break,
                Next::Eof => return Err(self.syntax("unexpected end of input", self.pos())),
            };
            let name = self.local(&open)?;
            let elem = match ty.get(name) {
                Some(elem) if elem.kind != Kind::Attr => elem,
                _ => {
                    return Err(self.err(ErrorKind::UnknownElement(excerpt(name)), open.start));
                }
            };
            let same = run.as_ref().is_some_and(|r| std::ptr::eq(r.elem, elem));
            if !same {
                if let Some(done) = run.take() {
                    self.close_run(done, out, &mut comma);
                }
                for other in &seen {
                    if std::ptr::eq(*other, elem) {
                        return Err(
                            self.err(ErrorKind::NotContiguous(elem.name.to_owned()), open.start)
                        );
                    }
                    if other.order == elem.order {
                        return Err(self.err(
                            ErrorKind::ChoiceConflict(other.name.to_owned(), elem.name.to_owned()),
                            open.start,
                        ));
                    }
                }
                seen.push(elem);
                let mut new = Run {
                    elem,
                    count: 0,
                    main: String::new(),
                    side: String::new(),
                    any_main: false,
                    any_side: false,
                };
                if elem.kind.is_primitive() {
                    new.main = self.take_buf();
                    new.side = self.take_buf();
                } else {
                    if comma {
                        out.push(',');
                    }
                    comma = true;
                    out.push('"');
                    out.push_str(elem.name);
                    out.push_str("\":");
                    if elem.repeating {
                        out.push('[');
                    }
                }
                run = Some(new);
            }
            let Some(current) = run.as_mut() else {
                continue;
            };
            if current.count > 0 && !elem.repeating {
                return Err(self.err(ErrorKind::NotRepeating(elem.name.to_owned()), open.start));
            }
            let index = elem.repeating.then_some(current.count);
            current.count += 1;
            self.path.push(Seg {
                name: elem.name,
                index,
            });
            if LOCATE {
                self.mark(open.start);
            }
            match elem.kind {
                Kind::Str | Kind::Num | Kind::Int | Kind::Bool => {
                    let mut main = std::mem::take(&mut current.main);
                    let mut side = std::mem::take(&mut current.side);
                    if index.is_some_and(|i| i > 0) {
                        main.push(',');
                        side.push(',');
                    }
                    let (has_main, has_side) = self.primitive(elem, open, &mut main, &mut side)?;
                    if let Some(current) = run.as_mut() {
                        current.main = main;
                        current.side = side;
                        current.any_main |= has_main;
                        current.any_side |= has_side;
                    }
                }
                Kind::Complex(index_) => {
                    if index.is_some_and(|i| i > 0) {
                        out.push(',');
                    }
                    let Some(inner) = table::complex(index_) else {
                        return Err(
                            self.err(ErrorKind::UnknownElement(name.to_owned()), open.start)
                        );
                    };
                    self.complex(inner, open, out)?;
                }
                Kind::Resource => {
                    if index.is_some_and(|i| i > 0) {
                        out.push(',');
                    }
                    self.wrapped_resource(elem, open, out)?;
                }
                Kind::Xhtml => self.xhtml(open, out)?,
                Kind::Attr => {}
            }
            self.path.pop();
        }
        if let Some(done) = run.take() {
            self.close_run(done, out, &mut comma);
        }
        Ok(())
    }

    fn close_run(&mut self, run: Run, out: &mut String, comma: &mut bool) {
        let elem = run.elem;
        if elem.kind.is_primitive() {
            for (any, prefix, buf) in [
                (run.any_main, "", &run.main),
                (run.any_side, "_", &run.side),
            ] {
                if !any {
                    continue;
                }
                if *comma {
                    out.push(',');
                }
                *comma = true;
                out.push('"');
                out.push_str(prefix);
                out.push_str(elem.name);
                out.push_str("\":");
                if elem.repeating {
                    out.push('[');
                }
                out.push_str(buf);
                if elem.repeating {
                    out.push(']');
                }
            }
            self.give_buf(run.main);
            self.give_buf(run.side);
        } else if elem.repeating {
            out.push(']');
        }
    }

    /// A primitive element: `value` and `id` attributes, `extension` children.
    /// Writes the JSON value (or `null`) to `main` and the `{id, extension}` object
    /// (or `null`) to `side`; returns which of the two are not null.
    fn primitive(
        &mut self,
        elem: &'static Elem,
        open: Open<'a>,
        main: &mut String,
        side: &mut String,
    ) -> Result<(bool, bool)> {
        let mut has_value = false;
        let mut side_body = self.take_buf();
        for attr in open.tag.attributes() {
            let attr = attr.map_err(|e| self.err(ErrorKind::Syntax(e.to_string()), open.start))?;
            let key = attr.key.into_inner();
            match key {
                b"value" => {
                    self.attr.clear();
                    decode_attr(&attr.value, &mut self.attr)
                        .map_err(|k| self.err(k, open.start))?;
                    match elem.kind {
                        Kind::Num => {
                            if !text::is_json_number(&self.attr) {
                                return Err(self.bad_value("number", open.start));
                            }
                            main.push_str(&self.attr);
                        }
                        Kind::Int => {
                            if !crate::primitive::is_integer_literal(&self.attr) {
                                return Err(self.bad_value("integer", open.start));
                            }
                            main.push_str(&self.attr);
                        }
                        Kind::Bool => {
                            if self.attr != "true" && self.attr != "false" {
                                return Err(self.bad_value("boolean", open.start));
                            }
                            main.push_str(&self.attr);
                        }
                        _ => text::json_string(&self.attr, main),
                    }
                    has_value = true;
                }
                b"id" => {
                    self.attr.clear();
                    decode_attr(&attr.value, &mut self.attr)
                        .map_err(|k| self.err(k, open.start))?;
                    if !side_body.is_empty() {
                        side_body.push(',');
                    }
                    side_body.push_str("\"id\":");
                    text::json_string(&self.attr, &mut side_body);
                }
                _ => {
                    if !self.namespace_attr(key, &attr.value, open.start)? {
                        return Err(self.err(
                            ErrorKind::UnexpectedAttribute(
                                String::from_utf8_lossy(key).into_owned(),
                            ),
                            open.start,
                        ));
                    }
                }
            }
        }
        if !open.empty {
            // Only `extension` children are allowed on a primitive.
            let ext = primitive_type();
            self.enter(open.start)?;
            let comma = !side_body.is_empty();
            self.children(ext, &mut side_body, comma)?;
            self.depth -= 1;
        }
        if !has_value {
            main.push_str("null");
        }
        let has_side = !side_body.is_empty();
        if has_side {
            side.push('{');
            side.push_str(&side_body);
            side.push('}');
        } else {
            side.push_str("null");
        }
        self.give_buf(side_body);
        if !has_value && !has_side {
            return Err(self.err(ErrorKind::EmptyPrimitive(elem.name.to_owned()), open.start));
        }
        Ok((has_value, has_side))
    }

    #[cold]
    fn bad_value(&self, expected: &'static str, at: usize) -> Error {
        self.err(
            ErrorKind::InvalidValue {
                expected,
                value: excerpt(&self.attr),
            },
            at,
        )
    }

    /// A complex element: attributes (`id`, `url`) then children, as one JSON object.
    fn complex(&mut self, ty: &'static Type, open: Open<'a>, out: &mut String) -> Result<()> {
        self.enter(open.start)?;
        out.push('{');
        let mut comma = false;
        for attr in open.tag.attributes() {
            let attr = attr.map_err(|e| self.err(ErrorKind::Syntax(e.to_string()), open.start))?;
            let key = attr.key.into_inner();
            let elem = std::str::from_utf8(key)
                .ok()
                .and_then(|k| ty.get(k))
                .filter(|e| e.kind == Kind::Attr);
            match elem {
                Some(elem) => {
                    self.attr.clear();
                    decode_attr(&attr.value, &mut self.attr)
                        .map_err(|k| self.err(k, open.start))?;
                    if comma {
                        out.push(',');
                    }
                    comma = true;
                    out.push('"');
                    out.push_str(elem.name);
                    out.push_str("\":");
                    text::json_string(&self.attr, out);
                }
                None => {
                    if !self.namespace_attr(key, &attr.value, open.start)? {
                        return Err(self.err(
                            ErrorKind::UnexpectedAttribute(
                                String::from_utf8_lossy(key).into_owned(),
                            ),
                            open.start,
                        ));
                    }
                }
            }
        }
        if !open.empty {
            self.children(ty, out, comma)?;
        }
        out.push('}');
        self.depth -= 1;
        Ok(())
    }

    /// `<contained><Patient>…</Patient></contained>`: exactly one resource inside.
    fn wrapped_resource(
        &mut self,
        elem: &'static Elem,
        open: Open<'a>,
        out: &mut String,
    ) -> Result<()> {
        let wrong =
            |this: &Self| this.err(ErrorKind::ResourceWrapper(elem.name.to_owned()), open.start);
        for attr in open.tag.attributes() {
            let attr = attr.map_err(|e| self.err(ErrorKind::Syntax(e.to_string()), open.start))?;
            let key = attr.key.into_inner();
            if !self.namespace_attr(key, &attr.value, open.start)? {
                return Err(self.err(
                    ErrorKind::UnexpectedAttribute(String::from_utf8_lossy(key).into_owned()),
                    open.start,
                ));
            }
        }
        if open.empty {
            return Err(wrong(self));
        }
        self.enter(open.start)?;
        let inner = match self.next()? {
            Next::Open(inner) => inner,
            _ => return Err(wrong(self)),
        };
        self.resource(inner, false, out)?;
        match self.next()? {
            Next::Close => {}
            _ => return Err(wrong(self)),
        }
        self.depth -= 1;
        Ok(())
    }

    /// `Narrative.div`: the element's source text, verbatim, as a JSON string.
    fn xhtml(&mut self, open: Open<'a>, out: &mut String) -> Result<()> {
        let start = open.start;
        // Declare the XHTML namespace on the div (as FHIR JSON requires) when the
        // source left it to an ancestor; a prefixed div is kept as it is.
        let mut has_ns = open.tag.name().into_inner() != b"div";
        for attr in open.tag.attributes() {
            let attr = attr.map_err(|e| self.err(ErrorKind::Syntax(e.to_string()), start))?;
            has_ns |= attr.key.into_inner() == b"xmlns";
        }
        if !open.empty {
            // Skip to the matching end tag; no recursion, no entity expansion.
            let mut depth = 1usize;
            while depth > 0 {
                let at = self.pos();
                match self.reader.read_event() {
                    Ok(Event::Start(_)) => depth += 1,
                    Ok(Event::End(_)) => depth -= 1,
                    Ok(Event::Eof) => return Err(self.syntax("unexpected end of input", at)),
                    Ok(Event::DocType(_)) => return Err(self.err(ErrorKind::Doctype, at)),
                    // An XML declaration is only allowed at the start of a document;
                    // inside the narrative it would not survive conversion to JSON.
                    Ok(Event::Decl(_)) => {
                        let what = "an XML declaration inside the narrative".to_owned();
                        return Err(self.err(ErrorKind::Xhtml(what), at));
                    }
                    Ok(Event::GeneralRef(r)) => {
                        let name = std::str::from_utf8(&r).unwrap_or_default();
                        text::entity(name).map_err(|k| self.err(k, at))?;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let at = usize::try_from(self.reader.error_position()).unwrap_or(at);
                        return Err(self.err(ErrorKind::Syntax(e.to_string()), at));
                    }
                }
            }
        }
        let end = self.pos();
        let raw = self
            .body
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or_else(|| self.syntax("bad narrative span", start))?;
        out.push('"');
        if has_ns {
            text::json_string_body(raw, out);
        } else {
            // Declare the XHTML namespace on the div, as FHIR JSON requires.
            let name_len = open.tag.name().into_inner().len() + 1;
            let head = raw.get(..name_len).unwrap_or_default();
            let tail = raw.get(name_len..).unwrap_or_default();
            text::json_string_body(head, out);
            out.push_str(" xmlns=\\\"");
            out.push_str(XHTML_NS);
            out.push_str("\\\"");
            text::json_string_body(tail, out);
        }
        out.push('"');
        Ok(())
    }
}

/// The type of a primitive's children: `Element` (`extension` only; `id` is an attribute).
fn primitive_type() -> &'static Type {
    table::element()
}
