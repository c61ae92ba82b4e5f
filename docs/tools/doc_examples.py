#!/usr/bin/env python3
"""Counts the public items whose own rustdoc has a runnable example (style guide C5).

Run from the workspace root:

    python3 docs/tools/doc_examples.py              # per-crate table
    python3 docs/tools/doc_examples.py --missing    # also list every item without an example
    python3 docs/tools/doc_examples.py --missing --crate hl7v2 --crate esr
    python3 docs/tools/doc_examples.py --check      # exit 1 if a hand-written item lacks one

It reads the sources (no build, standard library only), so it is a heuristic. What it counts:

- `pub` fns, structs, enums, unions, traits, type aliases, consts and statics, including
  methods in inherent impls and `pub const fn`; never `pub(crate)` / `pub(super)` items,
  trait-impl methods (they inherit the trait's docs), enum variants or fields;
- only items reachable from outside: in a file whose module is private (`mod x;`), a
  top-level item counts only when some `pub use` re-exports its name, and an impl method
  only when its type is public;
- not items in `#[cfg(test)]` modules or functions, `#[doc(hidden)]` items (or anything
  inside a hidden impl, trait or module), or items written inside `macro_rules!` bodies
  (the items a macro expands to are invisible here: see "Not seen" below);
- an example is a fenced block in the item's own doc comment that rustdoc runs or builds:
  no language tag, `rust`, `no_run` or `should_panic` (not `ignore`, `text`, `json`...).
  `#[doc = include_str!("FILE")]` is read.

Files starting with an `@generated` comment are counted apart (`generated` column), since
they are fixed in their generator, not by hand.

Not seen: items a macro expands to (the `from_value` of hl7v2's `types` views, the
`uk_core::ext` constants in fhir: both macros give each item an example), trait methods,
module docs. For the compiler's own count (per file, no item list; it counts modules and
macro-made items, but not every glob re-export) use the unstable rustdoc flag on the
stable toolchain:

    RUSTC_BOOTSTRAP=1 cargo rustdoc -p carecodec-hl7v2 -- -Z unstable-options --show-coverage
"""

import argparse
import os
import re
import sys
from collections import defaultdict

ITEM = re.compile(
    r"pub\s+(?:(?:const|async|unsafe|extern(?:\s+\"[^\"]*\")?)\s+)*"
    r"(fn|struct|enum|union|trait|type|const|static)\s+(?:mut\s+)?([A-Za-z_]\w*)"
)
MOD = re.compile(r"^(pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_]\w*)\s*([;{])")
IMPL = re.compile(r"^impl\b(?:\s*<[^{]*?>)?\s+(?:([\w:<>'&, ]+?)\s+for\s+)?([\w:]+)")
RUNNABLE = {"", "rust", "no_run", "should_panic"}


def fence_langs(doc_lines):
    """Languages of the fenced blocks opened in `doc_lines` (text of the doc comment)."""
    langs, inside = [], False
    for line in doc_lines:
        s = line.strip()
        if s.startswith("```"):
            if not inside:
                tags = [t.strip() for t in s[3:].split(",") if t.strip()]
                tags = [t for t in tags if not t.startswith("edition")]
                langs.append(tags[0] if tags else "")
            inside = not inside
    return langs


def has_example(doc_lines):
    return any(lang in RUNNABLE for lang in fence_langs(doc_lines))


