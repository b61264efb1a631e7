#!/usr/bin/env python3
"""Compares each target's declared dependencies in Package.swift with the modules its Swift files
import (part of `make test`). Fails, naming target and module, on an import of a package module
(another target of this package, or a product such as ArgumentParser or Yams) that the target does
not declare, and on a declared dependency that none of its files imports. System modules
(Foundation, Glibc, Testing, …) are not package modules and are ignored.
Usage: scripts/check-dependencies.py [--package-dump FILE --root DIR]   (default: `swift package dump-package` here)
       scripts/check-dependencies.py --self-test   (a fixture package with one unused and one undeclared dependency)"""
import json, os, re, subprocess, sys

IMPORT = re.compile(r"^\s*(?:@testable\s+|@_implementationOnly\s+|@preconcurrency\s+)*import\s+(?:(?:struct|class|enum|func|protocol|typealias|var|let)\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.M)


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if "--self-test" in argv:
        return self_test()
    if "--root" in argv:
        root = argv[argv.index("--root") + 1]
    if "--package-dump" in argv:
        package = json.load(open(argv[argv.index("--package-dump") + 1]))
    else:
        out = subprocess.run([os.environ.get("SWIFT", "swift"), "package", "dump-package"], cwd=root,
                             check=True, capture_output=True, text=True).stdout
        package = json.loads(out)
    targets = package["targets"]
    internal = {t["name"] for t in targets}
    products = set()
    declared = {}
    for t in targets:
        deps = set()
        for d in t.get("dependencies", []):
            for kind in ("byName", "target", "product"):
                if kind in d:
                    name = d[kind][0]
                    deps.add(name)
                    if kind == "product":
                        products.add(name)
        declared[t["name"]] = deps
    # Products named by name only (byName) that are not targets are products too.
    for deps in declared.values():
        products |= {d for d in deps if d not in internal}
    known = internal | products
    problems = []
    for t in targets:
        if t["type"] == "system":
            continue
        path = t.get("path") or os.path.join("Tests" if t["type"] == "test" else "Sources", t["name"])
        imported = set()
        for dirpath, _, files in os.walk(os.path.join(root, path)):
            for f in files:
                if f.endswith(".swift"):
                    imported |= set(IMPORT.findall(open(os.path.join(dirpath, f), encoding="utf-8").read()))
        imported = {m for m in imported if m in known and m != t["name"]}
        for m in sorted(imported - declared[t["name"]]):
            problems.append(f"{t['name']} imports {m} but does not declare it in Package.swift")
        for m in sorted(declared[t["name"]] - imported):
            problems.append(f"{t['name']} declares {m} in Package.swift but no file of {path}/ imports it")
    if problems:
        print("\n".join(problems))
        print(f"check-dependencies: {len(problems)} problem(s)")
        return 1
    print(f"check-dependencies: {len(targets)} targets, declared dependencies match the imports")
    return 0


def self_test():
    """A's file imports B (declared) and C (not declared); B declares C but imports nothing: two problems."""
    import tempfile, io, contextlib
    with tempfile.TemporaryDirectory() as d:
        for name, text in [("A", "import Foundation\n@testable import B\nimport struct C.Thing\n"), ("B", "import Foundation\n"), ("C", "")]:
            os.makedirs(os.path.join(d, "Sources", name))
            open(os.path.join(d, "Sources", name, name + ".swift"), "w").write(text)
        dump = {"targets": [
            {"name": "A", "type": "regular", "dependencies": [{"byName": ["B", None]}]},
            {"name": "B", "type": "regular", "dependencies": [{"byName": ["C", None]}]},
            {"name": "C", "type": "regular", "dependencies": []}]}
        open(os.path.join(d, "dump.json"), "w").write(json.dumps(dump))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = main(["--package-dump", os.path.join(d, "dump.json"), "--root", d])
        text = out.getvalue()
        ok = (rc == 1 and "A imports C but does not declare it" in text
              and "B declares C in Package.swift but no file of Sources/B/ imports it" in text and "2 problem(s)" in text)
        print("check-dependencies self-test: " + ("ok" if ok else "FAILED\n" + text))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
