"""Two fingerprints of one image into a parity report: promote, or block and why.

Pure: no engine, no files. Sections go image, packages, CUDA stack, host compatibility,
behaviour, performance; each is identical, equivalent (within tolerance, with the measured
error) or different, and a different section blocks unless it is only information.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from envcheck.fingerprint_model import (
    Fingerprint,
    ParityReport,
    ParitySection,
    SectionState,
    WorkloadResult,
    WorkloadStats,
)
from envcheck.rules import run_rules
from envcheck.snapshot import Snapshot

# Driver-side libraries come from the host, not the image: they differ between hosts by
# design, and the host-compatibility section judges them.
_HOST_LIBRARIES = {"cuda", "nvidia-ml"}


@dataclass(frozen=True, kw_only=True)
class Tolerance:
    rtol: float
    atol: float


def _default_tolerances() -> dict[str, Tolerance]:
    return {
        "float64": Tolerance(rtol=1e-9, atol=1e-12),
        "float32": Tolerance(rtol=1e-5, atol=1e-6),
        "tf32": Tolerance(rtol=5e-3, atol=1e-3),
        "bfloat16": Tolerance(rtol=2e-2, atol=1e-2),
        "float16": Tolerance(rtol=1e-2, atol=1e-3),
    }


@dataclass(frozen=True, kw_only=True)
class Tolerances:
    """Per-dtype tolerances; looser by `cross_arch_factor` across GPU architectures."""

    by_dtype: Mapping[str, Tolerance] = field(default_factory=_default_tolerances)
    fallback: Tolerance = Tolerance(rtol=1e-5, atol=1e-6)
    cross_arch_factor: float = 10.0

    def for_dtype(self, dtype: str | None, *, cross_arch: bool) -> Tolerance:
        base = self.by_dtype.get(dtype or "", self.fallback)
        if not cross_arch:
            return base
        return Tolerance(rtol=base.rtol * self.cross_arch_factor,
                         atol=base.atol * self.cross_arch_factor)


@dataclass(frozen=True, kw_only=True)
class StatsError:
    max_abs: float
    max_rel: float
    within: bool


def stats_error(a: WorkloadStats, b: WorkloadStats, tolerance: Tolerance) -> StatsError:
    """The largest absolute and relative error over sum, max_abs and the samples."""
    magnitude = max(abs(a.max_abs), abs(b.max_abs))
    # A sum may cancel to near zero; judge it against the output's magnitude instead.
    pairs = [(a.sum, b.sum, magnitude), (a.max_abs, b.max_abs, 0.0),
             *((x, y, 0.0) for x, y in zip(a.samples, b.samples, strict=False))]
    worst_abs = worst_rel = 0.0
    within = len(a.samples) == len(b.samples)
    for left, right, floor in pairs:
        error = abs(left - right)
        scale = max(abs(left), abs(right), floor)
        relative = error / scale if scale else 0.0
        worst_abs, worst_rel = max(worst_abs, error), max(worst_rel, relative)
        if error > tolerance.atol and relative > tolerance.rtol:
            within = False
    return StatsError(max_abs=worst_abs, max_rel=worst_rel, within=within)


def _image_section(a: Fingerprint, b: Fingerprint) -> ParitySection:
    if a.image is None and b.image is None:
        return ParitySection(name="image", state="identical", blocking=False,
                             reasons=("no image on either side: both taken in place",))
    if a.image is None or b.image is None:
        return ParitySection(name="image", state="different", blocking=True,
                             reasons=("one fingerprint was taken in an image, the other in "
                                      "place: they do not describe the same environment",))
    shared = set(a.image.repo_digests) & set(b.image.repo_digests)
    if a.image.id == b.image.id or shared:
        return ParitySection(name="image", state="identical", blocking=False,
                             reasons=(f"image {a.image.id[:19]} on both sides",))
    return ParitySection(name="image", state="different", blocking=True, reasons=(
        f"image differs: {a.image.id[:19]} here, {b.image.id[:19]} there; the job "
        "would not run the image that was tested",))


def _package_changes(a: Snapshot, b: Snapshot) -> list[str]:
    left = {p.name.lower(): p.version for p in a.packages}
    right = {p.name.lower(): p.version for p in b.packages}
    changes = []
    for name in sorted(left.keys() | right.keys()):
        if name not in right:
            changes.append(f"{name} {left[name]} removed")
        elif name not in left:
            changes.append(f"{name} {right[name]} added")
        elif left[name] != right[name]:
            changes.append(f"{name} {left[name]} -> {right[name]}")
    return changes


def _packages_section(a: Fingerprint, b: Fingerprint) -> ParitySection:
    changes = _package_changes(a.snapshot, b.snapshot)
    reasons = [f"package changed: {c}" for c in changes]
    if (a.venv_sha256 and b.venv_sha256 and a.venv_sha256 != b.venv_sha256
            and not changes):
        reasons.append(f"same package versions but different files: environment hash "
                       f"{a.venv_sha256[:19]} vs {b.venv_sha256[:19]}")
    if a.packages_sha256 != b.packages_sha256 and not reasons:
        reasons.append("the installed-distributions hash differs")
    if reasons:
        return ParitySection(name="packages", state="different", blocking=True,
                             reasons=tuple(reasons))
    return ParitySection(name="packages", state="identical", blocking=False)


def _cuda_facts(snapshot: Snapshot) -> dict[str, str]:
    torch = snapshot.torch
    facts = {
        "torch": str(torch.version) if torch.version else torch.status,
        "torch CUDA build": str(torch.cuda) if torch.cuda else "none",
        "torch cuDNN": str(torch.cudnn) if torch.cudnn else "none",
        "torch NCCL": str(torch.nccl) if torch.nccl else "none",
    }
    for library in snapshot.cuda_libraries:
        if library.name not in _HOST_LIBRARIES:
            facts[f"{library.name} ({library.origin})"] = library.version or "unknown"
    return facts


def _cuda_section(a: Fingerprint, b: Fingerprint) -> ParitySection:
    left, right = _cuda_facts(a.snapshot), _cuda_facts(b.snapshot)
    reasons = tuple(f"{key}: {left.get(key, 'absent')} here, {right.get(key, 'absent')} there"
                    for key in sorted(left.keys() | right.keys())
                    if left.get(key) != right.get(key))
    return ParitySection(name="cuda_stack", state="different" if reasons else "identical",
                         blocking=bool(reasons), reasons=reasons)


def _host_section(a: Fingerprint, b: Fingerprint) -> ParitySection:
    blocking = [f"there: {f.summary} [{f.id}]" for f in run_rules(b.snapshot)
                if f.severity == "error"]
    notes = [f"here: {f.summary} [{f.id}]" for f in run_rules(a.snapshot)
             if f.severity == "error"]
    da, db = a.snapshot.driver, b.snapshot.driver
    if (da.version, len(a.snapshot.gpus)) != (db.version, len(b.snapshot.gpus)):
        notes.append(f"driver {da.version or da.status} with {len(a.snapshot.gpus)} GPU(s) "
                     f"here, {db.version or db.status} with {len(b.snapshot.gpus)} there")
    state: SectionState = "different" if blocking else (
        "equivalent" if notes else "identical")
    return ParitySection(name="host_compatibility", state=state, blocking=bool(blocking),
                         reasons=(*blocking, *notes))


def _capabilities(snapshot: Snapshot) -> set[str]:
    return {g.compute_capability for g in snapshot.gpus if g.compute_capability}


def _compare_workload(left: WorkloadResult, right: WorkloadResult, tolerances: Tolerances,
                      cross_arch: bool) -> tuple[SectionState, str | None, StatsError | None]:
    name = left.name
    if left.status != "ok" or right.status != "ok":
        if left.status == right.status == "absent":
            return "identical", None, None
        return "different", (f"{name}: {left.status} here ({left.detail or 'ran'}), "
                             f"{right.status} there ({right.detail or 'ran'})"), None
    if (left.device or "").split(":")[0] != (right.device or "").split(":")[0]:
        return "different", f"{name}: ran on {left.device} here, {right.device} there", None
    if left.digest == right.digest:
        if left.stats is not None and right.stats is not None and left.stats != right.stats:
            # The same bytes always give the same statistics: one file was edited or is
            # corrupt, and neither side can be trusted to promote on.
            return "different", (
                f"{name}: contradiction: the same output digest here and there but different "
                f"statistics (sum {left.stats.sum:.9g} here, {right.stats.sum:.9g} there; "
                f"max_abs {left.stats.max_abs:.9g} here, {right.stats.max_abs:.9g} there); "
                "a fingerprint file was edited or is corrupt: take both again"), None
        return "identical", None, None
    if left.stats is None or right.stats is None:
        return "different", f"{name}: output differs and no statistics to judge it", None
    tolerance = tolerances.for_dtype(left.dtype, cross_arch=cross_arch)
    error = stats_error(left.stats, right.stats, tolerance)
    measured = (f"max abs error {error.max_abs:.3g}, max rel error {error.max_rel:.3g} "
                f"(tolerance {left.dtype}: rtol {tolerance.rtol:g}, atol {tolerance.atol:g})")
    if error.within:
        return "equivalent", f"{name}: output bits differ, within tolerance: {measured}", error
    return "different", f"{name}: output beyond tolerance: {measured}", error


def _behaviour_section(a: Fingerprint, b: Fingerprint,
                       tolerances: Tolerances) -> ParitySection:
    cross_arch = _capabilities(a.snapshot) != _capabilities(b.snapshot)
    right = {w.name: w for w in b.behaviour}
    states: list[SectionState] = []
    reasons: list[str] = []
    worst_abs = worst_rel = None
    for left in a.behaviour:
        other = right.pop(left.name, None)
        if other is None:
            states.append("different")
            reasons.append(f"{left.name}: measured here, missing there")
            continue
        state, reason, error = _compare_workload(left, other, tolerances, cross_arch)
        states.append(state)
        if reason:
            reasons.append(reason)
        if error is not None:
            worst_abs = max(worst_abs or 0.0, error.max_abs)
            worst_rel = max(worst_rel or 0.0, error.max_rel)
    for name in sorted(right):
        states.append("different")
        reasons.append(f"{name}: measured there, missing here")
    if not a.behaviour and not b.behaviour:
        reasons.append("no behaviour measured on either side (no torch or numpy)")
    overall: SectionState = ("different" if "different" in states else
                             "equivalent" if "equivalent" in states else "identical")
    return ParitySection(name="behaviour", state=overall, blocking=overall == "different",
                         reasons=tuple(sorted(reasons, key=lambda r: "beyond" not in r)),
                         max_abs_error=worst_abs, max_rel_error=worst_rel)


def _performance_section(a: Fingerprint, b: Fingerprint,
                         max_slowdown: float | None) -> ParitySection:
    there = {w.name: w.seconds for w in b.behaviour if w.seconds}
    ratios = {w.name: round(there[w.name] / w.seconds, 3) for w in a.behaviour
              if w.seconds and w.name in there}
    slow = [f"{name}: {ratio:g}x slower there (limit {max_slowdown:g}x)"
            for name, ratio in ratios.items()
            if max_slowdown is not None and ratio > max_slowdown]
    notes = [f"{name}: time ratio there/here {ratio:g}" for name, ratio in ratios.items()]
    return ParitySection(name="performance", state="different" if slow else "equivalent",
                         blocking=bool(slow), reasons=(*slow, *notes), time_ratios=ratios)


def compare_fingerprints(a: Fingerprint, b: Fingerprint, tolerances: Tolerances | None = None,
                         max_slowdown: float | None = None) -> ParityReport:
    """A (here, the reference) against B (there, the candidate host)."""
    tolerances = tolerances or Tolerances()
    sections = (
        _image_section(a, b),
        _packages_section(a, b),
        _cuda_section(a, b),
        _host_section(a, b),
        _behaviour_section(a, b, tolerances),
        _performance_section(a, b, max_slowdown),
    )
    problems = [f"fingerprint {side}: {p}" for side, f in (("here", a), ("there", b))
                for p in f.problems]
    blocking = [r for s in sections if s.blocking for r in s.reasons
                if s.name != "performance" or "slower" in r]
    if problems:
        blocking.extend(f"incomplete {p}" for p in problems)
    rest = [r for s in sections if not s.blocking for r in s.reasons]
    return ParityReport(verdict="block" if blocking else "promote",
                        reasons=(*blocking, *rest), sections=sections)

