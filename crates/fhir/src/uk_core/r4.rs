//! The R4 base rules every resource is checked against, whatever its profile: walked over the
//! resource's JSON form with the element table (`xml::table`), so that each datatype is
//! checked wherever it occurs (inside backbone elements, extensions and primitives'
//! extensions too; contained resources and Bundle entries are checked on their own).
//!
//! * primitive formats: `date`, `dateTime`, `instant` and `time` (R4 regexes, real dates;
//!   a dateTime with a time needs an offset);
//! * required bindings of `code` elements to closed value sets ([`r4_tables::CODES`]);
//! * `Coding.system` is an absolute URI;
//! * datatype invariants: per-1, rng-2, cpt-2, qty-3, att-1, ref-1, ext-1 (and an extension
//!   has a url), txt-1 (root element only), txt-2;
//! * reference target types ([`r4_tables::REFS`]) where the target's type is known: from
//!   the literal reference (`Patient/1`) or from the Bundle entry with that fullUrl;
//! * UK Core extensions ([`r4_tables::UKCORE_EXTENSIONS`]) and the core extensions the
//!   mapping layer writes: value[x] type, at most once, required sub-extensions.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::r4_tables::{self, Binding, Temporal};
use super::validate::{Issue, IssueCode, Severity};
use crate::xml::table::{self, Kind, Type};

/// The resource types of a Bundle's entries by fullUrl (for reference targets).
pub(crate) type Targets = HashMap<String, String>;

/// How deep the walk goes (nested extensions, recursive backbone elements).
const MAX_DEPTH: usize = 64;

/// Checks `json` (one resource, as written by [`crate::json`]) against the R4 base rules;
/// `ukcore`: the resource is checked against a UK Core profile, whose extensible bindings
/// replace R4's.
pub(crate) fn check(json: &Value, targets: &Targets, ukcore: bool, out: &mut Vec<Issue>) {
    let Some(obj) = json.as_object() else {
        return;
    };
    let Some(ty) = obj
        .get("resourceType")
        .and_then(Value::as_str)
        .and_then(table::resource)
    else {
        return;
    };
    let contained: Vec<&str> = obj
        .get("contained")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("id").and_then(Value::as_str))
        .collect();
    let mut w = Walker {
        contained,
        targets,
        ukcore,
        out,
    };
    w.object(obj, ty, ty.name, None, 0);
    if ty.name == "Bundle" {
        bundle(obj, w.out);
    }
}

/// The Bundle invariants bdl-1 … bdl-5, bdl-7, bdl-8, bdl-9 … bdl-12, and a RESTful fullUrl
/// that agrees with its resource's type and id.
fn bundle(b: &Map<String, Value>, out: &mut Vec<Issue>) {
    let mut err = |at: String, msg: &str| {
        out.push(issue(
            Severity::Error,
            IssueCode::Invariant,
            at,
            msg.to_owned(),
        ));
    };
    let ty = b.get("type").and_then(Value::as_str).unwrap_or("");
    if b.contains_key("total") && !matches!(ty, "searchset" | "history") {
        err(
            "Bundle.total".into(),
            "bdl-1: total only when a search or history",
        );
    }
    let entries: &[Value] = b
        .get("entry")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let mut seen: Vec<(&str, Option<&str>)> = Vec::new();
    let mut mismatched = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let at = format!("Bundle.entry[{i}]");
        let has = |k: &str| e.get(k).is_some();
        if has("search") && ty != "searchset" {
            err(
                format!("{at}.search"),
                "bdl-2: entry.search only when a search",
            );
        }
        let needs_request = matches!(ty, "batch" | "transaction" | "history");
        if has("request") != needs_request {
            err(
                at.clone(),
                if needs_request {
                    "bdl-3: entry.request mandatory for batch/transaction/history"
                } else {
                    "bdl-3: entry.request only for batch/transaction/history"
                },
            );
        }
        let needs_response = matches!(ty, "batch-response" | "transaction-response" | "history");
        if has("response") != needs_response {
            err(
                at.clone(),
                if needs_response {
                    "bdl-4: entry.response mandatory for batch-response/transaction-response/history"
                } else {
                    "bdl-4: entry.response only for batch-response/transaction-response/history"
                },
            );
        }
        if !has("resource") && !has("request") && !has("response") {
            err(
                at.clone(),
                "bdl-5: an entry must contain a resource or a request or a response",
            );
        }
        if let Some(full) = e.get("fullUrl").and_then(Value::as_str) {
            if let Some(expected) = restful_tail(full, e.get("resource")) {
                mismatched.push(issue(
                    Severity::Error,
                    IssueCode::Value,
                    format!("{at}.fullUrl"),
                    format!(
                        "the fullUrl '{full}' is a RESTful URL, so it must end with the resource's type and id ({expected})"
                    ),
                ));
            }
            if full.contains("/_history/") {
                err(
                    format!("{at}.fullUrl"),
                    "bdl-8: fullUrl cannot be a version specific reference",
                );
            }
            let version = e
                .get("resource")
                .and_then(|r| r.get("meta"))
                .and_then(|m| m.get("versionId"))
                .and_then(Value::as_str);
            if ty != "history"
                && seen
                    .iter()
                    .any(|(u, v)| *u == full && (v.is_none() || *v == version))
            {
                err(
                    format!("{at}.fullUrl"),
                    "bdl-7: fullUrl must be unique in a bundle (or else entries with the same fullUrl must have different meta.versionId)",
                );
            }
            seen.push((full, version));
        }
    }
    let first = entries
        .first()
        .and_then(|e| e.get("resource"))
        .and_then(|r| r.get("resourceType"))
        .and_then(Value::as_str);
    if ty == "document" {
        let id = b.get("identifier");
        if id.and_then(|i| i.get("system")).is_none() || id.and_then(|i| i.get("value")).is_none() {
            err(
                "Bundle.identifier".into(),
                "bdl-9: a document must have an identifier with a system and a value",
            );
        }
        if !b.contains_key("timestamp") {
            err(
                "Bundle.timestamp".into(),
                "bdl-10: a document must have a date",
            );
        }
        if first != Some("Composition") {
            err(
                "Bundle.entry[0]".into(),
                "bdl-11: a document must have a Composition as the first resource",
            );
        }
    }
    if ty == "message" && first != Some("MessageHeader") {
        err(
            "Bundle.entry[0]".into(),
            "bdl-12: a message must have a MessageHeader as the first resource",
        );
    }
    out.append(&mut mismatched);
}

