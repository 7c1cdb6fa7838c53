"""The package's own rules (docs/architecture.md, "Code rules"), beside the linters the test command runs.

import-linter checks who may import whom, deptry the dependencies, mypy the types and ruff the complexity; these
tests check what those tools cannot: sizes, where the storage root is resolved, and who does month arithmetic.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "trust_assets"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
#: A long function says why in its docstring, with this phrase.
LONG_BECAUSE = "long because"
#: The only places that read TRUST_HOME from the environment: commands, the Dagster resources, the bench worker.
ROOT_RESOLVERS = ("cli/", "defs/resources.py", "bench/worker.py", "lib/transform/dbt_args.py",
                  "lib/transform/dbt_prepare.py", "lib/paths.py")


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


@pytest.mark.parametrize("module", MODULES, ids=_relative)
def test_modules_are_small(module):
    lines = len(module.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{_relative(module)} has {lines} lines; split it by role"


def test_long_functions_say_why():
    long = []
    for module in MODULES:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                doc = (ast.get_docstring(node) or "").lower()
                if length > MAX_FUNCTION_LINES and LONG_BECAUSE not in doc:
                    long.append(f"{_relative(module)}:{node.lineno} {node.name} ({length} lines)")
    assert not long, "functions over 80 lines without a reason in their docstring:\n" + "\n".join(long)


def test_the_storage_root_is_resolved_only_by_commands_and_resources():
    found = [f"{_relative(m)}:{n}" for m in MODULES if not _relative(m).startswith(ROOT_RESOLVERS)
             for n, line in enumerate(m.read_text().splitlines(), 1)
             if "TrustPaths.from_env(" in line or "trust_home(" in line]
    assert not found, "resolve TrustPaths once in the command or resource and pass it down:\n" + "\n".join(found)


def test_month_arithmetic_lives_in_one_module():
    arithmetic = re.compile(r"%\s*12\b|//\s*12\b|\[5:7\]|\*\s*12\s*\+")
    found = [f"{_relative(m)}:{n}: {line.strip()}" for m in MODULES if _relative(m) != "lib/months.py"
             for n, line in enumerate(m.read_text().splitlines(), 1) if arithmetic.search(line)]
    assert not found, "use trust_assets.lib.months:\n" + "\n".join(found)


def test_commands_hold_no_behaviour():
    """cli/ modules parse and print: they import no engine at module level and open no file or table."""
    heavy = ("dagster", "deltalake", "duckdb", "pyarrow", "pandas", "fastapi", "uvicorn", "great_expectations")
    found = []
    for module in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.parse(module.read_text()).body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{_relative(module)} imports {n}" for n in names if n.split(".")[0] in heavy]
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in ("DeltaTable", "connect", "write_text", "write_bytes", "open", "write_deltalake"):
                    found.append(f"{_relative(module)}:{node.lineno} calls {name}")
    assert not found, "\n".join(found)
