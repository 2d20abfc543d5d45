#!/usr/bin/env python3
"""Count how the apps import each other (tests and migrations left out): the pairs
of apps that import each other, and the imports between apps written inside a
function. Run from the repository root: `python scripts/measure_imports.py`."""

import ast
import pathlib
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
NOT_APPS = {"bench", "scripts", "docs"}


def is_test_or_migration(relative):
    return "/tests/" in relative or "/migrations/" in relative or relative.rsplit("/", 1)[-1].startswith(("test_", "conftest"))


def imported_modules(node):
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []


def main():
    apps = sorted(p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name not in NOT_APPS)
    edges, inside = set(), []
    for app in apps:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if is_test_or_migration(relative):
                continue

            def visit(node, in_function, app=app, relative=relative):
                for child in ast.iter_child_nodes(node):
                    for module in imported_modules(child):
                        target = module.split(".")[0]
                        if target in apps and target != app:
                            edges.add((app, target))
                            if in_function:
                                inside.append(f"{relative}:{child.lineno} -> {module}")
                    visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

            visit(ast.parse(path.read_text()), False)
    pairs = sorted({tuple(sorted(edge)) for edge in edges if (edge[1], edge[0]) in edges})
    print("mutual pairs:", len(pairs))
    for pair in pairs:
        print("  ", " <-> ".join(pair))
    print("cross-app imports inside functions:", len(inside))
    for line in inside:
        print("  ", line)


if __name__ == "__main__":
    main()
