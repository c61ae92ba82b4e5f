//! The narrative (`Narrative.div`, FHIR type `xhtml`): one well-formed XHTML `div` element,
//! checked the same way by the JSON reader (a JSON string holding it) and the XML writer
//! (which writes it verbatim, so it must be well-formed for the output to be).

use quick_xml::Reader;
use quick_xml::events::Event;

use super::error::ErrorKind;

/// Checks that `div` (white space around it aside) is one well-formed XHTML `div` element:
/// XML 1.0 characters only, no DOCTYPE or XML declaration, nothing but white space outside
/// it, end tags matching, and no entity but XML's five (`&lt; &gt; &amp; &apos; &quot;`) and
/// character references (HTML's `&nbsp;` is not XML: R4 narratives use `&#160;`). Nothing is
/// looked up or expanded, and nesting costs no recursion.
///
/// Returns the namespace the `div` declares for itself (`xmlns="…"`, or `xmlns:h="…"` for an
/// `h:div`), if it declares one.
pub(crate) fn check_div(div: &str) -> Result<Option<String>, ErrorKind> {
    let div = div.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
    if let Some(c) = invalid_char(div) {
        return Err(ErrorKind::InvalidChar(c));
    }
    // The XML reader skips a leading byte order mark, which written out would
    // be a character before the `div`.
    if div.starts_with('\u{FEFF}') {
        return Err(outside());
    }
    let mut reader = Reader::from_str(div);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut roots = 0usize;
    let mut ns = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| ErrorKind::Xhtml(e.to_string()))?;
        let is_start = matches!(event, Event::Start(_));
        match event {
            Event::Start(tag) | Event::Empty(tag) => {
                if depth == 0 {
                    roots += 1;
                    if tag.local_name().into_inner() != b"div" || roots > 1 {
                        return Err(one_div());
                    }
                    let declares: &[u8] = match tag.name().prefix() {
                        Some(p) => &[b"xmlns:", p.into_inner()].concat(),
                        None => b"xmlns",
                    };
                    for attr in tag.attributes() {
                        let attr = attr.map_err(|e| ErrorKind::Xhtml(e.to_string()))?;
                        if attr.key.into_inner() == declares {
                            ns = Some(String::from_utf8_lossy(&attr.value).into_owned());
                        }
                    }
                }
                if is_start {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) => {
                if depth == 0 && !t.iter().all(u8::is_ascii_whitespace) {
                    return Err(outside());
                }
            }
            Event::GeneralRef(r) => {
                if depth == 0 {
                    return Err(outside());
                }
                super::text::entity(std::str::from_utf8(&r).unwrap_or_default())?;
            }
            Event::CData(_) => {
                if depth == 0 {
                    return Err(outside());
                }
            }
            Event::DocType(_) | Event::Decl(_) => {
                return Err(ErrorKind::Xhtml("a DOCTYPE or XML declaration".into()));
            }
            Event::Comment(_) | Event::PI(_) => {
                if depth == 0 {
                    return Err(ErrorKind::Xhtml("content outside the `div`".into()));
                }
            }
            Event::Eof => break,
        }
    }
    if roots != 1 || depth != 0 {
        return Err(one_div());
    }
    Ok(ns)
}

/// The first character XML 1.0 does not allow in `div`, if any (as
/// `text::find_invalid_char`, which goes byte by byte, but by wide scans: narratives are
/// about half the bytes of typical FHIR JSON, and this runs on every one the reader reads).
fn invalid_char(div: &str) -> Option<u32> {
    let bytes = div.as_bytes();
    if crate::primitive::has_control_char(div) {
        return super::text::find_invalid_char(bytes).map(|(_, c)| c);
    }
    // U+FFFE and U+FFFF: EF BF BE, EF BF BF.
    memchr::memchr_iter(0xEF, bytes).find_map(|i| match (bytes.get(i + 1), bytes.get(i + 2)) {
        (Some(0xBF), Some(&last @ (0xBE | 0xBF))) => Some(0xFFC0 | u32::from(last & 0x3F)),
        _ => None,
    })
}

#[cold]
fn outside() -> ErrorKind {
    ErrorKind::Xhtml("text outside the `div`".into())
}

#[cold]
fn one_div() -> ErrorKind {
    ErrorKind::Xhtml("the root must be one `div` element".into())
}

/// The JSON reader's check of a narrative: [`check_div`], and the `div` in the XHTML
/// namespace, declared on itself (FHIR JSON carries the `div` alone: there is no ancestor to
/// declare it). The message when it is not.
pub(crate) fn json_div_problem(div: &str) -> Option<String> {
    match check_div(div) {
        Ok(Some(ns)) if ns == super::XHTML_NS => None,
        Ok(Some(ns)) => Some(format!(
            "the narrative `div` is in the namespace {:?}, not XHTML's ({:?})",
            super::error::excerpt(&ns),
            super::XHTML_NS
        )),
        Ok(None) => Some(format!(
            "the narrative `div` does not declare the XHTML namespace (`<div xmlns=\"{}\">`)",
            super::XHTML_NS
        )),
        Err(kind) => Some(format!(
            "the narrative is not one well-formed XHTML `div`: {kind}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = r#"xmlns="http://www.w3.org/1999/xhtml""#;

    #[test]
    fn well_formed_divs() {
        let ok = |s: &str| json_div_problem(s).map_or(Ok(()), Err);
        ok(&format!(
            "<div {NS}>a &amp; b &#160; <b>x</b><!-- c --><![CDATA[<]]></div>"
        ))
        .unwrap();
        ok(&format!(" \n<div {NS}/>\n")).unwrap();
        ok(r#"<h:div xmlns:h="http://www.w3.org/1999/xhtml"><h:p>x</h:p></h:div>"#).unwrap();
        for bad in [
            format!("<div {NS}>unclosed <b>x</div>"),
            format!("<div {NS}>&nbsp;</div>"),
            format!("<div {NS}>a</div><div {NS}>b</div>"),
            format!("<div {NS}>a</div>b"),
            format!("<p {NS}>a</p>"),
            format!("<!DOCTYPE div><div {NS}>a</div>"),
            format!("\u{feff}<div {NS}>a</div>"),
            format!("<div {NS}>\u{fffe}</div>"),
            "<div>no namespace</div>".to_owned(),
            r#"<div xmlns="urn:other">a</div>"#.to_owned(),
            "plain text".to_owned(),
        ] {
            assert!(ok(&bad).is_err(), "{bad}");
        }
        assert!(
            json_div_problem("<div>x &nbsp;</div>")
                .unwrap()
                .contains("&nbsp;")
        );
    }
}