def strip_code(line):
    """The line without its `//` comment and string contents (for brace counting)."""
    out, i, in_str = [], 0, False
    while i < len(line):
        c = line[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "'" and i + 2 < len(line) and line[i + 2] == "'":
            i += 3  # a char literal such as '{'
            continue
        elif line.startswith("//", i):
            break
        else:
            out.append(c)
        i += 1
    return "".join(out)


class Block:
    def __init__(self, kind, depth, hidden=False, test=False, impl_type=None, trait_impl=False):
        self.kind, self.depth, self.hidden, self.test = kind, depth, hidden, test
        self.impl_type, self.trait_impl = impl_type, trait_impl


def scan_file(path):
    """Yields (line, kind, name, has_example, hidden_or_test, impl_type, in_trait_impl, top)."""
    text = open(path, encoding="utf-8").read()
    lines = text.split("\n")
    depth = 0
    stack = []  # open blocks of interest, with the depth they opened at
    doc, attrs = [], []
    pending = None  # block kind the next `{` opens
    for no, raw in enumerate(lines, 1):
        s = raw.strip()
        if s.startswith("///"):
            doc.append(s[3:])
            continue
        if s.startswith("#[") or (attrs and not attrs[-1].rstrip().endswith("]")):
            attrs.append(s)
            m = re.search(r'#\[doc\s*=\s*include_str!\("([^"]+)"\)', s)
            if m:
                inc = os.path.join(os.path.dirname(path), m.group(1))
                if os.path.exists(inc):
                    doc.extend(open(inc, encoding="utf-8").read().split("\n"))
            continue
        attr_text = " ".join(attrs)
        hidden_here = "doc(hidden)" in attr_text
        test_here = re.search(r"cfg\((?:all\()?test\b", attr_text) is not None
        inherited_hidden = any(b.hidden for b in stack)
        inherited_test = any(b.test for b in stack)
        in_macro = any(b.kind == "macro" for b in stack)
        code = strip_code(raw)
        cs = code.strip()
        opens = None
        if cs.startswith("macro_rules!"):
            opens = Block("macro", depth)
        elif MOD.match(cs) and MOD.match(cs).group(3) == "{":
            opens = Block("mod", depth, hidden_here, test_here)
        elif cs.startswith("impl") and IMPL.match(cs):
            m = IMPL.match(cs)
            opens = Block("impl", depth, hidden_here, test_here,
                          impl_type=m.group(2).split("::")[-1], trait_impl=m.group(1) is not None)
        else:
            m = ITEM.match(cs)
            if m and not in_macro:
                kind, name = m.group(1), m.group(2)
                impl = next((b for b in reversed(stack) if b.kind in ("impl", "trait")), None)
                yield dict(
                    line=no, kind=kind, name=name, example=has_example(doc),
                    skip=hidden_here or test_here or inherited_hidden or inherited_test,
                    impl_type=impl.impl_type if impl and impl.kind == "impl" else None,
                    trait_impl=bool(impl and impl.trait_impl),
                    top=impl is None,
                )
                if kind == "trait":
                    opens = Block("trait", depth, hidden_here, test_here)
            elif cs.startswith("fn ") or re.match(r"(pub(\([^)]*\))?\s+)?(const\s+)?fn\s", cs):
                opens = Block("fn", depth, hidden_here, test_here)
        if opens is not None:
            pending = opens
        for c in code:
            if c == "{":
                if pending is not None:
                    pending.depth = depth
                    stack.append(pending)
                    pending = None
                depth += 1
            elif c == "}":
                depth -= 1
                while stack and stack[-1].depth >= depth:
                    stack.pop()
        if ";" in code and pending is not None and "{" not in code:
            pending = None
        doc, attrs = [], []


def module_tree(src):
    """Maps each .rs file under `src` to whether its module is public from the crate root."""
    public = {}

    def visit(path, is_pub):
        public[path] = is_pub
        base = os.path.dirname(path)
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem not in ("lib", "main", "mod"):
            base = os.path.join(base, stem)
        text = open(path, encoding="utf-8").read()
        # `pub use child::*;` makes a private child's public items public.
        globbed = set(re.findall(r"^\s*pub\s+use\s+(?:self::)?(\w+)::\*\s*;", text, re.M))
        depth = 0
        for raw in text.split("\n"):
            code = strip_code(raw).strip()
            if depth == 0:
                m = MOD.match(code)
                if m and m.group(3) == ";":
                    vis = (m.group(1) or "").strip()
                    child_pub = is_pub and (vis == "pub" or m.group(2) in globbed)
                    for cand in (os.path.join(base, m.group(2) + ".rs"),
                                 os.path.join(base, m.group(2), "mod.rs")):
                        if os.path.exists(cand):
                            visit(cand, child_pub)
                            break
            depth += code.count("{") - code.count("}")

    for root in ("lib.rs", "main.rs"):
        p = os.path.join(src, root)
        if os.path.exists(p):
            visit(p, root == "lib.rs")
    return public


def reexported_names(files):
    names = set()
    for path in files:
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r"\bpub\s+use\s+([^;]+);", text):
            for part in re.split(r"[{},\s]+", m.group(1)):
                part = part.split("::")[-1]
                if " as " in m.group(1):
                    am = re.search(r"\bas\s+(\w+)", m.group(1))
                    if am:
                        names.add(am.group(1))
                if part and part != "*" and part != "self":
                    names.add(part)
    return names


def crate_items(crate_dir):
    src = os.path.join(crate_dir, "src")
    public = module_tree(src)
    reexported = reexported_names(public)
    scanned = {}
    for path in public:
        with open(path, encoding="utf-8") as f:
            generated = "@generated" in "".join(f.readline() for _ in range(3))
        scanned[path] = (generated, list(scan_file(path)))
    # Types a user can name: defined in a public module, or re-exported.
    public_types = set(reexported)
    for path, (_, found) in scanned.items():
        if public[path]:
            public_types |= {i["name"] for i in found if i["top"] and not i["skip"]}
    items = []
    for path, (generated, found) in scanned.items():
        for it in found:
            if it["skip"] or it["trait_impl"]:
                continue
            if it["top"] and not public[path] and it["name"] not in reexported:
                continue
            if not it["top"] and it["impl_type"] is not None and it["impl_type"] not in public_types:
                continue
            it.update(path=path, generated=generated)
            items.append(it)
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--missing", action="store_true", help="list items without an example")
    ap.add_argument("--crate", action="append", default=[],
                    help="only this crate (directory name under crates/); repeatable")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when a hand-written item has no example")
    args = ap.parse_args()
    crates = sorted(d for d in os.listdir("crates") if os.path.isdir(os.path.join("crates", d, "src")))
    if args.crate:
        crates = [c for c in crates if c in args.crate]
    print(f"{'crate':<14}{'items':>7}{'example':>9}{'%':>6}   {'hand':>6}{'example':>9}{'%':>6}   {'generated':>9}{'example':>9}")
    missing_hand = 0
    listing = []
    for c in crates:
        items = crate_items(os.path.join("crates", c))
        hand = [i for i in items if not i["generated"]]
        gen = [i for i in items if i["generated"]]
        pct = lambda xs: f"{100 * sum(i['example'] for i in xs) / len(xs):.0f}" if xs else "-"
        print(f"{c:<14}{len(items):>7}{sum(i['example'] for i in items):>9}{pct(items):>6}   "
              f"{len(hand):>6}{sum(i['example'] for i in hand):>9}{pct(hand):>6}   "
              f"{len(gen):>9}{sum(i['example'] for i in gen):>9}")
        for i in items:
            if not i["example"]:
                if not i["generated"]:
                    missing_hand += 1
                owner = f"{i['impl_type']}::" if i["impl_type"] else ""
                listing.append(f"{i['path']}:{i['line']} {i['kind']} {owner}{i['name']}"
                               + (" (generated)" if i["generated"] else ""))
    if args.missing:
        print()
        print("\n".join(listing))
    if args.check and missing_hand:
        print(f"\n{missing_hand} hand-written public item(s) without an example", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
