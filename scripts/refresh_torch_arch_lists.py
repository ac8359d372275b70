#!/usr/bin/env python3
"""Read the TORCH_CUDA_ARCH_LIST per CUDA version from a saved PyTorch build script, and
compare or write it into envcheck/knowledge/data/torch_releases.toml.

The build scripts (pytorch/builder manywheel/build_cuda.sh, later pytorch/pytorch
.ci/manywheel/build_cuda.sh) set the list in a bash `case ${CUDA_VERSION} in` block: a base
assignment before it, then per CUDA pattern ("12.8)", "11.[67])") an assignment that may
extend the base ("${TORCH_CUDA_ARCH_LIST};9.0"). This reads that subset of bash for Linux
x86_64 wheels: aarch64-only branches and libtorch-only edits are dropped. Save the script of
the release's tag (raw.githubusercontent.com/pytorch/pytorch/v2.9.0/.ci/manywheel/
build_cuda.sh), then:

    python scripts/refresh_torch_arch_lists.py build_cuda.sh
    python scripts/refresh_torch_arch_lists.py build_cuda.sh --release 2.9.0 --source ID --write

--write sets arch_list (arch_from = "build-script") on the release's variants whose CUDA
version the script covers, adds the source id to their `sources` (add the [[sources]] entry
naming the file and tag by hand), and never overwrites a list measured from the wheel.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomlkit
from packaging.version import Version

DATA_FILE = Path(__file__).resolve().parents[1] / "envcheck/knowledge/data/torch_releases.toml"

_ASSIGN = re.compile(r'\bTORCH_CUDA_ARCH_LIST="([^"]*)"')
_AARCH64_ECHO = re.compile(
    r'\$\(\[\[\s*"\$ARCH"\s*==\s*"aarch64"\s*\]\]\s*&&\s*echo\s*"([^"]*)"\s*\|\|\s*echo\s*"([^"]*)"\)')
_AARCH64_IF = re.compile(
    r"if\s+\[\[[^\]\n]*aarch64[^\]\n]*\]\];\s*then.*?else(.*?)\bfi\b", re.S)
_LIBTORCH_IF = re.compile(
    r"if\s+\[\[[^\]\n]*libtorch[^\]\n]*\]\];\s*then.*?\bfi\b", re.S)
# A comment starts at a "#" that begins the line or follows a blank ("${#VAR}" is not one).
_COMMENT = re.compile(r"(?:^|(?<=\s))#.*$", re.M)
_CASE = re.compile(r"case\s+\$\{?CUDA_VERSION\}?\s+in(.*?)\besac\b", re.S)
_CLAUSE = re.compile(r"^\s*([0-9][0-9.\[\]|]*)\)(.*?);;", re.S | re.M)


def _patterns(pattern: str) -> list[str]:
    """"11.[67]" -> ["11.6", "11.7"]; "12.8|12.9" -> ["12.8", "12.9"]."""
    versions: list[str] = []
    for alternative in pattern.split("|"):
        match = re.fullmatch(r"(\d+\.)\[(\d+)\]", alternative)
        if match:
            versions += [match.group(1) + digit for digit in match.group(2)]
        elif re.fullmatch(r"\d+\.\d+", alternative):
            versions.append(alternative)
    return versions


def _expand(value: str, current: str) -> str:
    return value.replace("${TORCH_CUDA_ARCH_LIST}", current).replace("$TORCH_CUDA_ARCH_LIST",
                                                                      current)


def arch_lists(script: str) -> dict[str, str]:
    """CUDA version ("12.8") -> the TORCH_CUDA_ARCH_LIST the script builds Linux x86_64
    wheels with ("7.0;7.5;8.0;8.6;9.0;10.0;12.0")."""
    text = _COMMENT.sub("", script)
    text = _AARCH64_ECHO.sub(lambda m: m.group(2), text)
    text = _AARCH64_IF.sub(lambda m: m.group(1), text)
    text = _LIBTORCH_IF.sub("", text)
    case = _CASE.search(text)
    if case is None:
        raise ValueError("no `case ${CUDA_VERSION} in ... esac` block in the script")
    base_assignments = _ASSIGN.findall(text[:case.start()])
    base = base_assignments[-1] if base_assignments else ""
    lists: dict[str, str] = {}
    for clause in _CLAUSE.finditer(case.group(1)):
        value = base
        assigned = False
        for assignment in _ASSIGN.findall(clause.group(2)):
            value = _expand(assignment, value)
            assigned = True
        if not assigned:
            continue
        for version in _patterns(clause.group(1)):
            lists[version] = ";".join(part for part in value.split(";") if part)
    if not lists:
        raise ValueError("the case block sets TORCH_CUDA_ARCH_LIST for no CUDA version")
    return lists


def arch_names(torch_cuda_arch_list: str) -> list[str]:
    """As envcheck.knowledge.torch_tables.arch_names: "8.6;12.0+PTX" -> sm_86 sm_120
    compute_120 (kept here so the script runs without envcheck installed)."""
    names: list[tuple[int, int, str]] = []
    for item in re.split(r"[;\s]+", torch_cuda_arch_list.strip()):
        match = re.fullmatch(r"(\d+)\.(\d)(\+PTX)?", item)
        if match is None:
            raise ValueError(f"{item!r} is not an architecture like 8.6 or 12.0+PTX")
        number = int(match.group(1) + match.group(2))
        names.append((number, 0, f"sm_{number}"))
        if match.group(3):
            names.append((number, 1, f"compute_{number}"))
    return [name for _n, _k, name in sorted(set(names))]


def _variant_cuda(name: str) -> str | None:
    match = re.fullmatch(r"cu(\d+)(\d)", name)
    return f"{int(match.group(1))}.{match.group(2)}" if match else None


def apply(text: str, release: str, lists: Mapping[str, str], source: str
          ) -> tuple[str, list[str]]:
    """The data file with the release's uncovered variants given the script's lists."""
    document = tomlkit.parse(text)
    entry: Any = next((r for r in document["release"] if r["version"] == release), None)
    if entry is None:
        raise ValueError(f"release {release} is not in the data file")
    changes = []
    for variant in entry["variant"]:
        cuda = _variant_cuda(str(variant["name"]))
        if cuda is None or cuda not in lists:
            continue
        names = arch_names(lists[cuda])
        if variant.get("arch_from") == "measured":
            if list(variant["arch_list"]) != names:
                changes.append(f"differs  {release} {variant['name']}: measured "
                               f"{list(variant['arch_list'])}, script {names} (kept)")
            continue
        if list(variant.get("arch_list", [])) == names:
            continue
        variant["arch_list"] = names
        variant["arch_from"] = "build-script"
        if source not in variant["sources"]:
            variant["sources"].append(source)
        changes.append(f"set      {release} {variant['name']}: {' '.join(names)}")
    return tomlkit.dumps(document), changes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("script", type=Path, help="a saved build_cuda.sh")
    parser.add_argument("--release", help="the torch release the script built")
    parser.add_argument("--source", help="the source id to cite (with --write)")
    parser.add_argument("--data", type=Path, default=DATA_FILE)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    try:
        lists = arch_lists(args.script.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"cannot read TORCH_CUDA_ARCH_LIST from {args.script}: {e}", file=sys.stderr)
        return 2
    for cuda in sorted(lists, key=Version):
        print(f"CUDA {cuda}: {lists[cuda]}  ->  {' '.join(arch_names(lists[cuda]))}")
    if args.release is None:
        return 0
    if args.write and not args.source:
        print("--write needs --source ID", file=sys.stderr)
        return 2
    text = args.data.read_text(encoding="utf-8")
    try:
        updated, changes = apply(text, args.release, lists, args.source or "?")
    except ValueError as e:
        print(str(e), file=sys.stderr)
        return 2
    print("\n".join(changes) if changes else f"{args.release} agrees with the script")
    if args.write and updated != text:
        args.data.write_text(updated, encoding="utf-8")
        print(f"wrote {args.data}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
