#!/usr/bin/env python3
"""Writes crates/fhir/src/uk_core/r4_tables.rs from the FHIR R4 (4.0.1) definitions.

Two tables for the validator's R4 base rules (`uk_core::validate`):
* TEMPORAL: every element whose type is date, dateTime, instant or time, keyed
  "Type.jsonName" (backbone paths as in the element table, choice elements expanded:
  "Observation.effectiveDateTime");
* CODES: every `code` element with a *required* binding to a value set that can be expanded
  offline into a closed list of codes (whole code systems or enumerated concepts, without
  filters), keyed the same way.

* REFS: every Reference element whose targets are restricted (not `Resource`), keyed the
  same way, with the resource types it may point at;
* SIMPLE_QUANTITY: every Quantity element profiled as SimpleQuantity (sqty-1: no comparator),
  keyed the same way;
* UKCORE_EXTENSIONS: each UK Core extension (from the UK Core StructureDefinitions): whether
  it may occur at most once, the value[x] types it allows (none: a complex extension, which
  has no value) and the sub-extensions it requires;
* UKCORE_EXTENSION_CONTEXTS: where each UK Core extension may be used (its element
  contexts: a resource, a backbone path, a datatype or a datatype's element);
* BINDINGS: CodeableConcept / Coding bindings whose value set can be listed offline (from
  the UK Core value sets' own expansions, or R4 compose rules as for CODES; a value set that
  cannot be listed, e.g. one with a SNOMED CT filter, keeps the code systems it draws from): the extensible
  bindings of the R4 resources the mapping layer writes (key "Type.jsonName"), the extensible bindings of the UK Core
  profiles this validator knows (key "UKCore:Type.jsonName", replacing the R4 one) and the
  value bindings of UK Core extensions (key "ext:Extension-UKCore-…", required or
  extensible); each with the code systems that are listed whole (a code outside one of
  them is unknown, not merely outside the value set).

Usage: python3 docs/tools/r4_tables.py /path/to/fhir/r4/definitions \
    /path/to/ukcore-conformance/structuredefinitions > crates/fhir/src/uk_core/r4_tables.rs
"""
import json, sys, os, glob
import xml.etree.ElementTree as ET

d = sys.argv[1]
def load(n):
    with open(os.path.join(d, n)) as f:
        return json.load(f)

res = load('profiles-resources.json')
types = load('profiles-types.json')
vsb = load('valuesets.json')

codesystems, valuesets = {}, {}
for b in (vsb, res):
    for e in b['entry']:
        r = e['resource']
        if r['resourceType'] == 'CodeSystem':
            codesystems[r['url']] = r
        elif r['resourceType'] == 'ValueSet':
            valuesets[r['url']] = r

def cs_codes(url):
    cs = codesystems.get(url)
    if not cs or cs.get('content') != 'complete':
        return None
    out = []
    def walk(cs_):
        for c in cs_:
            out.append(c['code'])
            walk(c.get('concept', []))
    walk(cs.get('concept', []))
    return out or None

def expand(url):
    url = url.split('|')[0]
    vs = valuesets.get(url)
    if not vs or 'compose' not in vs:
        return None
    if vs['compose'].get('exclude'):
        return None
    out = []
    for inc in vs['compose'].get('include', []):
        if inc.get('filter') or inc.get('valueSet') or 'system' not in inc:
            return None
        if 'concept' in inc:
            out += [c['code'] for c in inc['concept']]
        else:
            codes = cs_codes(inc['system'])
            if codes is None:
                return None
            out += codes
    return sorted(set(out)) or None

def upper1(s):
    return s[:1].upper() + s[1:]

temporal = {}
codes = {}
refs = {}
simple = set()
sds = [e['resource'] for b in (res, types) for e in b['entry']
       if e['resource']['resourceType'] == 'StructureDefinition'
       and e['resource'].get('derivation') != 'constraint'
       and e['resource']['kind'] in ('resource', 'complex-type')]
for sd in sds:
    for el in sd['snapshot']['element']:
        path = el['path']
        if '.' not in path:
            continue
        parent, name = path.rsplit('.', 1)
        # Only the type's own elements (the datatype tables hold the rest).
        ts = [t['code'] for t in el.get('type', [])]
        if name.endswith('[x]'):
            base = name[:-3]
            names = [(base + upper1(t), t) for t in ts]
        else:
            names = [(name, t) for t in ts]
        for n, t in names:
            if t in ('date', 'dateTime', 'instant', 'time'):
                temporal[parent + '.' + n] = t
        for t in el.get('type', []):
            if t['code'] == 'Quantity' and any(p.endswith('/SimpleQuantity') for p in t.get('profile', [])):
                simple.add(parent + '.' + ((name[:-3] + 'Quantity') if name.endswith('[x]') else name))
            if t['code'] == 'Reference':
                tp = [x.rsplit('/', 1)[-1] for x in t.get('targetProfile', [])]
                if tp and 'Resource' not in tp:
                    n = (name[:-3] + 'Reference') if name.endswith('[x]') else name
                    refs[parent + '.' + n] = sorted(set(tp))
        b = el.get('binding')
        if b and b.get('strength') == 'required' and ts == ['code'] and b.get('valueSet'):
            cs = expand(b['valueSet'])
            if cs:
                codes[parent + '.' + name] = (b['valueSet'].split('|')[0], cs)

