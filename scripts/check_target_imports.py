#!/usr/bin/env python3
"""Checks that every target in Package.swift lists exactly the package modules its Swift files import.

    swift package dump-package | python3 scripts/check_target_imports.py

A module counts when a file says `import M` or `@testable import M` at the start of a line (also inside
`#if`), and M is a target or product of this package or of its dependencies. System modules (Foundation,
Glibc, XCTest ...) are not targets and are ignored. Exits 1, naming the target and the modules, when a
list names a module no file imports or misses one a file imports (Swift would otherwise accept an
import that only arrives through another module).
"""
import json
import os
import re
import sys

IMPORT = re.compile(r"^\s*(?:@testable\s+)?import\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


def default_path(target):
    folder = "Tests" if target["type"] == "test" else "Sources"
    return os.path.join(folder, target["name"])


def imported_modules(folder):
    found = set()
    for root, _, files in os.walk(folder):
        for name in files:
            if name.endswith(".swift"):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    found.update(IMPORT.findall(f.read()))
    return found


def listed_modules(target):
    """The names in a target's dependency list (targets by name, products by product name)."""
    return {next(iter(dependency.values()))[0] for dependency in target["dependencies"]}


def main():
    every = json.load(sys.stdin)["targets"]
    known = {t["name"] for t in every}
    for target in every:
        known |= listed_modules(target)
    targets = [t for t in every if t["type"] != "system"]  # a system library's module map has no Swift files
    problems = []
    for target in targets:
        listed = listed_modules(target)
        imported = imported_modules(target.get("path") or default_path(target)) & known
        imported.discard(target["name"])
        if listed - imported:
            problems.append(f"{target['name']}: lists {', '.join(sorted(listed - imported))}, which none of its files import")
        if imported - listed:
            problems.append(f"{target['name']}: imports {', '.join(sorted(imported - listed))} without listing it")
    for problem in problems:
        print(problem)
    if problems:
        print("fix the target's dependencies in Package.swift (or the imports)")
        return 1
    print(f"target imports: each of the {len(targets)} targets lists exactly the package modules it imports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