/// For an entry whose fullUrl is a RESTful (http or https) URL and whose resource has a
/// type and an id: the `/Type/id` the fullUrl should end with, when it does not. (The
/// official validator's rule; a `urn:uuid:` fullUrl carries no such constraint.)
fn restful_tail(full: &str, resource: Option<&Value>) -> Option<String> {
    if !(full.starts_with("http://") || full.starts_with("https://")) {
        return None;
    }
    let resource = resource?;
    let ty = resource.get("resourceType").and_then(Value::as_str)?;
    let id = resource.get("id").and_then(Value::as_str)?;
    let path = full.split_once("/_history/").map_or(full, |(p, _)| p);
    let tail = format!("/{ty}/{id}");
    (!path.ends_with(&tail)).then_some(tail)
}

struct Walker<'a> {
    contained: Vec<&'a str>,
    targets: &'a Targets,
    ukcore: bool,
    out: &'a mut Vec<Issue>,
}

fn binding_row(ty: &str, name: &str) -> Option<&'static Binding> {
    r4_tables::BINDINGS
        .binary_search_by(|(k, _, _, _, _, _)| {
            let (kt, kn) = k.rsplit_once('.').unwrap_or((k, ""));
            kt.cmp(ty).then(kn.cmp(name))
        })
        .ok()
        .and_then(|i| r4_tables::BINDINGS.get(i))
}

fn issue(severity: Severity, code: IssueCode, location: String, message: String) -> Issue {
    Issue {
        severity,
        code,
        location,
        message,
    }
}

/// The name a table type is looked up by in the generated tables (the Quantity profiles
/// share Quantity's rules).
fn rules_name(ty: &Type) -> &'static str {
    match ty.name {
        "Age" | "Count" | "Distance" | "Duration" | "MoneyQuantity" | "SimpleQuantity" => {
            "Quantity"
        }
        n => n,
    }
}