print('// @generated by docs/tools/r4_tables.py from the FHIR 4.0.1 definitions')
print('// (profiles-resources.json, profiles-types.json, valuesets.json). Do not edit.')
print('//! R4 element tables for the base rules of [`super::validate`].')
print()
print('/// The temporal primitive types.')
print('#[derive(Debug, Clone, Copy, PartialEq, Eq)]')
print('pub(crate) enum Temporal {')
print('    /// `date`.\n    Date,\n    /// `dateTime`.\n    DateTime,\n    /// `instant`.\n    Instant,\n    /// `time`.\n    Time,')
print('}')
print()
print('/// Elements of a temporal type, sorted by "Type.jsonName".')
print('pub(crate) static TEMPORAL: &[(&str, Temporal)] = &[')
kind = {'date': 'Date', 'dateTime': 'DateTime', 'instant': 'Instant', 'time': 'Time'}
for k in sorted(temporal, key=lambda k: k.rsplit('.', 1)):
    print(f'    ("{k}", Temporal::{kind[temporal[k]]}),')
print('];')
print()
vsnames = {}
for k in sorted(codes, key=lambda k: k.rsplit('.', 1)):
    url, cs = codes[k]
    vsnames.setdefault(url, cs)
print('/// `code` elements with a required binding to a closed value set, sorted by "Type.jsonName":')
print('/// (element, value set URL, its codes).')
print('pub(crate) static CODES: &[(&str, &str, &[&str])] = &[')
def vid(url):
    return 'VS_' + ''.join(ch if ch.isalnum() else '_' for ch in url.rsplit('/', 1)[-1]).upper()
for k in sorted(codes, key=lambda k: k.rsplit('.', 1)):
    url, _ = codes[k]
    print(f'    ("{k}", "{url}", {vid(url)}),')
print('];')
print()
seen = set()
for url in sorted(vsnames, key=vid):
    v = vid(url)
    if v in seen:
        raise SystemExit('duplicate ' + v)
    seen.add(v)
    lst = ', '.join(json.dumps(c) for c in vsnames[url])
    print(f'/// {url}')
    print(f'const {v}: &[&str] = &[{lst}];')

print()
print('/// Reference elements with restricted targets, sorted by "Type.jsonName": (element, the')
print('/// resource types it may point at).')
print('pub(crate) static REFS: &[(&str, &[&str])] = &[')
for k in sorted(refs, key=lambda k: k.rsplit('.', 1)):
    lst = ', '.join(json.dumps(c) for c in refs[k])
    print(f'    ("{k}", &[{lst}]),')
print('];')

print()
print('/// Quantity elements profiled as SimpleQuantity, sorted by "Type.jsonName".')
print('pub(crate) static SIMPLE_QUANTITY: &[&str] = &[')
for k in sorted(simple, key=lambda k: k.rsplit('.', 1)):
    print(f'    "{k}",')
print('];')

NS = {'f': 'http://hl7.org/fhir'}
exts = []
contexts = []
for f in sorted(glob.glob(os.path.join(sys.argv[2], 'Extension-UKCore-*.xml'))):
    root = ET.parse(f).getroot()
    url = root.find('f:url', NS).get('value')
    ctx = []
    for c in root.findall('f:context', NS):
        if c.find('f:type', NS).get('value') != 'element':
            ctx = None
            break
        ctx.append(c.find('f:expression', NS).get('value'))
    if ctx:
        contexts.append((url.rsplit('/', 1)[-1], sorted(ctx)))
    diff = root.find('f:differential', NS)
    max_one, types, subs, complex_ = False, [], [], False
    for el in diff.findall('f:element', NS):
        eid = el.get('id')
        mx = el.find('f:max', NS)
        mn = el.find('f:min', NS)
        if eid == 'Extension':
            max_one = mx is not None and mx.get('value') == '1'
        elif eid == 'Extension.value[x]':
            if mx is not None and mx.get('value') == '0':
                complex_ = True
            types = [t.find('f:code', NS).get('value') for t in el.findall('f:type', NS)]
        elif eid.startswith('Extension.extension:') and eid.count('.') == 1:
            if mn is not None and int(mn.get('value')) >= 1:
                subs.append(eid.split(':', 1)[1])
    if complex_:
        types = []
    elif not types:
        continue
    exts.append((url.rsplit('/', 1)[-1], max_one, types, subs))
