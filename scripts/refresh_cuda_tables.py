#!/usr/bin/env python3
"""Refresh envcheck/knowledge/data/cuda_drivers.toml from NVIDIA's notes, and check
nvcc_targets.toml against a real nvcc.

This machine cannot fetch web pages, so the script reads a saved copy of
https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/index.html ("Save page as", HTML),
finds the table captioned "CUDA Toolkit and Corresponding Driver Versions", keeps the GA
row of every CUDA minor release ([[cuda]] rows) and every GA and update row from 11.0 on
([[toolkit]] rows), and reports how they differ from the data file. With --write it
replaces the blocks between "# BEGIN cuda" / "# END cuda" and "# BEGIN toolkit" /
"# END toolkit"; rows below those blocks (cited from
another source) and the `sources` list are edited by hand, and the `retrieved` date of the
release-notes source should be updated with them.

    python scripts/refresh_cuda_tables.py ~/Downloads/cuda-release-notes.html
    python scripts/refresh_cuda_tables.py ~/Downloads/cuda-release-notes.html --write
    nvcc --list-gpu-code | python scripts/refresh_cuda_tables.py --nvcc-list - --nvcc-cuda 13.0
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import tomlkit
from packaging.version import Version

CAPTION = "CUDA Toolkit and Corresponding Driver Versions"
TOOLKIT_BEGIN = "# BEGIN toolkit"
TOOLKIT_END = "# END toolkit"
TOOLKIT_SINCE = Version("11.0")
NVCC_FILE = Path(__file__).resolve().parents[1] / "envcheck/knowledge/data/nvcc_targets.toml"
DATA_FILE = Path(__file__).resolve().parents[1] / "envcheck/knowledge/data/cuda_drivers.toml"
BEGIN = "# BEGIN cuda"
END = "# END cuda"

_LABEL = re.compile(r"CUDA\s+(\d+)\.(\d+)")
# Rows that are not the first (GA) release of a minor. "10.1 (10.1.105 general release, and
# updates)" is a GA row: the lower-case "updates" does not match.
_NOT_GA = re.compile(r"\b(?:Update|RC|Preview|Beta)\b")
_DRIVER = re.compile(r"\d+(?:\.\d+){1,3}")
# "CUDA 12.2 Update 2", "CUDA 11.0.3 Update 1", "CUDA 11.4.0 GA", "CUDA 11.1 GA".
_TOOLKIT_LABEL = re.compile(r"CUDA\s+(\d+)\.(\d+)(?:\.(\d+))?\s+(GA|Update\s+(\d+))\s*$")


@dataclass(frozen=True, kw_only=True)
class DriverRow:
    """One row of NVIDIA's table, as printed ("CUDA 12.4 Update 1", "550.54.15", "551.78")."""

    label: str
    linux: str | None
    windows: str | None


@dataclass(frozen=True, kw_only=True)
class CudaEntry:
    cuda: Version
    min_linux: str
    min_windows: str | None