fn lookup<'t, T>(list: &'t [(&'static str, T)], ty: &str, name: &str) -> Option<&'t T> {
    list.binary_search_by(|(k, _)| {
        let (kt, kn) = k.rsplit_once('.').unwrap_or((k, ""));
        kt.cmp(ty).then(kn.cmp(name))
    })
    .ok()
    .and_then(|i| list.get(i))
    .map(|(_, v)| v)
}

/// Whether `ty.name` is a Quantity profiled as SimpleQuantity.
fn is_simple_quantity(ty: &str, name: &str) -> bool {
    r4_tables::SIMPLE_QUANTITY
        .binary_search_by(|k| {
            let (kt, kn) = k.rsplit_once('.').unwrap_or((k, ""));
            kt.cmp(ty).then(kn.cmp(name))
        })
        .is_ok()
}

/// A location without its indexes: `Patient.identifier[0]` gives `Patient.identifier`.
fn without_indexes(at: &str) -> String {
    let mut out = String::with_capacity(at.len());
    let mut inside = false;
    for ch in at.chars() {
        match ch {
            '[' => inside = true,
            ']' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

/// The element contexts of a UK Core extension, if `url` is one.
fn ukcore_contexts(url: &str) -> Option<&'static [&'static str]> {
    let name = url.strip_prefix(UKCORE_EXT)?;
    r4_tables::UKCORE_EXTENSION_CONTEXTS
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .and_then(|i| r4_tables::UKCORE_EXTENSION_CONTEXTS.get(i))
        .map(|(_, c)| *c)
}

fn codes_for(ty: &str, name: &str) -> Option<(&'static str, &'static [&'static str])> {
    r4_tables::CODES
        .binary_search_by(|(k, _, _)| {
            let (kt, kn) = k.rsplit_once('.').unwrap_or((k, ""));
            kt.cmp(ty).then(kn.cmp(name))
        })
        .ok()
        .and_then(|i| r4_tables::CODES.get(i))
        .map(|(_, url, codes)| (*url, *codes))
}

impl Walker<'_> {
    fn push(&mut self, code: IssueCode, location: String, message: String) {
        self.out
            .push(issue(Severity::Error, code, location, message));
    }

    /// Walks one object of type `ty` at `at`. `owner` names a primitive's element by its
    /// owning type (`ContactPoint.system`) when `obj` is that primitive's `_name` object.
    fn object(
        &mut self,
        obj: &Map<String, Value>,
        ty: &'static Type,
        at: &str,
        owner: Option<&str>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let rules = rules_name(ty);
        // In definition order (a primitive's `_name` beside it), as the typed checks go.
        let mut keys: Vec<(u16, &String, &Value)> = obj
            .iter()
            .map(|(k, v)| {
                let order = ty
                    .get(k.strip_prefix('_').unwrap_or(k))
                    .map_or(u16::MAX, |e| e.order);
                (order, k, v)
            })
            .collect();
        keys.sort_by_key(|(order, _, _)| *order);
        for (_, key, value) in keys {
            if let Some(name) = key.strip_prefix('_') {
                // A primitive's id and extensions.
                let element = table::element();
                let loc = format!("{at}.{name}");
                let owned = format!("{rules}.{name}");
                match value {
                    Value::Object(o) => self.object(o, element, &loc, Some(&owned), depth + 1),
                    Value::Array(items) => {
                        for (i, v) in items.iter().enumerate() {
                            if let Value::Object(o) = v {
                                self.object(
                                    o,
                                    element,
                                    &format!("{loc}[{i}]"),
                                    Some(&owned),
                                    depth + 1,
                                );
                            }
                        }
                    }
                    _ => {}
                }
                continue;
            }
            let Some(elem) = ty.get(key) else {
                continue;
            };
            let loc = format!("{at}.{key}");
            let items: Vec<(String, &Value)> = match value {
                Value::Array(items) if elem.repeating => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{loc}[{i}]"), v))
                    .collect(),
                v => vec![(loc, v)],
            };
            match elem.kind {
                Kind::Str | Kind::Attr => {
                    let temporal = lookup(r4_tables::TEMPORAL, rules, key).copied();
                    let codes = codes_for(rules, key);
                    for (loc, v) in items {
                        let Some(s) = v.as_str() else { continue };
                        if let Some(t) = temporal {
                            self.temporal(s, t, loc.clone());
                        }
                        if let Some((url, codes)) = codes
                            && !codes.contains(&s)
                        {
                            self.push(IssueCode::CodeInvalid, loc, code_message(s, url, codes));
                        }
                    }
                }
                Kind::Complex(index) => {
                    let Some(inner) = table::complex(index) else {
                        continue;
                    };
                    let simple = inner.name == "Quantity" && is_simple_quantity(rules, key);
                    let bound = if matches!(inner.name, "CodeableConcept" | "Coding") {
                        self.ukcore
                            .then(|| binding_row(&format!("UKCore:{rules}"), key))
                            .flatten()
                            .or_else(|| binding_row(rules, key))
                    } else {
                        None
                    };
                    for (loc, v) in items {
                        let Value::Object(o) = v else { continue };
                        if inner.name == "Reference" {
                            self.reference_target(o, rules, key, &loc);
                        }
                        if simple && (o.contains_key("comparator") || o.contains_key("_comparator"))
                        {
                            self.push(
                                IssueCode::Invariant,
                                loc.clone(),
                                format!(
                                    "sqty-1: {rules}.{key} is a SimpleQuantity: the comparator is not used"
                                ),
                            );
                        }
                        if let Some(b) = bound {
                            self.coded(
                                o,
                                inner.name == "Coding",
                                b,
                                &format!("{rules}.{key}"),
                                &loc,
                            );
                        }
                        self.object(o, inner, &loc, None, depth + 1);
                    }
                }
                Kind::Num | Kind::Int | Kind::Bool | Kind::Xhtml | Kind::Resource => {}
            }
        }
        self.datatype(obj, rules, at, owner);
    }

    /// The datatype's own rules (invariants, Coding.system, extensions).
    fn datatype(&mut self, obj: &Map<String, Value>, rules: &str, at: &str, owner: Option<&str>) {
        let has = |k: &str| obj.contains_key(k) || obj.contains_key(&format!("_{k}"));
        let s = |k: &str| obj.get(k).and_then(Value::as_str);
        match rules {
            "Coding" => {
                if let Some(system) = s("system")
                    && !is_absolute_uri(system)
                {
                    self.push(
                        IssueCode::Value,
                        format!("{at}.system"),
                        format!(
                            "Coding.system must be an absolute reference, not a local reference ('{system}')"
                        ),
                    );
                }
            }
            "ContactPoint" if has("value") && !has("system") => self.push(
                IssueCode::Invariant,
                at.to_owned(),
                "cpt-2: a system is required if a value is provided".into(),
            ),
            "Quantity" if has("code") && !has("system") => self.push(
                IssueCode::Invariant,
                at.to_owned(),
                "qty-3: if a code for the unit is present, the system SHALL also be present".into(),
            ),
            "Attachment" if has("data") && !has("contentType") => self.push(
                IssueCode::Invariant,
                at.to_owned(),
                "att-1: if the Attachment has data, it SHALL have a contentType".into(),
            ),
            "Reference" => {
                if let Some(r) = s("reference")
                    && let Some(id) = r.strip_prefix('#')
                    && !id.is_empty()
                    && !self.contained.contains(&id)
                {
                    self.push(
                        IssueCode::Invariant,
                        format!("{at}.reference"),
                        format!("ref-1: '{r}' refers to no contained resource"),
                    );
                }
                // Inside a Bundle, a urn:uuid / urn:oid reference can only resolve to an
                // entry's fullUrl.
                if let Some(r) = s("reference")
                    && (r.starts_with("urn:uuid:") || r.starts_with("urn:oid:"))
                    && !self.targets.is_empty()
                    && !self.targets.contains_key(r)
                {
                    self.out.push(issue(
                        Severity::Warning,
                        IssueCode::NotFound,
                        format!("{at}.reference"),
                        format!("'{r}' is not the fullUrl of any entry of the Bundle"),
                    ));
                }
            }
            "Period" => {
                if let (Some(start), Some(end)) = (s("start"), s("end"))
                    && super::validate::ends_before(end, start)
                {
                    self.push(
                        IssueCode::Invariant,
                        at.to_owned(),
                        format!("per-1: the period ends ({end}) before it starts ({start})"),
                    );
                }
            }
            "Range" => self.rng_2(obj, at),
            "Narrative" => {
                if let Some(div) = s("div") {
                    self.narrative(div, at);
                }
            }
            "Extension" => self.extension(obj, at),
            _ => {}
        }
        if let Some(Value::Array(exts)) = obj.get("extension") {
            self.extension_counts(exts, at);
            self.extension_contexts(exts, rules, at, owner);
        }
        if let Some(Value::Array(exts)) = obj.get("modifierExtension") {
            self.extension_contexts(exts, rules, at, owner);
        }
    }

    /// UK Core extensions used outside their context: the element they sit on must be one
    /// the definition names, by path (`Patient.identifier`), by datatype (`Address`) or, for
    /// a primitive, by its owning type (`ContactPoint.system`).
    fn extension_contexts(&mut self, exts: &[Value], rules: &str, at: &str, owner: Option<&str>) {
        let path = without_indexes(at);
        for (i, e) in exts.iter().enumerate() {
            let Some(url) = e.get("url").and_then(Value::as_str) else {
                continue;
            };
            let Some(contexts) = ukcore_contexts(url) else {
                continue;
            };
            let fits = |c: &&str| {
                matches!(*c, "Element" | "Resource" | "DomainResource")
                    || *c == path
                    || *c == rules
                    || Some(*c) == owner
            };
            if !contexts.iter().any(fits) {
                let name = url.rsplit('/').next().unwrap_or(url);
                self.push(
                    IssueCode::Structure,
                    format!("{at}.extension[{i}]"),
                    format!(
                        "{name} is not allowed on {path}; its context is {}",
                        contexts.join(" | ")
                    ),
                );
            }
        }
    }

    fn rng_2(&mut self, obj: &Map<String, Value>, at: &str) {
        let (Some(Value::Object(low)), Some(Value::Object(high))) =
            (obj.get("low"), obj.get("high"))
        else {
            return;
        };
        fn unit(q: &Map<String, Value>) -> [Option<&str>; 3] {
            ["unit", "system", "code"].map(|k| q.get(k).and_then(Value::as_str))
        }
        let num = |q: &Map<String, Value>| q.get("value").and_then(Value::as_f64);
        if let (Some(l), Some(h)) = (num(low), num(high))
            && unit(low) == unit(high)
            && l > h
        {
            self.push(
                IssueCode::Invariant,
                at.to_owned(),
                format!("rng-2: the range's low ({l}) is above its high ({h})"),
            );
        }
    }

    /// txt-1 (the root only: an XHTML `div`) and txt-2 (some text or an image).
    fn narrative(&mut self, div: &str, at: &str) {
        let trimmed = div.trim_start();
        let root_ok = trimmed
            .strip_prefix("<div")
            .is_some_and(|rest| rest.starts_with([' ', '>', '\n', '\t', '\r', '/']))
            && trimmed
                .split_once('>')
                .is_some_and(|(open, _)| open.contains("http://www.w3.org/1999/xhtml"));
        if !root_ok {
            self.push(
                IssueCode::Invariant,
                format!("{at}.div"),
                "txt-1: the narrative SHALL be an XHTML div (namespace http://www.w3.org/1999/xhtml)"
                    .into(),
            );
            return;
        }
        // Text outside the tags, or an image.
        let mut inside = false;
        let mut text = false;
        for ch in div.chars() {
            match ch {
                '<' => inside = true,
                '>' => inside = false,
                c if !inside && !c.is_whitespace() => {
                    text = true;
                    break;
                }
                _ => {}
            }
        }
        if !text && !div.contains("<img") {
            self.push(
                IssueCode::Invariant,
                format!("{at}.div"),
                "txt-2: the narrative SHALL have some non-whitespace content".into(),
            );
        }
    }

    /// One extension: a url, ext-1, and the definition's value type and sub-extensions.
    fn extension(&mut self, obj: &Map<String, Value>, at: &str) {
        let url = obj.get("url").and_then(Value::as_str).unwrap_or("");
        if url.is_empty() {
            self.push(
                IssueCode::Required,
                at.to_owned(),
                "extension without a url".into(),
            );
        }
        let value = obj.keys().find(|k| k.starts_with("value"));
        let nested = obj
            .get("extension")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if value.is_some() && nested {
            self.push(
                IssueCode::Invariant,
                at.to_owned(),
                "ext-1: an extension has either a value or nested extensions, not both".into(),
            );
        }
        let Some((name, types, subs)) = definition(url) else {
            return;
        };
        if types.is_empty() {
            if let Some(v) = value {
                self.push(
                    IssueCode::Structure,
                    format!("{at}.{v}"),
                    format!("{name} is a complex extension: it has no value[x]"),
                );
            }
            let given: Vec<&str> = obj
                .get("extension")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("url").and_then(Value::as_str))
                .collect();
            for sub in subs {
                if !given.contains(sub) {
                    self.push(
                        IssueCode::Required,
                        at.to_owned(),
                        format!("{name} requires the sub-extension '{sub}' (min 1)"),
                    );
                }
            }
        } else if !nested {
            match value {
                None => self.push(
                    IssueCode::Required,
                    at.to_owned(),
                    format!("{name} has no value (value[x] min 1)"),
                ),
                Some(v)
                    if !types
                        .iter()
                        .any(|t| v.strip_prefix("value") == Some(&upper_first(t))) =>
                {
                    self.push(
                        IssueCode::Structure,
                        format!("{at}.{v}"),
                        format!("{name} takes value{} only", types.join(" | value")),
                    );
                }
                Some(v) => {
                    let coding = v == "valueCoding";
                    if (coding || v == "valueCodeableConcept")
                        && let Some(b) = binding_row(&format!("ext:{name}"), "")
                        && let Some(Value::Object(o)) = obj.get(v.as_str())
                    {
                        self.coded(o, coding, b, name, &format!("{at}.{v}"));
                    }
                }
            }
        }
    }

    /// A CodeableConcept (or a Coding) against a binding with a listed value set: a code
    /// unknown to a code system the value set includes whole is an error; no coding from the
    /// value set is an error for a required binding and a warning for an extensible one (a
    /// concept with text only is left alone when extensible). A value set that cannot be
    /// listed is judged by its code systems only.
    fn coded(&mut self, o: &Map<String, Value>, coding: bool, b: &Binding, what: &str, at: &str) {
        let (_, required, url, pairs, wholes, systems) = *b;
        let codings: Vec<(usize, Option<&str>, Option<&str>)> = if coding {
            vec![(0, s_of(o, "system"), s_of(o, "code"))]
        } else {
            o.get("coding")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, c)| {
                    (
                        i,
                        c.get("system").and_then(Value::as_str),
                        c.get("code").and_then(Value::as_str),
                    )
                })
                .collect()
        };
        // A value set that cannot be listed: only a coding from none of its code systems is
        // known to be outside it.
        let in_set = |s: Option<&str>, k: Option<&str>| match (s, k) {
            (Some(s), Some(_)) if pairs.is_empty() => systems.contains(&s),
            (Some(s), Some(k)) => pairs.contains(&(s, k)),
            _ => false,
        };
        if codings.iter().any(|(_, s, k)| in_set(*s, *k)) {
            return;
        }
        let mut unknown = false;
        for (i, system, code) in &codings {
            if let (Some(system), Some(code)) = (system, code)
                && wholes.contains(system)
            {
                unknown = true;
                let loc = if coding {
                    format!("{at}.code")
                } else {
                    format!("{at}.coding[{i}].code")
                };
                self.push(
                    IssueCode::CodeInvalid,
                    loc,
                    format!("unknown code '{code}' in the code system {system} ({what}, {url})"),
                );
            }
        }
        if unknown || (!required && codings.is_empty()) {
            return;
        }
        let given: Vec<String> = codings
            .iter()
            .map(|(_, s, k)| format!("{}#{}", s.unwrap_or("?"), k.unwrap_or("?")))
            .collect();
        let kind = if required { "required" } else { "extensible" };
        let issue = issue(
            if required {
                Severity::Error
            } else {
                Severity::Warning
            },
            IssueCode::CodeInvalid,
            at.to_owned(),
            format!(
                "{what}: no coding from the {kind} value set {url} (given {})",
                if given.is_empty() {
                    "none".to_owned()
                } else {
                    given.join(", ")
                }
            ),
        );
        self.out.push(issue);
    }

    /// Extensions defined as at most once, given more than once on one element.
    fn extension_counts(&mut self, exts: &[Value], at: &str) {
        let urls: Vec<&str> = exts
            .iter()
            .filter_map(|e| e.get("url").and_then(Value::as_str))
            .collect();
        for (i, url) in urls.iter().enumerate() {
            if urls.get(..i).is_some_and(|before| before.contains(url))
                || !urls.iter().skip(i + 1).any(|u| u == url)
            {
                continue;
            }
            let Some(name) = max_one(url) else { continue };
            let n = urls.iter().filter(|u| *u == url).count();
            self.push(
                IssueCode::Structure,
                format!("{at}.extension"),
                format!("{n} {name} extensions; at most 1 allowed"),
            );
        }
    }

    fn reference_target(&mut self, o: &Map<String, Value>, ty: &str, key: &str, at: &str) {
        let Some(allowed) = lookup(r4_tables::REFS, ty, key) else {
            return;
        };
        let Some(r) = o.get("reference").and_then(Value::as_str) else {
            return;
        };
        let Some(target) = self.target_type(r) else {
            return;
        };
        if !allowed.contains(&target.as_str()) {
            self.push(
                IssueCode::Structure,
                format!("{at}.reference"),
                format!(
                    "'{r}' points at a {target}; {ty}.{key} may point at {}",
                    allowed.join(" | ")
                ),
            );
        }
    }

    /// The type of a reference's target: the Bundle entry with that fullUrl, else the type
    /// named in a literal `Type/id` (relative or absolute) reference.
    fn target_type(&self, r: &str) -> Option<String> {
        if let Some(t) = self.targets.get(r) {
            return Some(t.clone());
        }
        if r.starts_with('#') || r.starts_with("urn:") {
            return None;
        }
        // `Type/id` (`/_history/vid`), relative or after an http(s) base; anything else
        // (a search, a malformed reference) is left alone.
        if r.contains(['?', '#']) {
            return None;
        }
        let path = match r.split_once("/_history/") {
            Some((p, _)) => p,
            None => r,
        };
        let absolute = path.starts_with("http://") || path.starts_with("https://");
        let mut segments = path.rsplit('/');
        let (id, ty) = (segments.next()?, segments.next()?);
        let id_ok = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !id_ok || (!absolute && segments.next().is_some()) {
            return None;
        }
        table::resource(ty).map(|t| t.name.to_owned())
    }

    fn temporal(&mut self, s: &str, t: Temporal, at: String) {
        let (ok, what) = match t {
            Temporal::Date => (is_date(s), "date (YYYY, YYYY-MM or YYYY-MM-DD)"),
            Temporal::DateTime => (
                is_date(s) || is_date_time(s),
                "dateTime (a date, or YYYY-MM-DDThh:mm:ss[.f] with Z or an offset)",
            ),
            Temporal::Instant => (
                is_date_time(s),
                "instant (YYYY-MM-DDThh:mm:ss[.f] with Z or an offset)",
            ),
            Temporal::Time => (is_time(s), "time (hh:mm:ss[.f])"),
        };
        if !ok {
            self.push(IssueCode::Value, at, format!("'{s}' is not a valid {what}"));
        }
    }
}

fn code_message(code: &str, url: &str, codes: &[&str]) -> String {
    if codes.len() <= 12 {
        format!(
            "code '{code}' is not in the required value set {url} ({})",
            codes.join(" | ")
        )
    } else {
        format!("code '{code}' is not in the required value set {url}")
    }
}

fn s_of<'v>(o: &'v Map<String, Value>, k: &str) -> Option<&'v str> {
    o.get(k).and_then(Value::as_str)
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Core (hl7.org) extensions the mapping layer writes: (url, value[x] types; empty: complex).
const CORE_EXTENSIONS: &[(&str, &[&str])] = &[
    (
        "http://hl7.org/fhir/StructureDefinition/condition-assertedDate",
        &["dateTime"],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
        &["code"],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/encounter-modeOfArrival",
        &["Coding"],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/event-performerFunction",
        &["CodeableConcept"],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
        &["Address"],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
        &["dateTime"],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/patient-citizenship",
        &[],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/patient-congregation",
        &["string"],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
        &["string"],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/patient-nationality",
        &[],
    ),
    (
        "http://hl7.org/fhir/StructureDefinition/patient-religion",
        &["CodeableConcept"],
    ),
];

