#!/usr/bin/env python3
"""Every module imports exactly what Package.swift declares for it: an import of a module the
target does not declare (it builds only because the module is in the graph through another
target) and a declared dependency that no file of the target imports are both refused.

Usage: scripts/check-imports.py   (from anywhere; exits 1 and names each mismatch)"""
import os, re, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
manifest = open(os.path.join(root, "Package.swift")).read()
# Modules of the toolchain itself: nothing to declare.
SYSTEM = {"Foundation", "FoundationEssentials", "Dispatch", "Glibc", "Musl", "Darwin", "Synchronization", "Testing", "XCTest",
          "PackageDescription", "_Concurrency", "os"}

def bracketed(text, start):
    """The text between the '[' at `start` and its matching ']'."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "[": depth += 1
        elif text[i] == "]":
            depth -= 1
            if depth == 0: return text[start + 1:i]
    raise SystemExit("unbalanced brackets in Package.swift")

targets = {}
for m in re.finditer(r"\.(target|executableTarget|testTarget|systemLibrary)\(\s*name:\s*\"([^\"]+)\"", manifest):
    kind, name = m.group(1), m.group(2)
    rest = manifest[m.end():]
    nxt = re.search(r"\.(target|executableTarget|testTarget|systemLibrary)\(\s*name:", rest)
    block = rest[:nxt.start()] if nxt else rest
    deps = set()
    d = block.find("dependencies:")
    if d >= 0:
        inner = bracketed(block, block.index("[", d))
        inner = re.sub(r"//[^\n]*", "", inner)
        deps |= set(re.findall(r"\.product\(name:\s*\"([^\"]+)\"", inner))
        deps |= set(re.findall(r"(?<![:\w])\"([^\"]+)\"", re.sub(r"\.product\([^)]*\)", "", inner)))
    targets[name] = (kind, deps)

importline = re.compile(
    r"^\s*(?:@testable\s+|@_implementationOnly\s+|@preconcurrency\s+|@_spi\([^)]*\)\s+)*(?:public\s+|package\s+|internal\s+)?import\s+"
    r"(?:(?:struct|class|enum|func|protocol|typealias|var|let)\s+)?([A-Za-z_]\w*)", re.M)
problems = []
for name, (kind, deps) in sorted(targets.items()):
    if kind == "systemLibrary": continue
    folder = os.path.join(root, "Tests" if kind == "testTarget" else "Sources", name)
    imported = {}
    for base, _, files in os.walk(folder):
        for f in files:
            if f.endswith(".swift"):
                path = os.path.join(base, f)
                # Multi-line string literals (a Python helper inside a test) are not Swift.
                text = re.sub(r'"""(?:.|\n)*?"""', "", open(path).read())
                for module in importline.findall(text):
                    if module not in SYSTEM and module != name:
                        imported.setdefault(module, os.path.relpath(path, root))
    for module, where in sorted(imported.items()):
        if module not in deps:
            problems.append(f"{name}: imports {module} ({where}) without declaring it")
    for dep in sorted(deps):
        # An executable a test target depends on is built for it to run, not imported.
        if dep not in imported and targets.get(dep, ("",))[0] != "executableTarget":
            problems.append(f"{name}: declares {dep} but no file imports it")
for p in problems: print(p)
if problems:
    sys.exit(1)
print(f"imports match Package.swift in {len([t for t in targets.values() if t[0] != 'systemLibrary'])} targets")