print()
print('/// UK Core extensions, sorted by name (`Extension-UKCore-…`): (name, at most once,')
print('/// the value[x] types it allows (empty: a complex extension, no value), the sub-extensions')
print('/// it requires).')
print('pub(crate) static UKCORE_EXTENSIONS: &[(&str, bool, &[&str], &[&str])] = &[')
for n, m, t, sub in sorted(exts):
    tl = ', '.join(json.dumps(x) for x in t)
    sl = ', '.join(json.dumps(x) for x in sub)
    print(f'    ("{n}", {"true" if m else "false"}, &[{tl}], &[{sl}]),')
print('];')
print()
print('/// UK Core extensions, sorted by name: (name, the element contexts it may be used in).')
print('pub(crate) static UKCORE_EXTENSION_CONTEXTS: &[(&str, &[&str])] = &[')
for n, ctx in sorted(contexts):
    cl = ', '.join(json.dumps(x) for x in ctx)
    print(f'    ("{n}", &[{cl}]),')
print('];')

# ---- BINDINGS ----------------------------------------------------------------------------
UKC = os.path.dirname(os.path.abspath(sys.argv[2]))
def xml(f):
    return ET.parse(f).getroot()
def val(el, tag):
    x = el.find('f:' + tag, NS)
    return None if x is None else x.get('value')
uk_cs = {}
for f in glob.glob(os.path.join(UKC, 'codesystems', '*.xml')):
    r = xml(f)
    if val(r, 'content') != 'complete':
        continue
    out = []
    def walk(parent):
        for c in parent.findall('f:concept', NS):
            out.append(val(c, 'code'))
            walk(c)
    walk(r)
    if out:
        uk_cs[val(r, 'url')] = out
uk_vs = {}
for f in glob.glob(os.path.join(UKC, 'valuesets', '*.xml')):
    r = xml(f)
    uk_vs[val(r, 'url')] = r

def whole(system):
    if system in uk_cs:
        return uk_cs[system]
    return cs_codes(system)

def expand_pairs(url):
    """(system, code) pairs of a value set and the systems it includes whole, or None."""
    url = url.split('|')[0]
    r = uk_vs.get(url)
    if r is not None:
        comp = r.find('f:compose', NS)
        if comp is None or comp.find('f:exclude', NS) is not None:
            return None
        pairs, wholes = [], []
        for inc in comp.findall('f:include', NS):
            system = val(inc, 'system')
            if inc.find('f:filter', NS) is not None or inc.find('f:valueSet', NS) is not None or not system:
                return None
            concepts = [val(c, 'code') for c in inc.findall('f:concept', NS)]
            if concepts:
                pairs += [(system, c) for c in concepts]
                continue
            codes = whole(system)
            if codes is None:
                # The value set's own expansion, if it has one.
                exp = r.find('f:expansion', NS)
                if exp is None:
                    return None
                got = []
                def walk(parent):
                    for c in parent.findall('f:contains', NS):
                        if val(c, 'system') == system and val(c, 'code'):
                            got.append(val(c, 'code'))
                        walk(c)
                walk(exp)
                if not got:
                    return None
                pairs += [(system, c) for c in got]
                continue
            pairs += [(system, c) for c in codes]
            wholes.append(system)
        return (sorted(set(pairs)), sorted(set(wholes))) if pairs else None
    vs = valuesets.get(url)
    if not vs or 'compose' not in vs or vs['compose'].get('exclude'):
        return None
    pairs, wholes = [], []
    for inc in vs['compose'].get('include', []):
        if inc.get('filter') or inc.get('valueSet') or 'system' not in inc:
            return None
        if 'concept' in inc:
            pairs += [(inc['system'], c['code']) for c in inc['concept']]
        else:
            codes = whole(inc['system'])
            if codes is None:
                return None
            pairs += [(inc['system'], c) for c in codes]
            wholes.append(inc['system'])
    return (sorted(set(pairs)), sorted(set(wholes))) if pairs else None

KNOWN_PROFILES = ['Patient', 'Practitioner', 'PractitionerRole', 'Organization', 'Location',
                  'Encounter', 'Observation', 'DiagnosticReport', 'AllergyIntolerance', 'Condition',
                  'ServiceRequest', 'Provenance', 'Device', 'MessageHeader']
def vs_systems(url):
    """The code systems a value set draws from (its includes), when it imports no other value
    set: a coding from any other system is outside it, even when it cannot be listed."""
    url = url.split('|')[0]
    r = uk_vs.get(url)
    if r is not None:
        comp = r.find('f:compose', NS)
        if comp is None:
            return None
        out = []
        for inc in comp.findall('f:include', NS):
            if inc.find('f:valueSet', NS) is not None or not val(inc, 'system'):
                return None
            out.append(val(inc, 'system'))
        return sorted(set(out)) or None
    vs = valuesets.get(url)
    if not vs or 'compose' not in vs:
        return None
    out = []
    for inc in vs['compose'].get('include', []):
        if inc.get('valueSet') or 'system' not in inc:
            return None
        out.append(inc['system'])
    return sorted(set(out)) or None

