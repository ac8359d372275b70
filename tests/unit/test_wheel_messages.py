"""No message sends a user of the installed wheel to files only a source checkout has."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import envcheck

PACKAGE = Path(envcheck.__file__).parent
# Folders of the repository that the wheel does not ship.
SOURCE_ONLY = ("scripts/", ".ci/", "tests/data", "benchmarks/")


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            ids.add(id(body[0].value))
    return ids


def test_no_message_names_a_file_of_the_source_checkout() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstring_nodes(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and id(node) not in docstrings \
                    and any(folder in node.value for folder in SOURCE_ONLY):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
    assert offenders == []


# The name `envcheck` on PyPI is an unrelated project's: an install by that name from an index
# replaces this envcheck with it.
_FROM_AN_INDEX = re.compile(
    r"(?:pip install|uv tool install|pip install --force-reinstall|pipx install)\s+"
    r"(?:--\S+\s+)*['\"]?envcheck(?:\[[^\]]*\])?['\"]?(?![\w/.-])")


def test_no_message_installs_envcheck_by_name_from_an_index() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstring_nodes(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and id(node) not in docstrings and _FROM_AN_INDEX.search(node.value):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
    assert offenders == []
    assert _FROM_AN_INDEX.search("reinstall it: `pip install --force-reinstall envcheck`")
    assert _FROM_AN_INDEX.search("pip install 'envcheck[lock]'")
    assert not _FROM_AN_INDEX.search("pipx inject envcheck pip-tools")
