"""Editing [tool.envcheck] in a pyproject.toml text, leaving every other byte as it was.

tomlkit keeps formatting, but it files the comments above a table header under the table
before it: deleting a table takes the next table's comment with it, and a new table lands
without a blank line before it. So the edit is made on the lines (a table owns its header,
the comment block directly above it, and its lines up to the blank line and comment block that
lead into the next header), with tomlkit rendering the new table. The result is then parsed
and must hold exactly the values intended; a layout the line edit cannot handle (a target
written as an inline table, or with dotted keys) falls back to tomlkit's own edit, checked
the same way.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from envcheck.project import ProjectError, Section, check_name, sections
from envcheck.project_model import ContainerRuntime, Profile, ProfileGpu, Target
from envcheck.snapshot import Snapshot

TARGETS = ("tool", "envcheck", "targets")
PROFILES = ("tool", "envcheck", "profiles")


def add_target(text: str, target: Target, *, replace: bool = False) -> str:
    """`text` with [tool.envcheck.targets.<name>] added (or replaced, with `replace`)."""
    _check_name("target", target.name)
    if not replace and target.name in _plain_table(text, TARGETS):
        raise ProjectError(f"target {target.name} already exists",
                           hint="Use --replace to overwrite it, or pick another name.")
    return _put_table(text, (*TARGETS, target.name), target_values(target))


def remove_target(text: str, name: str) -> str:
    existing = _plain_table(text, TARGETS)
    if name not in existing:
        known = ", ".join(existing) or "none"
        raise ProjectError(f"no target named {name} (the targets are: {known})")
    return _drop_table(text, (*TARGETS, name))


def add_profile(text: str, profile: Profile) -> str:
    """`text` with [tool.envcheck.profiles.<name>] added, or replaced when it exists."""
    _check_name("profile", profile.name)
    return _put_table(text, (*PROFILES, profile.name), profile_values(profile))


def target_values(target: Target) -> dict[str, Any]:
    values: dict[str, Any] = {"python": target.python, "platform": target.platform,
                              "cuda": target.cuda}
    optional = {"torch": target.torch, "requirements": target.requirements,
                "base_image": target.base_image}
    values.update({key: value for key, value in optional.items() if value is not None})
    if target.profiles:
        values["profiles"] = list(target.profiles)
    return values


def profile_values(profile: Profile) -> dict[str, Any]:
    values: dict[str, Any] = {"driver": str(profile.driver)}
    if profile.cuda_driver_api is not None:
        values["cuda_driver_api"] = str(profile.cuda_driver_api)
    values["runtime"] = profile.runtime
    if profile.glibc is not None:
        values["glibc"] = str(profile.glibc)
    if profile.os is not None:
        values["os"] = profile.os
    if profile.gpus:
        values["gpus"] = [_gpu_values(gpu) for gpu in profile.gpus]
    return values


def _gpu_values(gpu: ProfileGpu) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if gpu.name is not None:
        values["name"] = gpu.name
    if gpu.compute_capability is not None:
        values["compute_capability"] = gpu.compute_capability
    if gpu.memory_mib is not None:
        values["memory_mib"] = gpu.memory_mib
    if gpu.count != 1:
        values["count"] = gpu.count
    return values


def profile_from_snapshot(name: str, snapshot: Snapshot, runtime: ContainerRuntime) -> Profile:
    """The machine a Snapshot describes, as a profile; identical GPUs become one with a count."""
    driver = snapshot.driver
    if driver.version is None or not snapshot.gpus:
        seen = (f"driver {driver.status}" + (f": {driver.detail}" if driver.detail else "")
                if driver.version is None else f"driver {driver.version}, but no GPU")
        raise ProjectError(
            f"cannot save profile {name}: the machine has no NVIDIA driver and GPU to describe "
            f"({seen}); a profile must name a driver",
            hint="Save it from the GPU machine: run `envcheck inspect -o gpu.json` there, "
            f"then `envcheck profile save {name} --snapshot gpu.json` here.")
    groups: dict[tuple[str, str | None, int | None], int] = {}
    for gpu in snapshot.gpus:
        key = (gpu.name, gpu.compute_capability, gpu.memory_total_mib)
        groups[key] = groups.get(key, 0) + 1
    return Profile(
        name=name, driver=driver.version, cuda_driver_api=driver.cuda_driver_api,
        gpus=tuple(ProfileGpu(name=gpu_name, compute_capability=capability, memory_mib=memory,
                              count=count)
                   for (gpu_name, capability, memory), count in groups.items()),
        runtime=runtime, glibc=snapshot.system.glibc, os=snapshot.system.os,
    )


def render_table(path: Sequence[str], values: Mapping[str, Any]) -> str:
    """`[a.b.c]` and one `key = value` line per value (GPU lists one table a line)."""
    lines = ["[" + ".".join(tomlkit.key(part).as_string() for part in path) + "]"]
    for key, value in values.items():
        item: Any = value
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            item = tomlkit.array()
            item.multiline(True)
            for entry in value:
                inline = tomlkit.inline_table()
                inline.update(entry)
                item.append(inline)
        lines.append(f"{tomlkit.key(key).as_string()} = {tomlkit.item(item).as_string()}")
    return "\n".join(lines) + "\n"


# --- the edit and its check -------------------------------------------------------------------


def _check_name(kind: str, name: str) -> None:
    problem = check_name(kind, name)
    if problem:
        raise ProjectError(f"cannot use {name!r}: {problem}")


def _plain(text: str) -> dict[str, Any]:
    try:
        return tomlkit.parse(text).unwrap()
    except TOMLKitError as e:
        raise ProjectError(f"pyproject.toml is not valid TOML: {e}") from e


def _plain_table(text: str, path: Sequence[str]) -> dict[str, Any]:
    table: Any = _plain(text)
    for part in path:
        table = table.get(part, {}) if isinstance(table, dict) else {}
    return table if isinstance(table, dict) else {}


def _put_table(text: str, path: tuple[str, ...], values: Mapping[str, Any]) -> str:
    expected = _plain(text)
    parent = expected
    for depth, part in enumerate(path[:-1], start=1):
        parent = parent.setdefault(part, {})
        if not isinstance(parent, dict):
            raise ProjectError(f"{'.'.join(path[:depth])} in pyproject.toml is not a table")
    parent[path[-1]] = copy.deepcopy(dict(values))
    rendered = render_table(path, values)
    by_lines = _with_lf(lambda lf: _put_lines(lf, path, rendered), text)
    return _checked(text, expected, path[:-1], by_lines,
                    lambda document: _put_document(document, path, rendered))


def _drop_table(text: str, path: tuple[str, ...]) -> str:
    expected = _plain(text)
    parent = expected
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    _prune(expected, path[:-1])
    by_lines = _with_lf(lambda lf: _drop_lines(lf, path), text)
    return _checked(text, expected, path[:-1], by_lines,
                    lambda document: _drop_document(document, path))


def _checked(text: str, expected: dict[str, Any], path: tuple[str, ...], by_lines: str | None,
             by_document: Callable[[Any], None]) -> str:
    if by_lines is not None and _holds(by_lines, expected, path):
        return by_lines
    document = tomlkit.parse(text)
    try:
        by_document(document)
    except (TOMLKitError, ValueError, KeyError, TypeError):
        pass  # tomlkit refuses the layout (an inline table cannot take a [table]): below
    else:
        result = tomlkit.dumps(document)
        if _holds(result, expected, path):
            return result
    raise ProjectError("cannot edit pyproject.toml here without changing other values; "
                       "the [tool.envcheck] tables are written in a layout envcheck does not "
                       "edit", hint="Write each target and profile as its own "
                       "[tool.envcheck.targets.NAME] table, then retry.")


def _holds(text: str, expected: dict[str, Any], path: Sequence[str]) -> bool:
    try:
        actual = tomlkit.parse(text).unwrap()
    except TOMLKitError:
        return False
    _prune(actual, path)
    return actual == expected


def _prune(document: dict[str, Any], path: Sequence[str]) -> None:
    """Drop the tables along `path` left empty: removing the last target also removes the
    [tool.envcheck.targets] table it implied."""
    if not path or not isinstance(document.get(path[0]), dict):
        return
    _prune(document[path[0]], path[1:])
    if not document[path[0]]:
        del document[path[0]]


def _put_document(document: Any, path: tuple[str, ...], rendered: str) -> None:
    container = document
    for part in path[:-1]:
        if part not in container:
            container[part] = tomlkit.table(is_super_table=True)
        container = container[part]
    container[path[-1]] = _rendered_table(rendered, path)


def _rendered_table(rendered: str, path: tuple[str, ...]) -> Any:
    table: Any = tomlkit.parse(rendered)
    for part in path:
        table = table[part]
    return table


def _drop_document(document: Any, path: tuple[str, ...]) -> None:
    container = document
    for part in path[:-1]:
        container = container[part]
    del container[path[-1]]


# --- line surgery -----------------------------------------------------------------------------


def _blank(line: str) -> bool:
    return not line.strip()


def _comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _own_lines(lines: Sequence[str], all_sections: Sequence[Section], i: int
               ) -> tuple[int, int]:
    """[start, end) of what table `i` owns: its attached comment block, header and body, but
    not the blank lines and comment block leading into the next header."""
    section = all_sections[i]
    end = section.end
    if i + 1 < len(all_sections):
        while end > section.start + 1 and _comment(lines[end - 1]):
            end -= 1
    while end > section.start + 1 and _blank(lines[end - 1]):
        end -= 1
    start = section.start
    while start > 0 and _comment(lines[start - 1]):
        start -= 1
    return start, end


def _matching(all_sections: Sequence[Section], path: tuple[str, ...]) -> list[int]:
    return [i for i, section in enumerate(all_sections) if section.path[:len(path)] == path]


def _with_lf(edit: Callable[[str], str | None], text: str) -> str | None:
    """Run a line edit on "\n" lines; a file written with "\r\n" throughout keeps them."""
    if "\r\n" in text and text.count("\r\n") == text.count("\n"):
        result = edit(text.replace("\r\n", "\n"))
        return None if result is None else result.replace("\n", "\r\n")
    return edit(text)


def _put_lines(text: str, path: tuple[str, ...], rendered: str) -> str | None:
    lines = text.split("\n")
    new = rendered.split("\n")[:-1]
    all_sections = sections(text)
    matching = _matching(all_sections, path)
    if matching:
        if matching != list(range(matching[0], matching[-1] + 1)):
            return None
        # Replaced in place; the comment block above the header describes it and stays.
        start = all_sections[matching[0]].start
        _, end = _own_lines(lines, all_sections, matching[-1])
        return "\n".join([*lines[:start], *new, *lines[end:]])
    # After the last table of the nearest family: targets beside targets, else beside the
    # other [tool.envcheck] tables, else beside the other [tool] tables, else at the end.
    for depth in range(len(path) - 1, 0, -1):
        near = _matching(all_sections, path[:depth])
        if near:
            _, end = _own_lines(lines, all_sections, near[-1])
            ending = [""] if end == len(lines) else []
            return "\n".join([*lines[:end], "", *new, *lines[end:], *ending])
    body = list(lines)
    while body and _blank(body[-1]):
        body.pop()
    return "\n".join([*body, *([""] if body else []), *new, ""])


def _drop_lines(text: str, path: tuple[str, ...]) -> str | None:
    lines = text.split("\n")
    all_sections = sections(text)
    matching = _matching(all_sections, path)
    if not matching or matching != list(range(matching[0], matching[-1] + 1)):
        return None
    start, _ = _own_lines(lines, all_sections, matching[0])
    _, end = _own_lines(lines, all_sections, matching[-1])
    after = end
    while after < len(lines) and _blank(lines[after]):
        after += 1
    if after == len(lines):
        # The last table of the file: drop the blank lines before it instead, so the file
        # ends as it did.
        while start > 0 and _blank(lines[start - 1]):
            start -= 1
        ending = [""] if text.endswith("\n") else []
        return "\n".join([*lines[:start], *ending])
    return "\n".join([*lines[:start], *lines[after:]])
