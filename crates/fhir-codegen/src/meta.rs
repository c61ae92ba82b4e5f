//! Generator part: meta — the element table that drives the FHIR XML ⇄ JSON converter.
//!
//! For every complex datatype, every concrete resource and every backbone element
//! (named by its path, e.g. `Patient.contact`) the table lists each element under
//! its JSON name (choice elements expanded: `valueQuantity`, `valueString`, …),
//! how it is represented (primitive with its JSON kind, XML attribute, complex
//! type, nested resource, xhtml), whether it repeats, and its position in the
//! definition order (the XML element order). Written to `xml/meta.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// One element of a type, as it will be written to the table.
struct Elem {
    name: String,
    kind: Kind,
    repeating: bool,
    order: usize,
}

/// How an element is represented; `Complex` names a table entry.
#[derive(Clone)]
enum Kind {
    Str,
    Num,
    Int,
    Bool,
    Attr,
    Xhtml,
    Resource,
    Complex(String),
}

/// Writes this part's generated files under `out` (`crates/fhir/src`), reading `defs`.
pub fn generate(defs: &Path, out: &Path) -> Result<(), Box<dyn Error>> {
    let mut sds = Vec::new();
    for file in ["profiles-types.json", "profiles-resources.json"] {
        let text = std::fs::read_to_string(defs.join("r4/definitions").join(file))?;
        let bundle: Value = serde_json::from_str(&text)?;
        for entry in bundle["entry"].as_array().ok_or("no entry array")? {
            let res = &entry["resource"];
            if res["resourceType"] == "StructureDefinition" {
                sds.push(res.clone());
            }
        }
    }

    let primitives: BTreeSet<String> = sds
        .iter()
        .filter(|s| s["kind"] == "primitive-type")
        .map(|s| s["type"].as_str().unwrap().to_owned())
        .collect();

    let resources: BTreeSet<String> = sds
        .iter()
        .filter(|s| s["kind"] == "resource")
        .map(|s| s["type"].as_str().unwrap().to_owned())
        .collect();

    // name -> (is_resource, elements)
    let mut types: BTreeMap<String, (bool, Vec<Elem>)> = BTreeMap::new();
    for sd in &sds {
        let kind = sd["kind"].as_str().unwrap();
        // `Element` (abstract) is kept: its `extension` is what a primitive may contain.
        if sd["derivation"] == "constraint"
            || (sd["abstract"] == true && sd["name"] != "Element")
            || !(kind == "complex-type" || kind == "resource")
        {
            continue;
        }
        let root = sd["type"].as_str().unwrap().to_owned();
        let elements = sd["snapshot"]["element"].as_array().unwrap();
        let paths: Vec<&str> = elements
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        // Every path that has children is a type of its own (the root or a backbone).
        let parents: BTreeSet<&str> = paths
            .iter()
            .filter_map(|p| p.rsplit_once('.').map(|(parent, _)| parent))
            .collect();
        for parent in &parents {
            types
                .entry((*parent).to_owned())
                .or_insert_with(|| (*parent == root && kind == "resource", Vec::new()));
        }
        for (el, path) in elements.iter().zip(&paths) {
            let Some((parent, last)) = path.rsplit_once('.') else {
                continue;
            };
            let order = types[parent].1.last().map_or(0, |e| e.order + 1);
            let repeating = el["max"].as_str().unwrap() != "1";
            let attr = el["representation"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == "xmlAttr"));
            let mut new = Vec::new();
            if let Some(target) = el["contentReference"].as_str() {
                let target = target
                    .trim_start_matches(|c| c != '#')
                    .trim_start_matches('#');
                assert!(parents.contains(target), "bad contentReference {target}");
                new.push(Elem {
                    name: last.to_owned(),
                    kind: Kind::Complex(target.to_owned()),
                    repeating,
                    order,
                });
            } else {
                let tys = el["type"].as_array().unwrap();
                let choice = last.strip_suffix("[x]");
                assert!(choice.is_some() || tys.len() == 1, "{path}: several types");
                for ty in tys {
                    let code = ty["code"].as_str().unwrap();
                    let kind = if attr {
                        Kind::Attr
                    } else if code.starts_with("http://hl7.org/fhirpath/System.") {
                        assert_eq!(code, "http://hl7.org/fhirpath/System.String", "{path}");
                        Kind::Str
                    } else if code == "xhtml" {
                        Kind::Xhtml
                    } else if resources.contains(code) {
                        // `Resource`, or a specific one (`Bundle.entry.response.outcome`):
                        // in XML always wrapped in an element named by its type.
                        Kind::Resource
                    } else if primitives.contains(code) {
                        match code {
                            "boolean" => Kind::Bool,
                            "decimal" => Kind::Num,
                            "integer" | "positiveInt" | "unsignedInt" => Kind::Int,
                            _ => Kind::Str,
                        }
                    } else if code == "BackboneElement" || code == "Element" {
                        assert!(parents.contains(path), "{path}: {code} without children");
                        Kind::Complex((*path).to_owned())
                    } else {
                        Kind::Complex(code.to_owned())
                    };
                    let name = match choice {
                        Some(stem) => {
                            let mut chars = code.chars();
                            let first = chars.next().unwrap().to_ascii_uppercase();
                            format!("{stem}{first}{}", chars.as_str())
                        }
                        None => last.to_owned(),
                    };
                    new.push(Elem {
                        name,
                        kind,
                        repeating,
                        order,
                    });
                }
            }
            types.get_mut(parent).unwrap().1.extend(new);
        }
    }

    let index: BTreeMap<&str, usize> = types
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();

    let mut src = String::new();
    src.push_str(
        "// @generated by carecodec-fhir-codegen (src/meta.rs) from the FHIR 4.0.1 \
         StructureDefinitions.\n// Do not edit: run `cargo run -p carecodec-fhir-codegen`.\n\
         //! The element table: every complex type, resource and backbone element of FHIR R4.\n\n\
         use super::table::{Kind::*, Type, e};\n\n",
    );
    let _ = writeln!(
        src,
        "/// Every type, sorted by name; `Complex(i)` indexes this slice.\npub(crate) static TYPES: &[Type] = &["
    );
    let mut count = 0;
    for (name, (resource, elems)) in &types {
        let mut elems: Vec<&Elem> = elems.iter().collect();
        elems.sort_by(|a, b| a.name.cmp(&b.name));
        for pair in elems.windows(2) {
            assert_ne!(pair[0].name, pair[1].name, "{name}: duplicate element");
        }
        let _ = writeln!(
            src,
            "    Type {{\n        name: {name:?},\n        resource: {resource},\n        elements: &["
        );
        for el in elems {
            count += 1;
            let kind = match &el.kind {
                Kind::Str => "Str".to_owned(),
                Kind::Num => "Num".to_owned(),
                Kind::Int => "Int".to_owned(),
                Kind::Bool => "Bool".to_owned(),
                Kind::Attr => "Attr".to_owned(),
                Kind::Xhtml => "Xhtml".to_owned(),
                Kind::Resource => "Resource".to_owned(),
                Kind::Complex(t) => {
                    let i = *index
                        .get(t.as_str())
                        .unwrap_or_else(|| panic!("unknown type {t}"));
                    format!("Complex({i})")
                }
            };
            let _ = writeln!(
                src,
                "            e({:?}, {kind}, {}, {}),",
                el.name, el.repeating, el.order
            );
        }
        src.push_str("        ],\n    },\n");
    }
    src.push_str("];\n");
    let _ = writeln!(
        src,
        "\n/// Number of element entries over all types.\n#[cfg(test)]\npub(crate) const ELEMENTS: usize = {count};"
    );
    let dir = out.join("xml");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("meta.rs"), src)?;
    Ok(())
}
