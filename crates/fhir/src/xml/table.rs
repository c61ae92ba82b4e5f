//! The shape of the generated element table (`meta.rs`) and lookups into it.

use super::meta::TYPES;

/// How an element is represented in XML and JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A primitive whose JSON value is a string (`<x value=".."/>`, `"x": ".."`).
    Str,
    /// A `decimal`: its JSON value is a number, kept as its literal text.
    Num,
    /// An `integer`, `positiveInt` or `unsignedInt`: a JSON number, kept as its literal text,
    /// in R4's integer form `-?([0]|([1-9][0-9]*))` (no fraction, no exponent).
    Int,
    /// A primitive whose JSON value is `true` or `false`.
    Bool,
    /// An XML attribute of the parent element (`Element.id`, `Extension.url`).
    Attr,
    /// `Narrative.div`: XHTML kept verbatim (a JSON string).
    Xhtml,
    /// A nested resource (`contained`, `Bundle.entry.resource`, ...); in XML wrapped
    /// in an element named by its type.
    Resource,
    /// A complex type or backbone element: an index into [`TYPES`].
    Complex(u16),
}

impl Kind {
    /// Whether this is a primitive with a `value` attribute and a `_name` JSON twin.
    pub(crate) const fn is_primitive(self) -> bool {
        matches!(self, Kind::Str | Kind::Num | Kind::Int | Kind::Bool)
    }
}

/// One element of a type.
#[derive(Debug)]
pub(crate) struct Elem {
    /// JSON name (choice elements expanded: `valueQuantity`).
    pub(crate) name: &'static str,
    /// Representation.
    pub(crate) kind: Kind,
    /// `max` is not `1`: a JSON array.
    pub(crate) repeating: bool,
    /// Position in the definition order (shared by the expansions of one choice).
    pub(crate) order: u16,
}

/// Table entry constructor (keeps the generated source short).
pub(crate) const fn e(name: &'static str, kind: Kind, repeating: bool, order: u16) -> Elem {
    Elem {
        name,
        kind,
        repeating,
        order,
    }
}

/// A complex type, resource or backbone element (named by its path).
#[derive(Debug)]
pub(crate) struct Type {
    /// Type name (`HumanName`, `Patient`) or backbone path (`Patient.contact`).
    pub(crate) name: &'static str,
    /// A concrete resource type (may be a document root or a nested resource).
    pub(crate) resource: bool,
    /// Elements sorted by JSON name.
    pub(crate) elements: &'static [Elem],
}

impl Type {
    /// The element with this JSON name.
    pub(crate) fn get(&self, name: &str) -> Option<&'static Elem> {
        let elements: &'static [Elem] = self.elements;
        elements
            .binary_search_by(|e| e.name.cmp(name))
            .ok()
            .and_then(|i| elements.get(i))
    }
}

/// The resource type with this name.
pub(crate) fn resource(name: &str) -> Option<&'static Type> {
    TYPES
        .binary_search_by(|t| t.name.cmp(name))
        .ok()
        .and_then(|i| TYPES.get(i))
        .filter(|t| t.resource)
}

/// `Element`: the children a primitive may have (`extension`).
pub(crate) fn element() -> &'static Type {
    static EMPTY: Type = Type {
        name: "Element",
        resource: false,
        elements: &[],
    };
    TYPES
        .binary_search_by(|t| t.name.cmp("Element"))
        .ok()
        .and_then(|i| TYPES.get(i))
        .unwrap_or(&EMPTY)
}

/// The type at this table index.
pub(crate) fn complex(index: u16) -> Option<&'static Type> {
    TYPES.get(usize::from(index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::meta::ELEMENTS;

    #[test]
    fn table_is_sorted_and_complete() {
        assert!(TYPES.windows(2).all(|w| w[0].name < w[1].name));
        for t in TYPES {
            assert!(
                t.elements.windows(2).all(|w| w[0].name < w[1].name),
                "{}",
                t.name
            );
        }
        assert_eq!(
            TYPES.iter().map(|t| t.elements.len()).sum::<usize>(),
            ELEMENTS
        );
        assert_eq!(TYPES.iter().filter(|t| t.resource).count(), 147);
        let patient = resource("Patient").unwrap();
        assert_eq!(patient.get("birthDate").unwrap().kind, Kind::Str);
        assert!(patient.get("deceasedBoolean").is_some());
        assert!(resource("HumanName").is_none());
        let ext = TYPES.iter().find(|t| t.name == "Extension").unwrap();
        assert_eq!(ext.get("url").unwrap().kind, Kind::Attr);
        assert_eq!(ext.get("valueDecimal").unwrap().kind, Kind::Num);
        assert_eq!(ext.get("valueInteger").unwrap().kind, Kind::Int);
        assert_eq!(ext.get("valuePositiveInt").unwrap().kind, Kind::Int);
        assert_eq!(ext.get("valueUnsignedInt").unwrap().kind, Kind::Int);
        let narrative = TYPES.iter().find(|t| t.name == "Narrative").unwrap();
        assert_eq!(narrative.get("div").unwrap().kind, Kind::Xhtml);
    }
}
