"""`report`: the fingerprints a CI matrix uploaded, judged target by target against a
reference runner, as one table of targets by runners.

Each fingerprint names its target (the image's `org.envcheck.target` label, else the file
name) and its runner (the file name `<target>--<runner>.json` the gpu-matrix workflow writes).
Per target, every runner's fingerprint is compared with `compare_fingerprints` against the
reference runner's. Reading the files (`load_fingerprints`) is apart from the judgement
(`build_report`), which is pure; the renderers are in envcheck/report_render.py.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from envcheck.compare import Tolerances, compare_fingerprints
from envcheck.errors import UsageError
from envcheck.fingerprint_model import Fingerprint, ParitySection, SectionState, Verdict
from envcheck.services.image_labels import CONTENT_SHA256, LOCK_SHA256, TARGET

REPORT_SCHEMA = "envcheck.report/1"
NAME_SEPARATOR = "--"
"""`<target>--<runner>.json`: what the gpu-matrix workflow names each fingerprint."""


@dataclass(frozen=True, kw_only=True)
class NamedFingerprint:
    target: str
    runner: str
    origin: str
    """The file it was read from (named in every message)."""
    fingerprint: Fingerprint


@dataclass(frozen=True, kw_only=True)
class ReportCell:
    target: str
    runner: str
    origin: str
    reference: bool
    """The reference cell of its target: nothing to compare it with."""
    verdict: Verdict | None = None
    behaviour: SectionState | None = None
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    time_ratio: float | None = None
    """Median over the workloads of this runner's seconds / the reference's."""
    rebuilt: bool = False
    """The image was built again on this runner: another image ID, but the same lock and
    content hash (labels), so the two count as one build."""
    blocking: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TargetRow:
    target: str
    reference: str
    """The runner whose fingerprint the others are compared with."""
    note: str | None
    """Why the reference is not the one asked for, when it is not."""
    cells: Mapping[str, ReportCell]
    """runner -> cell; a runner without a fingerprint of this target has none."""


@dataclass(frozen=True, kw_only=True)
class MatrixReport:
    runners: tuple[str, ...]
    """Sorted."""
    rows: tuple[TargetRow, ...]
    """Targets sorted."""

    @property
    def cells(self) -> tuple[ReportCell, ...]:
        return tuple(row.cells[r] for row in self.rows for r in self.runners if r in row.cells)

    @property
    def compared(self) -> tuple[ReportCell, ...]:
        return tuple(c for c in self.cells if not c.reference)

    @property
    def blocked(self) -> tuple[ReportCell, ...]:
        return tuple(c for c in self.cells if c.verdict == "block")

    @property
    def verdict(self) -> Literal["pass", "block"]:
        return "block" if self.blocked else "pass"


# --- naming ------------------------------------------------------------------------------------


def name_fingerprint(fingerprint: Fingerprint, origin: str) -> NamedFingerprint:
    """Target from the image's label, else the file name; runner from the file name."""
    stem = Path(origin).name.removesuffix(".json")
    label = fingerprint.image.labels.get(TARGET) if fingerprint.image else None
    if label and stem.startswith(label + NAME_SEPARATOR):
        target, runner = label, stem[len(label) + len(NAME_SEPARATOR):]
    else:
        named, sep, runner = stem.partition(NAME_SEPARATOR)
        target = label or named
        if not sep:
            runner = ""
    if not target or not runner:
        raise UsageError(
            f"{origin}: cannot tell which runner took this fingerprint",
            hint=f"name the file <target>{NAME_SEPARATOR}<runner>.json, as the gpu-matrix "
            "workflow does (`envcheck fingerprint ... -o fingerprints/${{ matrix.target }}"
            f"{NAME_SEPARATOR}${{{{ matrix.runner }}}}.json`)")
    return NamedFingerprint(target=target, runner=runner, origin=origin,
                            fingerprint=fingerprint)


def load_fingerprints(paths: Iterable[str]) -> list[NamedFingerprint]:
    """Read and name each file; one that is not a fingerprint is refused, named (exit 2)."""
    from envcheck.adapters.filesystem import read_input_text
    from envcheck.fingerprint_io import fingerprint_from_json

    named = []
    for path in paths:
        try:
            text = read_input_text(Path(path))  # bounded: /dev/zero never ends
        except FileNotFoundError as e:
            raise UsageError(f"fingerprint {path} does not exist") from e
        except OSError as e:
            raise UsageError(f"cannot read fingerprint {path}: {e.strerror or e}") from e
        named.append(name_fingerprint(fingerprint_from_json(text, origin=path), path))
    return named


# --- the judgement -----------------------------------------------------------------------------