class _TableReader(HTMLParser):
    """Every <table>: its caption text and its rows of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[tuple[str, list[list[str]]]] = []
        self._caption: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(("", []))
        elif not self.tables:
            return
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self.tables[-1][1].append([])
        elif tag in {"td", "th"} and self.tables[-1][1]:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption" and self._caption is not None and self.tables:
            rows = self.tables[-1][1]
            self.tables[-1] = (" ".join("".join(self._caption).split()), rows)
            self._caption = None
        elif tag in {"td", "th"} and self._cell is not None:
            self.tables[-1][1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None:
            self._caption.append(data)


def _driver_cell(text: str) -> str | None:
    """">= 450.51.06" -> "450.51.06"; "N/A" and anything else that is not a version -> None."""
    match = _DRIVER.search(text)
    return match.group(0) if match else None


def parse_driver_table(html: str) -> list[DriverRow]:
    """The rows of the "CUDA Toolkit and Corresponding Driver Versions" table, in page order."""
    reader = _TableReader()
    reader.feed(html)
    reader.close()
    for caption, rows in reader.tables:
        if CAPTION.lower() not in caption.lower():
            continue
        header = " ".join(" ".join(row) for row in rows if not _LABEL.match(row[0] if row else ""))
        if not 0 <= header.find("Linux") < header.find("Windows"):
            raise ValueError(f"table {caption!r}: no Linux and Windows columns, in that order")
        return [
            DriverRow(label=row[0], linux=_driver_cell(row[1]),
                      windows=_driver_cell(row[2]) if len(row) > 2 else None)
            for row in rows
            if len(row) >= 2 and _LABEL.match(row[0])
        ]
    raise ValueError(f"no table captioned {CAPTION!r} in the page")


def _key(driver: str) -> tuple[int, ...]:
    return tuple(int(part) for part in driver.split("."))


def ga_entries(rows: Sequence[DriverRow], since: Version) -> list[CudaEntry]:
    """One entry per CUDA minor from `since` on: its GA row (the lowest Linux minimum among
    the rows that are not updates or release candidates), oldest first."""
    best: dict[Version, DriverRow] = {}
    for row in rows:
        match = _LABEL.match(row.label)
        if match is None or _NOT_GA.search(row.label) or row.linux is None:
            continue
        cuda = Version(f"{match.group(1)}.{match.group(2)}")
        kept = best.get(cuda)
        if cuda >= since and (kept is None or _key(row.linux) < _key(kept.linux or row.linux)):
            best[cuda] = row
    return [
        CudaEntry(cuda=cuda, min_linux=row.linux, min_windows=row.windows)
        for cuda, row in sorted(best.items())
        if row.linux is not None
    ]


@dataclass(frozen=True, kw_only=True)
class ToolkitEntry:
    release: Version
    update: int
    min_linux: str
    min_windows: str | None


def toolkit_entries(rows: Sequence[DriverRow], since: Version = TOOLKIT_SINCE
                    ) -> list[ToolkitEntry]:
    """Every GA and update row from `since` on, as the release it installs: "CUDA 12.2
    Update 2" -> 12.2.2 (update 2); "CUDA 11.0.3 Update 1" -> 11.0.3 (the label's own patch,
    because 11.0's GA was 11.0.2). RC, preview and beta rows are skipped."""
    entries: dict[Version, ToolkitEntry] = {}
    for row in rows:
        match = _TOOLKIT_LABEL.match(row.label)
        if match is None or row.linux is None:
            continue
        major, minor, patch, kind, number = match.groups()
        update = 0 if kind == "GA" else int(number)
        release = Version(f"{major}.{minor}.{patch if patch is not None else update}")
        if Version(f"{major}.{minor}") < since:
            continue
        entries[release] = ToolkitEntry(release=release, update=update, min_linux=row.linux,
                                        min_windows=row.windows)
    return [entries[v] for v in sorted(entries)]


def render_toolkit_block(entries: Sequence[ToolkitEntry], source: str) -> str:
    lines = [f"{TOOLKIT_BEGIN} (rewritten by scripts/refresh_cuda_tables.py --write)"]
    for entry in entries:
        lines += ["[[toolkit]]", f'release = "{entry.release}"', f"update = {entry.update}",
                  f'min_linux = "{entry.min_linux}"']
        if entry.min_windows is not None:
            lines.append(f'min_windows = "{entry.min_windows}"')
        lines += [f'source = "{source}"', ""]
    return "\n".join(lines[:-1] if entries else lines) + f"\n{TOOLKIT_END}\n"


def nvcc_targets_reported(list_gpu_code: str) -> list[int]:
    """`nvcc --list-gpu-code` output ("sm_75\nsm_80 ...") -> ascending sm numbers, without
    the arch-specific variants (sm_90a)."""
    return sorted({int(m) for m in re.findall(r"\bsm_(\d+)\b", list_gpu_code)})


def render_block(entries: Sequence[CudaEntry], source: str = "cuda-release-notes") -> str:
    lines = [f"{BEGIN} (rewritten by scripts/refresh_cuda_tables.py --write)"]
    for entry in entries:
        lines += ["[[cuda]]", f'cuda = "{entry.cuda}"', f'min_linux = "{entry.min_linux}"']
        if entry.min_windows is not None:
            lines.append(f'min_windows = "{entry.min_windows}"')
        lines += [f'source = "{source}"', ""]
    return "\n".join(lines[:-1] if entries else lines) + f"\n{END}\n"


def _cuda_rows(text: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = tomlkit.parse(text).unwrap().get("cuda", [])
    return rows


def _file_entries(text: str) -> dict[Version, CudaEntry]:
    return {
        Version(row["cuda"]): CudaEntry(cuda=Version(row["cuda"]), min_linux=row["min_linux"],
                                        min_windows=row.get("min_windows"))
        for row in _cuda_rows(text)
    }


def differences(old: dict[Version, CudaEntry], new: Sequence[CudaEntry]) -> list[str]:
    """What the saved page says that the data file does not, one line each."""
    lines = []
    for entry in new:
        before = old.get(entry.cuda)
        if before is None:
            lines.append(f"new      {entry.cuda}: linux >= {entry.min_linux}, "
                         f"windows >= {entry.min_windows or 'N/A'}")
        elif before != entry:
            lines.append(f"changed  {entry.cuda}: linux {before.min_linux} -> {entry.min_linux}, "
                         f"windows {before.min_windows or 'N/A'} -> {entry.min_windows or 'N/A'}")
    listed = {entry.cuda for entry in new}
    lines += [f"absent   {cuda}: in the data file, not in the saved page's table"
              for cuda in sorted(old) if cuda not in listed]
    return lines


def replace_block(text: str, block: str, begin: str = BEGIN, end_marker: str = END) -> str:
    start, end = text.find(begin), text.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"the data file has no {begin!r} ... {end_marker!r} block")
    return text[:start] + block + text[text.index("\n", end) + 1:]


