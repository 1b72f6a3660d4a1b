#!/usr/bin/python3
"""check_layout.py - the source tree keeps the layout ARCHITECTURE.md draws.

Reads the table of folders in ARCHITECTURE.md (a row `| folder | what it holds | may include |`,
where the last cell lists folders separated by commas, or `-` for none) and checks every
`#include "..."` of the program's C files against it:
  - a file includes only its own folder and the folders its row allows;
  - every folder holding C is in the table;
  - the allowed folder edges form no circle;
  - no two modules (x.c with x.h) include each other, directly or through others;
  - no hand-written C file is over 800 lines (a file whose first line says GENERATED is exempt).
Prints one line per problem and exits 1 if there is any, else prints a summary and exits 0.
Usage: tools/check_layout.py [ROOT]
"""
import os
import re
import sys

CODE_DIRS = ("capture", "dissectors", "resp", "server")
MAX_LINES = 800
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_table(root):
    """{folder: set(allowed folders)} from ARCHITECTURE.md's folder table."""
    rules = {}
    in_table = False
    with open(os.path.join(root, "ARCHITECTURE.md")) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("|") and len(cells) >= 3 and cells[0].lower() == "folder":
                in_table = True
                continue
            if not in_table:
                continue
            if not line.startswith("|"):
                if rules:
                    break
                continue
            if set(cells[0]) <= set("-: "):
                continue
            folder = cells[0].strip("`/ ")
            allowed = cells[-1]
            rules[folder] = set() if allowed in ("-", "") else {
                a.strip().strip("`/ ") for a in allowed.split(",") if a.strip()}
    return rules


def c_files(root):
    out = []
    for top in CODE_DIRS:
        for d, _, fs in os.walk(os.path.join(root, top)):
            out += [os.path.relpath(os.path.join(d, f), root) for f in fs if f.endswith((".c", ".h"))]
    return sorted(out)


def find_cycle(graph):
    """One circle of graph {node: set(nodes)} as a list, or None."""
    state = {}
    stack = []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                c = visit(w)
                if c:
                    return c
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            c = visit(v)
            if c:
                return c
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    rules = read_table(root)
    problems = []
    if not rules:
        print("check_layout: no folder table found in ARCHITECTURE.md")
        return 1
    files = c_files(root)
    fileset = set(files)
    modules = {}
    for f in files:
        folder = os.path.dirname(f)
        text = open(os.path.join(root, f), errors="replace").read()
        if f.endswith(".c") and text.count("\n") > MAX_LINES and "GENERATED" not in text.split("\n", 1)[0]:
            problems.append("%s: %d lines (at most %d)" % (f, text.count("\n"), MAX_LINES))
        if folder not in rules:
            problems.append("%s: folder %s is not in ARCHITECTURE.md's table" % (f, folder))
            continue
        for inc in INCLUDE.findall(text):
            if inc not in fileset:
                continue            # a test helper or a system header spelled with quotes
            to = os.path.dirname(inc)
            if to != folder and to not in rules[folder]:
                problems.append("%s includes %s: %s may not include %s" % (f, inc, folder, to))
            if inc[:-2] != f[:-2]:
                modules.setdefault(f[:-2], set()).add(inc[:-2])
    for folder in sorted(rules):
        for to in sorted(rules[folder]):
            if to not in rules:
                problems.append("ARCHITECTURE.md: %s may include %s, which is not in the table" % (folder, to))
    cyc = find_cycle({k: {t for t in v if t != k} for k, v in rules.items()})
    if cyc:
        problems.append("folder circle allowed by the table: " + " -> ".join(cyc))
    cyc = find_cycle(modules)
    if cyc:
        problems.append("module circle: " + " -> ".join(cyc))
    for p in problems:
        print("check_layout: " + p)
    if problems:
        return 1
    print("check_layout: %d files in %d folders follow ARCHITECTURE.md, no circles" % (len(files), len(rules)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