/// Core extensions defined as at most once on their element.
const CORE_MAX_ONE: &[&str] = &[
    "http://hl7.org/fhir/StructureDefinition/condition-assertedDate",
    "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
    "http://hl7.org/fhir/StructureDefinition/encounter-modeOfArrival",
    "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
    "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
    "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
];

const UKCORE_EXT: &str = "https://fhir.hl7.org.uk/StructureDefinition/";

/// UK Core extensions the Patient checks of [`super::validate`] already hold to their
/// definition (count, value type, binding), with their own locations.
const CHECKED_ON_PATIENT: &[&str] = &[
    "Extension-UKCore-BirthSex",
    "Extension-UKCore-EthnicCategory",
    "Extension-UKCore-NHSNumberVerificationStatus",
];

fn ukcore_extension(
    url: &str,
) -> Option<&'static (
    &'static str,
    bool,
    &'static [&'static str],
    &'static [&'static str],
)> {
    let name = url.strip_prefix(UKCORE_EXT)?;
    if CHECKED_ON_PATIENT.contains(&name) {
        return None;
    }
    r4_tables::UKCORE_EXTENSIONS
        .binary_search_by(|(n, _, _, _)| n.cmp(&name))
        .ok()
        .and_then(|i| r4_tables::UKCORE_EXTENSIONS.get(i))
}

