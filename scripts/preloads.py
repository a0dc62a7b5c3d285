#!/usr/bin/env python3
"""Writes each page's <link rel="modulepreload"> lines: every module its page script imports,
at any depth, so a screen's files load at once (no waterfall). Run after changing imports;
the black-box test web_first_loads_are_light_and_shallow fails when a page lacks one."""
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent / "public"
IMPORT = re.compile(r"""(?m)^\s*import\s+(?:[^"';]*?\s+from\s+)?["']([^"']+)["']""")


def resolve(base_dir, spec):
    if spec.startswith("/"):
        return spec.lstrip("/")
    parts = [p for p in base_dir.split("/") if p]
    for seg in spec.split("/"):
        if seg == ".":
            continue
        if seg == "..":
            parts.pop()
        else:
            parts.append(seg)
    return "/".join(parts)


def closure(entry):
    seen, todo = [], [entry]
    while todo:
        f = todo.pop(0)
        if f in seen:
            continue
        seen.append(f)
        src = (root / f).read_text()
        todo.extend(resolve(f.rsplit("/", 1)[0] if "/" in f else "", m) for m in IMPORT.findall(src))
    return seen


for page in sorted(root.rglob("*.html")):
    html = page.read_text()
    m = re.search(r'<script type="module" src="/([^"]+)"></script>', html)
    if not m:
        continue
    mods = [f for f in closure(m.group(1)) if f != m.group(1)]
    lines = [l for l in html.split("\n") if 'rel="modulepreload"' not in l]
    i = next(k for k, l in enumerate(lines) if '<script type="module"' in l)
    lines[i:i] = [f'<link rel="modulepreload" href="/{f}">' for f in mods]
    page.write_text("\n".join(lines))
    print(page.relative_to(root), len(mods), "preloads")