def _same_build(a: Fingerprint, b: Fingerprint) -> bool:
    """Two images built from one lock on two runners: other IDs, same lock and content."""
    if a.image is None or b.image is None or a.image.id == b.image.id:
        return False
    keys = (LOCK_SHA256, CONTENT_SHA256)
    return all(a.image.labels.get(k) and a.image.labels.get(k) == b.image.labels.get(k)
               for k in keys)


def _section(sections: Sequence[ParitySection], name: str) -> ParitySection | None:
    return next((s for s in sections if s.name == name), None)


def _compare_cell(reference: NamedFingerprint, other: NamedFingerprint,
                  tolerances: Tolerances | None, max_slowdown: float | None) -> ReportCell:
    a, b = reference.fingerprint, other.fingerprint
    rebuilt = _same_build(a, b)
    if rebuilt:
        assert a.image is not None
        assert b.image is not None
        b = replace(b, image=replace(b.image, id=a.image.id))
    parity = compare_fingerprints(a, b, tolerances, max_slowdown)
    behaviour = _section(parity.sections, "behaviour")
    performance = _section(parity.sections, "performance")
    ratios = list(performance.time_ratios.values()) if performance else []
    # A blocking section also lists what is fine in it (a workload within tolerance).
    blocking = tuple(r for s in parity.sections if s.blocking for r in s.reasons
                     if (s.name != "performance" or "slower" in r)
                     and ", within tolerance:" not in r
                     and (s.name != "host_compatibility" or r.startswith("there: "))) + tuple(
        r for r in parity.reasons if r.startswith("incomplete "))
    return ReportCell(
        target=other.target, runner=other.runner, origin=other.origin, reference=False,
        verdict=parity.verdict, behaviour=behaviour.state if behaviour else None,
        max_abs_error=behaviour.max_abs_error if behaviour else None,
        max_rel_error=behaviour.max_rel_error if behaviour else None,
        time_ratio=round(statistics.median(ratios), 3) if ratios else None,
        rebuilt=rebuilt, blocking=blocking if parity.verdict == "block" else ())


def _pick_reference(target: str, runners: Sequence[str], wanted: str | None
                    ) -> tuple[str, str | None]:
    if wanted is None or wanted in runners:
        return wanted or runners[0], None
    return runners[0], (f"no fingerprint of {target} on {wanted}, the reference asked "
                        f"for; compared against {runners[0]}")


def build_report(fingerprints: Sequence[NamedFingerprint], *, reference: str | None = None,
                 tolerances: Tolerances | None = None,
                 max_slowdown: float | None = None) -> MatrixReport:
    """Targets by runners; per target, each runner against the reference runner (`reference`,
    else the first runner in sorted order that has a fingerprint of the target)."""
    if not fingerprints:
        raise UsageError("no fingerprints to report on",
                         hint="give the files `envcheck fingerprint -o` wrote")
    by_key: dict[tuple[str, str], NamedFingerprint] = {}
    for named in fingerprints:
        key = (named.target, named.runner)
        if key in by_key:
            raise UsageError(f"{named.origin} and {by_key[key].origin} are both {named.target} "
                             f"on {named.runner}", hint="give one fingerprint per target "
                             "and runner")
        by_key[key] = named
    runners = tuple(sorted({n.runner for n in fingerprints}))
    if reference is not None and reference not in runners:
        raise UsageError(f"--reference {reference}: no fingerprint was taken on that runner",
                         hint="the runners are " + ", ".join(runners))
    rows = []
    for target in sorted({n.target for n in fingerprints}):
        present = [r for r in runners if (target, r) in by_key]
        chosen, note = _pick_reference(target, present, reference)
        base = by_key[(target, chosen)]
        cells = {}
        for runner in present:
            named = by_key[(target, runner)]
            cells[runner] = (ReportCell(target=target, runner=runner, origin=named.origin,
                                        reference=True) if runner == chosen
                             else _compare_cell(base, named, tolerances, max_slowdown))
        rows.append(TargetRow(target=target, reference=chosen, note=note, cells=cells))
    return MatrixReport(runners=runners, rows=tuple(rows))


def report_json(report: MatrixReport) -> dict[str, Any]:
    def cell_json(cell: ReportCell) -> dict[str, Any]:
        return {"target": cell.target, "runner": cell.runner, "file": cell.origin,
                "role": "reference" if cell.reference else "compared",
                "verdict": cell.verdict, "behaviour": cell.behaviour,
                "max_abs_error": cell.max_abs_error, "max_rel_error": cell.max_rel_error,
                "time_ratio": cell.time_ratio, "rebuilt": cell.rebuilt,
                "blocking": list(cell.blocking)}

    return {
        "schema": REPORT_SCHEMA,
        "verdict": report.verdict,
        "runners": list(report.runners),
        "targets": [{"target": row.target, "reference": row.reference, "note": row.note,
                     "cells": [cell_json(row.cells[r]) for r in report.runners
                               if r in row.cells]} for row in report.rows],
    }