/// The definition of an extension this module knows: (name, value[x] types, required
/// sub-extensions).
fn definition(
    url: &str,
) -> Option<(
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
)> {
    if let Some((name, _, types, subs)) = ukcore_extension(url) {
        return Some((name, types, subs));
    }
    CORE_EXTENSIONS
        .iter()
        .find(|(u, _)| *u == url)
        .map(|(u, types)| (u.rsplit('/').next().unwrap_or(u), *types, &[][..]))
}

/// The name of an extension defined as at most once, if `url` is one.
fn max_one(url: &str) -> Option<&'static str> {
    if let Some((name, true, _, _)) = ukcore_extension(url) {
        return Some(name);
    }
    CORE_MAX_ONE
        .iter()
        .find(|u| **u == url)
        .map(|u| u.rsplit('/').next().unwrap_or(u))
}

/// An absolute URI: a scheme (`letter *(letter / digit / + - .)`) and a colon.
pub(crate) fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut b = scheme.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// R4 `date`: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (year 0001 on, a real day).
pub(crate) fn is_date(s: &str) -> bool {
    let mut parts = s.split('-');
    let Some(y) = parts.next().and_then(|y| digits(y, 4)).filter(|y| *y > 0) else {
        return false;
    };
    let m = match parts.next() {
        None => return true,
        Some(m) => match digits(m, 2).filter(|m| (1..=12).contains(m)) {
            Some(m) => m,
            None => return false,
        },
    };
    let ok = match parts.next() {
        None => true,
        Some(d) => digits(d, 2).is_some_and(|d| d >= 1 && d <= days_in_month(y, m)),
    };
    ok && parts.next().is_none()
}

