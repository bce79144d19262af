"""The house rules the guide sets for every module of src (issue 9): a docstring at the top, no
test switch read from the environment, no function over 70 lines, no two classes of one name."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "steadypos"
TESTS = Path(__file__).resolve().parent
MAX_FUNCTION_LINES = 70
# Alembic migrations are data (one table after another), read once, never called by the code.
NOT_CODE = ("tms/migrations/versions/",)


def _modules() -> list[tuple[str, ast.Module, str]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        found.append((path.relative_to(SRC).as_posix(), ast.parse(text), text))
    assert len(found) > 100
    return found


def test_every_module_starts_with_a_docstring() -> None:
    missing = [name for name, tree, text in _modules()
               if text.strip() and not ast.get_docstring(tree)]
    assert missing == []


def test_no_module_reads_a_test_switch_from_the_environment() -> None:
    assert [name for name, _, text in _modules() if "STEADYPOS_TEST_" in text] == []


def test_no_function_over_70_lines() -> None:
    long = []
    for name, tree, _ in _modules():
        if name.startswith(NOT_CODE):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{name}:{node.lineno} {node.name} {lines}")
    assert long == []


def test_one_class_per_name() -> None:
    # The tests' own classes too: a test helper named like a class of src reads as that class.
    tests = [(f"tests/{p.relative_to(TESTS).as_posix()}", ast.parse(p.read_text(encoding="utf-8")))
             for p in sorted(TESTS.rglob("*.py"))]
    where: dict[str, list[str]] = defaultdict(list)
    for name, tree in [(name, tree) for name, tree, _ in _modules()] + tests:
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                where[node.name].append(name)
    assert {cls: mods for cls, mods in where.items() if len(mods) > 1} == {}
