#!/usr/bin/env python3
"""Finds unchecked integer conversions in Sources: `Int(x)`, `Int32(x)`, `UInt64(x)` ... of a
non-literal, and `.init` forms such as `map(Int32.init)`, which trap (signal 4) when the value does
not fit. A value from a file or a flag must go through `Int(exactly:)` (nil when it does not fit),
`Int(clamping:)`, `Int(truncatingIfNeeded:)` or `Int(bitPattern:)`, or be checked first.

    python3 scripts/check_narrowing.py [ROOT]

A conversion that cannot trap (a byte widening to Int, an index below a checked bound) stays as it
is with a trailing `// allowed: <why it cannot trap>` on its line (or a comment line just above
holding `// allowed:`). Conversions that parse a String (`Int(text)`, `Int(s, radix: 16)`) return an
optional and are not reported: the script recognises them by a string literal argument, `radix:`,
or an optional use of the result (`?? `, `?.`, `if let` / `guard let`, `compactMap`). Exits 1,
listing each unchecked conversion by file and line, when one has no `allowed:`.
"""
import os
import re
import sys

TYPES = r"(?:U?Int(?:8|16|32|64)?)"
CALL = re.compile(r"(?<![\w.])(" + TYPES + r")\s*\(")
INIT = re.compile(r"(?<![\w.])(" + TYPES + r")\.init\b(?!\s*\()")
SAFE_LABELS = re.compile(r"^\s*(exactly|clamping|truncatingIfNeeded|bitPattern|ascii)\s*:")
LITERAL = re.compile(r"^[\s0-9a-fA-FxXob_.+\-*/%<>()&|^~]*$")
BOUND = re.compile(r"^\s*" + TYPES + r"\.(max|min|bitWidth)\s*$")
OPTIONAL_BINDING = re.compile(r"(?:\bif|\bguard|\bwhile|,)\s*(?:case\s+)?(?:let|var)\s+\w+\??\s*(?::\s*[\w.<>\[\]]+\??)?\s*=\s*$")


def split_comment(line):
    """(code, comment) of one line: the first `//` outside a string literal starts the comment."""
    in_string = False
    i = 0
    while i < len(line):
        c = line[i]
        if in_string:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif line.startswith("//", i):
            return line[:i], line[i:]
        i += 1
    return line, ""


def argument(code, start):
    """The text between the parenthesis at `start` and its match (None when it closes on a later line)."""
    depth = 0
    for i in range(start, len(code)):
        if code[i] == "(":
            depth += 1
        elif code[i] == ")":
            depth -= 1
            if depth == 0:
                return code[start + 1:i], i + 1
    return None, len(code)


def unchecked(code):
    """The unchecked conversions on one line of code (comment removed), as short texts."""
    found = []
    for m in CALL.finditer(code):
        arg, end = argument(code, m.end() - 1)
        if arg is not None:
            if not arg.strip() or SAFE_LABELS.match(arg) or "radix:" in arg:
                continue
            if LITERAL.match(arg) or BOUND.match(arg) or arg.strip().startswith('"'):
                continue
            after = code[end:].lstrip()
            if after.startswith("??") or after.startswith("?") or after.startswith(".map") or after.startswith(".flatMap"):
                continue
        before = code[:m.start()]
        if OPTIONAL_BINDING.search(before) or re.search(r"compactMap\s*(\{[^}]*)?$", before):
            continue
        found.append(code[m.start():end if arg is not None else len(code)].strip())
    for m in INIT.finditer(code):
        if re.search(r"compactMap\s*\(\s*$", code[:m.start()]):
            continue
        found.append(m.group(0))
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    problems = []
    allowed = 0
    for folder, _, files in os.walk(os.path.join(root, "Sources")):
        for name in sorted(files):
            if not name.endswith(".swift"):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as f:
                lines = f.read().split("\n")
            in_block_comment = False
            for number, line in enumerate(lines, 1):
                stripped = line.strip()
                if in_block_comment:
                    in_block_comment = "*/" not in stripped
                    continue
                if stripped.startswith("/*"):
                    in_block_comment = "*/" not in stripped
                    continue
                code, comment = split_comment(line)
                hits = unchecked(code)
                if not hits:
                    continue
                above = split_comment(lines[number - 2])[1] if number > 1 and not split_comment(lines[number - 2])[0].strip() else ""
                if "allowed:" in comment or "allowed:" in above:
                    allowed += 1
                    continue
                problems.append(f"{os.path.relpath(path, root)}:{number}: {', '.join(hits)}")
    if problems:
        print("unchecked integer conversions (use Int(exactly:) / Int(clamping:) / a checked bound, or add `// allowed: <why it cannot trap>`):")
        print("\n".join("  " + p for p in problems))
        print(f"{len(problems)} lines to fix; {allowed} allowed")
        sys.exit(1)
    print(f"narrowing conversions: none unchecked ({allowed} lines allowed, each saying why)")


if __name__ == "__main__":
    main()