/// R4 `time`: `hh:mm:ss` with optional fraction.
pub(crate) fn is_time(s: &str) -> bool {
    let (hms, fraction) = match s.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let mut p = hms.split(':');
    let (Some(h), Some(m), Some(sec), None) = (p.next(), p.next(), p.next(), p.next()) else {
        return false;
    };
    digits(h, 2).is_some_and(|h| h <= 23)
        && digits(m, 2).is_some_and(|m| m <= 59)
        && digits(sec, 2).is_some_and(|s| s <= 60)
}

/// A full date, a time and an offset (`Z`, or `±hh:mm` up to 14:00): an R4 `instant`, and a
/// `dateTime` with a time.
pub(crate) fn is_date_time(s: &str) -> bool {
    let Some((date, rest)) = s.split_once('T') else {
        return false;
    };
    if date.len() != 10 || !is_date(date) {
        return false;
    }
    let (time, ok_offset) = if let Some(t) = rest.strip_suffix('Z') {
        (t, true)
    } else {
        let Some(at) = rest.rfind(['+', '-']) else {
            return false;
        };
        let (t, o) = rest.split_at(at);
        let o = o.get(1..).unwrap_or("");
        let ok = o
            .split_once(':')
            .is_some_and(|(h, m)| match (digits(h, 2), digits(m, 2)) {
                (Some(h), Some(m)) => (h <= 13 && m <= 59) || (h == 14 && m == 0),
                _ => false,
            });
        (t, ok)
    };
    ok_offset && is_time(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporal_forms() {
        for ok in ["2024", "2024-02", "2024-02-29", "0001-01-01"] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in [
            "1970-13-01",
            "2023-02-29",
            "24",
            "2024-1-01",
            "0000",
            "2024-01-01T10:00:00Z",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
        for ok in [
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00.123+01:00",
            "2024-01-01T23:59:60-14:00",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "2024-01-01T10:00:00",
            "2024-01-01T10:00Z",
            "2024-01T10:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T10:00:00+15:00",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
        assert!(is_time("10:00:00.5") && !is_time("10:00") && !is_time("10:00:00."));
    }

    #[test]
    fn absolute_uris() {
        for ok in [
            "http://loinc.org",
            "urn:oid:1.2.3",
            "urn:uuid:x",
            "https://a.b/c",
        ] {
            assert!(is_absolute_uri(ok), "{ok}");
        }
        for bad in ["L", "99LAB", "HOWARD%20H", "sct", "", ":x", "1a:b", "#x"] {
            assert!(!is_absolute_uri(bad), "{bad}");
        }
    }

    #[test]
    fn tables_are_sorted() {
        let sorted = |keys: Vec<(&str, &str)>| keys.windows(2).all(|w| w[0] < w[1]);
        let split = |k: &'static str| k.rsplit_once('.').unwrap_or((k, ""));
        assert!(sorted(
            r4_tables::TEMPORAL.iter().map(|(k, _)| split(k)).collect()
        ));
        assert!(sorted(
            r4_tables::CODES.iter().map(|(k, _, _)| split(k)).collect()
        ));
        assert!(sorted(
            r4_tables::REFS.iter().map(|(k, _)| split(k)).collect()
        ));
        assert!(
            r4_tables::UKCORE_EXTENSIONS
                .windows(2)
                .all(|w| w[0].0 < w[1].0)
        );
        assert!(
            r4_tables::UKCORE_EXTENSION_CONTEXTS
                .windows(2)
                .all(|w| w[0].0 < w[1].0)
        );
        assert!(sorted(
            r4_tables::SIMPLE_QUANTITY
                .iter()
                .map(|k| split(k))
                .collect()
        ));
        assert!(is_simple_quantity("Observation.referenceRange", "low"));
        assert!(!is_simple_quantity("Observation", "valueQuantity"));
        assert_eq!(
            without_indexes("Patient.identifier[0].extension[12]"),
            "Patient.identifier.extension"
        );
        assert_eq!(
            lookup(r4_tables::TEMPORAL, "Patient", "birthDate"),
            Some(&Temporal::Date)
        );
        assert!(codes_for("Bundle", "type").is_some_and(|(_, c)| c.contains(&"transaction")));
    }
}
