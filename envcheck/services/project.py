"""Changing a project's pyproject.toml: edit the text, validate the result, replace the file.

The file is read and validated first (so its own mistakes are reported with their lines), the
edit is parsed and validated again before anything is written, and the write is atomic: the
file on disk is the old one or the new one, never half of either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from envcheck.adapters.filesystem import write_text_atomic
from envcheck.project import PYPROJECT, ProjectError, parse_project, read_pyproject
from envcheck.project_edit import add_profile, add_target, remove_target
from envcheck.project_model import Profile, Project, Target


@dataclass(frozen=True, kw_only=True)
class ProjectChange:
    project: Project
    """The project as the new file declares it."""
    replaced: bool = False
    """The table existed and was overwritten."""


def add_target_to_project(root: Path, target: Target, *, replace: bool = False
                          ) -> ProjectChange:
    if target.requirements is not None and not (root / target.requirements).is_file():
        raise ProjectError(
            f"requirements file {target.requirements} does not exist in {root}",
            hint="Give the path relative to the project folder (where pyproject.toml is).")
    change = _rewrite(root, f"cannot add target {target.name}",
                      lambda project, text: add_target(text, target, replace=replace))
    return ProjectChange(project=change.project,
                         replaced=target.name in change.before.targets)


def remove_target_from_project(root: Path, name: str) -> ProjectChange:
    change = _rewrite(root, f"cannot remove target {name}",
                      lambda project, text: remove_target(text, name))
    return ProjectChange(project=change.project, replaced=False)


def save_profile(root: Path, profile: Profile) -> ProjectChange:
    change = _rewrite(root, f"cannot save profile {profile.name}",
                      lambda project, text: add_profile(text, profile))
    return ProjectChange(project=change.project,
                         replaced=profile.name in change.before.profiles)


@dataclass(frozen=True, kw_only=True)
class _Rewrite:
    before: Project
    project: Project


def _rewrite(root: Path, what: str, edit: Callable[[Project, str], str]) -> _Rewrite:
    text = read_pyproject(root)
    before = parse_project(text, root=root)
    new_text = edit(before, text)
    try:
        after = parse_project(new_text, root=root)
    except ProjectError as e:
        # The line would point into a file that was never written: name the key instead.
        where = f"{e.key}: " if e.key else ""
        raise ProjectError(f"{what}: {where}{e.problem}", hint=e.hint, key=e.key,
                           problem=e.problem) from e
    # Through a symlink to the file it names; with the file's own permissions, since the
    # temporary file write_text_atomic renames into place is created 0600.
    path = (root / PYPROJECT).resolve()
    try:
        mode = path.stat().st_mode & 0o7777
        write_text_atomic(path, new_text)
        path.chmod(mode)
    except OSError as e:
        raise ProjectError(f"cannot write {path}: {e.strerror or e}") from e
    return _Rewrite(before=before, project=after)