def listed(url):
    """(pairs, whole systems, systems) of a value set: pairs empty when it cannot be listed."""
    e = expand_pairs(url)
    systems = vs_systems(url)
    if e:
        return (e[0], e[1], systems or sorted({p[0] for p in e[0]}))
    if systems:
        return ([], [], systems)
    return None

bindings = {}
for sd in sds:
    # The R4 extensible bindings of the resource types the mapping layer writes.
    if sd['kind'] != 'resource' or sd['type'] not in KNOWN_PROFILES + ['Bundle']:
        continue
    for el in sd['snapshot']['element']:
        path = el['path']
        if '.' not in path:
            continue
        ts = [t['code'] for t in el.get('type', [])]
        b = el.get('binding')
        if not b or b.get('strength') != 'extensible' or not b.get('valueSet'):
            continue
        if ts not in (['CodeableConcept'], ['Coding']):
            continue
        e = listed(b['valueSet'])
        if e:
            parent, name = path.rsplit('.', 1)
            bindings[parent + '.' + name] = (False, b['valueSet'].split('|')[0], e)
for ty in KNOWN_PROFILES:
    f = os.path.join(sys.argv[2], 'UKCore-' + ty + '.xml')
    if not os.path.exists(f):
        continue
    r = xml(f)
    for el in r.find('f:differential', NS).findall('f:element', NS):
        b = el.find('f:binding', NS)
        eid = el.get('id')
        if b is None or ':' in eid or val(b, 'strength') != 'extensible' or not val(b, 'valueSet'):
            continue
        e = listed(val(b, 'valueSet'))
        if e:
            bindings['UKCore:' + eid] = (False, val(b, 'valueSet').split('|')[0], e)
for f in sorted(glob.glob(os.path.join(sys.argv[2], 'Extension-UKCore-*.xml'))):
    r = xml(f)
    url = val(r, 'url')
    if not url.startswith('https://fhir.hl7.org.uk/'):
        continue
    for el in r.find('f:differential', NS).findall('f:element', NS):
        if el.get('id') != 'Extension.value[x]':
            continue
        b = el.find('f:binding', NS)
        types = [val(t, 'code') for t in el.findall('f:type', NS)]
        if b is None or not set(types) <= {'CodeableConcept', 'Coding'} or not val(b, 'valueSet'):
            continue
        st = val(b, 'strength')
        if st not in ('required', 'extensible'):
            continue
        e = listed(val(b, 'valueSet'))
        if e:
            bindings['ext:' + url.rsplit('/', 1)[-1]] = (st == 'required', val(b, 'valueSet').split('|')[0], e)

def bkey(k):
    return k.rsplit('.', 1) if '.' in k else [k, '']
def pid(url):
    return 'PAIRS_' + ''.join(ch if ch.isalnum() else '_' for ch in url.rsplit('/', 1)[-1]).upper()
print()
print('/// One row of [`BINDINGS`].')
print('pub(crate) type Binding = (')
print("    &'static str,\n    bool,\n    &'static str,\n    &'static [(&'static str, &'static str)],\n    &'static [&'static str],\n    &'static [&'static str],")
print(');')
print()
print('/// CodeableConcept / Coding bindings with a value set listed offline, sorted by key (see')
print('/// the generator): (key, required, value set URL, its (system, code) pairs (empty: it')
print('/// cannot be listed offline), the systems it includes whole, the systems it draws from).')
print('pub(crate) static BINDINGS: &[Binding] = &[')
vsp = {}
for k in sorted(bindings, key=bkey):
    req, url, (pairs, wholes, systems) = bindings[k]
    vsp[url] = (pairs, wholes, systems)
    print(f'    ("{k}", {"true" if req else "false"}, "{url}", {pid(url)}, {pid(url)}_WHOLE, {pid(url)}_SYSTEMS),')
print('];')
seen = set()
for url in sorted(vsp, key=pid):
    v = pid(url)
    if v in seen:
        raise SystemExit('duplicate ' + v)
    seen.add(v)
    pairs, wholes, systems = vsp[url]
    print(f'/// {url}')
    print(f'const {v}: &[(&str, &str)] = &[{", ".join(f"({json.dumps(s)}, {json.dumps(c)})" for s, c in pairs)}];')
    print(f'const {v}_WHOLE: &[&str] = &[{", ".join(json.dumps(s) for s in wholes)}];')
    print(f'const {v}_SYSTEMS: &[&str] = &[{", ".join(json.dumps(s) for s in systems)}];')
