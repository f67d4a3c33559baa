#!/usr/bin/env python3
"""Fails when an #include in src/ breaks the module graph drawn in docs/architecture.md.

The allowed edges are the ```layering block of docs/architecture.md (one line per module:
`module: dependency dependency ...`, and `module !: library-prefix ...` for third-party
headers a module must not include). A file belongs to the module whose folder is the
longest prefix of its path under src/; so does an included "x/y.h". A module may include
its own headers and those of the modules listed for it. Exit 0 when clean, 1 with one line
per violation otherwise.

  python3 scripts/check-layering.py            # the repository this script is in
  python3 scripts/check-layering.py --root DIR
"""
import argparse
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def load_rules(doc):
    text = open(doc, encoding="utf-8").read()
    m = re.search(r"```layering\n(.*?)```", text, re.S)
    if not m:
        sys.exit("check-layering: no ```layering block in %s" % doc)
    allowed, forbidden = {}, {}
    for raw in m.group(1).splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "!:" in line:
            mod, rest = line.split("!:", 1)
            forbidden[mod.strip()] = rest.split()
        else:
            mod, rest = line.split(":", 1)
            allowed[mod.strip()] = set(rest.split())
    return allowed, forbidden


def module_of(path, modules):
    best = None
    for mod in modules:
        if mod == "*":
            continue
        if path == mod or path.startswith(mod + "/"):
            if best is None or len(mod) > len(best):
                best = mod
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = ap.parse_args()
    src = os.path.join(args.root, "src")
    allowed, forbidden = load_rules(os.path.join(args.root, "docs", "architecture.md"))
    modules = set(allowed)
    problems = []
    for dirpath, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".h", ".cc")):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, src)
            mod = module_of(rel, modules)
            if mod is None:
                problems.append("%s: in no module of docs/architecture.md" % rel)
                continue
            ok = allowed[mod]
            for lineno, line in enumerate(open(full, encoding="utf-8", errors="replace"), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                kind, target = m.groups()
                if kind == "<":
                    for prefix in forbidden.get(mod, []):
                        if target.startswith(prefix):
                            problems.append("%s:%d: %s must not include <%s>" %
                                            (rel, lineno, mod, target))
                    continue
                tmod = module_of(target, modules)
                if tmod is None:
                    if target.startswith(("absl/",)):
                        continue
                    problems.append("%s:%d: \"%s\" is in no module" % (rel, lineno, target))
                elif tmod != mod and "*" not in ok and tmod not in ok:
                    problems.append("%s:%d: %s -> %s is not an allowed edge (\"%s\")" %
                                    (rel, lineno, mod, tmod, target))
    for p in problems:
        print(p)
    if problems:
        print("check-layering: %d violation(s); the allowed edges are in docs/architecture.md"
              % len(problems))
        return 1
    print("check-layering: %d modules, every include follows the allowed edges" % len(modules))
    return 0


if __name__ == "__main__":
    sys.exit(main())