def _toolkit_rows(text: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = tomlkit.parse(text).unwrap().get("toolkit", [])
    return rows


def check_nvcc(list_gpu_code: str, cuda: Version, data: Path = NVCC_FILE) -> list[str]:
    """How nvcc's own --list-gpu-code differs from the [[nvcc]] row of its CUDA minor."""
    reported = nvcc_targets_reported(list_gpu_code)
    rows = tomlkit.parse(data.read_text(encoding="utf-8")).unwrap().get("nvcc", [])
    row = next((r for r in rows if r["cuda"] == f"{cuda.major}.{cuda.minor}"), None)
    if row is None:
        return [f"new      {cuda.major}.{cuda.minor}: sm = {reported}"]
    recorded = list(row["sm"])
    if recorded == reported:
        return []
    return [f"changed  {cuda.major}.{cuda.minor}: sm {recorded} -> {reported}"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("html", type=Path, nargs="?",
                        help="saved copy of the CUDA release notes page")
    parser.add_argument("--data", type=Path, default=DATA_FILE, help="cuda_drivers.toml to compare")
    parser.add_argument("--since", type=Version, default=Version("10.0"), help="oldest CUDA minor")
    parser.add_argument("--write", action="store_true", help="rewrite the generated blocks")
    parser.add_argument("--source", default="cuda-release-notes-13.4",
                        help="source id the rewritten [[toolkit]] rows cite")
    parser.add_argument("--nvcc-list", type=Path, default=None,
                        help="saved `nvcc --list-gpu-code` output ('-' reads stdin)")
    parser.add_argument("--nvcc-cuda", type=Version, default=None,
                        help="the CUDA version of that nvcc (nvcc --version)")
    parser.add_argument("--nvcc-data", type=Path, default=NVCC_FILE,
                        help="nvcc_targets.toml to compare")
    args = parser.parse_args(argv)

    if args.nvcc_list is not None:
        if args.nvcc_cuda is None:
            print("--nvcc-list needs --nvcc-cuda X.Y", file=sys.stderr)
            return 2
        listing = (sys.stdin.read() if str(args.nvcc_list) == "-"
                   else args.nvcc_list.read_text(encoding="utf-8"))
        report = check_nvcc(listing, args.nvcc_cuda, args.nvcc_data)
        print("\n".join(report) if report else f"{args.nvcc_data.name} matches nvcc.")
        return 1 if report else 0
    if args.html is None:
        parser.error("give the saved release notes page, or --nvcc-list")

    try:
        rows = parse_driver_table(args.html.read_text(encoding="utf-8"))
        entries = ga_entries(rows, args.since)
    except (OSError, ValueError) as e:
        print(f"cannot read the driver table from {args.html}: {e}", file=sys.stderr)
        return 2
    toolkits = toolkit_entries(rows)
    text = args.data.read_text(encoding="utf-8")
    report = differences(_file_entries(text), entries)
    known = {Version(r["release"]): r for r in _toolkit_rows(text)}
    report += [f"toolkit  {e.release}: linux >= {e.min_linux}, windows >= "
               f"{e.min_windows or 'N/A'}" for e in toolkits
               if (known.get(e.release) or {}).get("min_linux") != e.min_linux
               or (known.get(e.release) or {}).get("min_windows") != e.min_windows]
    print("\n".join(report) if report else f"{args.data.name} matches the saved page.")
    if not args.write:
        print("\n" + render_block(entries), end="")
        return 0
    updated = replace_block(text, render_block(entries))
    if TOOLKIT_BEGIN in updated:
        updated = replace_block(updated, render_toolkit_block(toolkits, args.source),
                                TOOLKIT_BEGIN, TOOLKIT_END)
    try:
        counts = Counter(row["cuda"] for row in _cuda_rows(updated))
        releases = Counter(row["release"] for row in _toolkit_rows(updated))
    except tomlkit.exceptions.ParseError as e:
        print(f"not written: the result would not parse ({e})", file=sys.stderr)
        return 2
    duplicates = [cuda for cuda, count in counts.items() if count > 1]
    duplicates += [release for release, count in releases.items() if count > 1]
    if duplicates:
        print(f"not written: CUDA {', '.join(sorted(duplicates))} is now in the release notes; "
              f"delete the hand-cited row below {END!r} / {TOOLKIT_END!r} first",
              file=sys.stderr)
        return 2
    args.data.write_text(updated, encoding="utf-8")
    print(f"wrote {args.data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
