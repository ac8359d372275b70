"""Finding the project upward from a subfolder, and never advising a nested one."""

from __future__ import annotations

from pathlib import Path

import pytest

from envcheck.project import ProjectError, find_project_root, load_project

PLAIN = '[project]\nname = "demo"\nversion = "0.1.0"\n'
WITH_TARGET = PLAIN + ('\n[tool.envcheck.targets.gpu]\npython = "3.11"\ncuda = "cu128"\n'
                       'torch = "==2.7.1"\n')


def test_a_subfolder_finds_the_project_above(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(WITH_TARGET)
    deep = tmp_path / "src" / "demo" / "models"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == tmp_path
    assert list(load_project(find_project_root(deep)).targets) == ["gpu"]


def test_the_nearest_project_declaring_envcheck_wins(tmp_path: Path) -> None:
    # A vendored package's own pyproject.toml inside the work tree is not the project.
    (tmp_path / "pyproject.toml").write_text(WITH_TARGET)
    vendored = tmp_path / "third_party" / "lib"
    vendored.mkdir(parents=True)
    (vendored / "pyproject.toml").write_text(PLAIN)
    assert find_project_root(vendored / ".") == tmp_path


def test_without_envcheck_tables_the_nearest_pyproject_is_the_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PLAIN)
    inner = tmp_path / "pkg"
    inner.mkdir()
    (inner / "pyproject.toml").write_text(PLAIN)
    assert find_project_root(inner) == inner
    assert find_project_root(tmp_path) == tmp_path


def test_no_project_anywhere_advises_the_work_trees_top(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    sub = tmp_path / "notebooks" / "exp1"
    sub.mkdir(parents=True)
    with pytest.raises(ProjectError) as caught:
        find_project_root(sub)
    assert str(sub) in caught.value.message
    hint = caught.value.hint or ""
    assert f"create {tmp_path / 'pyproject.toml'}" in hint
    assert str(sub / "pyproject.toml") not in hint
    assert "--project DIR" in hint


def test_a_named_folder_inside_a_project_points_at_the_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PLAIN)
    sub = tmp_path / "src"
    sub.mkdir()
    with pytest.raises(ProjectError) as caught:
        load_project(sub)
    hint = caught.value.hint or ""
    assert f"inside the project at {tmp_path}" in hint
    assert "create" not in hint.lower()
