"""Build a Snapshot from a report a user pasted (`envcheck doctor --from-report FILE`).

What a report does not mention is `unknown` ("not in the report"), never `absent`: a paste
rarely proves that something is not there. The exceptions are values the pasted tool
measured:

- collect_env's "Is CUDA available: False" is torch's own answer (`cuda_available=False`,
  provenance "measured").
- collect_env's "PyTorch version: N/A" means `import torch` failed in that interpreter:
  torch is `absent` there, with that detail.
- collect_env's "Could not collect"/"No CUDA" for the driver mean it ran nvidia-smi and got
  nothing; that is `error` (looked, could not tell), with the words it printed.
- "CUDA used to build PyTorch: None" (or "Could not collect", how torch 1.x printed None)
  is a CPU build: `torch.cuda` None with provenance "measured". When torch's version comes
  only from a package list and its local tag says nothing ("torch==2.1.0"), `cuda` stays
  None *without* a provenance entry and "torch's CUDA build" is listed as missing: rules
  must read `provenance.get("cuda")` before treating None as a CPU build.
- ldd's "not found" lines are kept (a binary there will not load): they are listed in
  `ReportSnapshot.unresolved_libraries` and as an error in the snapshot's "report:ldd" probe.

Paths the report does not give are the empty string: a toolkit from "CUDA runtime version"
or `nvcc --version` has `path=""` with `detail` saying where the fact came from, and a pip
wheel's library has `path=""` with its `distribution`. The empty string cannot be mistaken
for a real path, where a placeholder like "(from report)" could end up in a comparison.

collect_env's "cuDNN version" is the system's libcudnn (found by ldconfig), which pip wheels
of torch do not use; it becomes `torch.cudnn` only when every candidate file names the same
full version, with provenance "derived", and each candidate is also a CudaLibrary.

Facts scattered through prose, tracebacks and logs (torch's warnings, REPL sessions, pip and
apt logs, LD_LIBRARY_PATH, ...) are read line by line (envcheck.reports.line_facts) and fill
what the blocks leave unknown (envcheck.reports.line_merge says in which order). A message from
the error-signature table counts as recognised but adds no fact: a paste that is only a
traceback can still be diagnosed with `--error`, every fact unknown.

Each recognised piece is recorded as a ProbeRun named "report:<format>" (seconds 0.0) so
the snapshot shows what the report contained.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar, cast

from packaging.version import Version

from envcheck.errors import ParseError
from envcheck.knowledge.gpu_tables import find_gpu
from envcheck.knowledge.signatures import match_error
from envcheck.knowledge.torch_tables import cuda_from_local_label
from envcheck.parsers.ldconfig import identify_cuda_library
from envcheck.parsers.nvcc_version import parse_nvcc_version
from envcheck.parsers.nvidia_smi_xml import SmiReport, parse_nvidia_smi_xml
from envcheck.reports.bare_driver import bare_driver_versions
from envcheck.reports.collect_env import (
    CollectEnvReport,
    cpu_count,
    cudnn_candidates,
    gpu_names,
    is_yes,
    parse_collect_env,
)
from envcheck.reports.ldd import LddEntry, parse_ldd
from envcheck.reports.library_facts import LibraryFacts, read_library_facts
from envcheck.reports.line_facts import FactName, LineFacts, Reader, describe, read_lines
from envcheck.reports.line_merge import (
    LineEvidence,
    installed_packages,
    ld_library_dirs,
    library_at,
    merge_driver,
    merge_gpus,
    merge_libraries,
    merge_python,
    merge_system,
    merge_toolkits,
    merge_torch,
    torch_came_from_pip,
)
from envcheck.reports.line_search import LineSearch
from envcheck.reports.nvidia_smi_table import (
    TRUNCATED,
    SmiTable,
    parse_nvidia_smi_list,
    parse_nvidia_smi_table,
)
from envcheck.reports.package_lists import (
    CondaPackage,
    normalize_name,
    parse_conda_list,
    parse_conda_row,
    parse_pip_freeze,
    parse_pip_list,
    parse_requirement_line,
)
from envcheck.reports.pinned_installs import PinnedInstall, read_pinned_installs
from envcheck.reports.readings import ReadingGroup, other_readings
from envcheck.reports.remedies import RemedyTrial, read_remedies
from envcheck.reports.run_settings import BudgetSetting, read_memory_budgets
from envcheck.reports.segments import (
    LINE_READERS,
    Segment,
    SegmentKind,
    clean_lines,
    split_lines,
)
from envcheck.reports.stated_requirements import (
    EnvVersion,
    StatedRequirement,
    read_env_versions,
    read_stated_requirements,
)
from envcheck.reports.tool_versions import stated_tools
from envcheck.snapshot import (
    CudaLibrary,
    Driver,
    DriverVersion,
    Gpu,
    Package,
    ProbeRun,
    Provenance,
    PythonEnv,
    Snapshot,
    System,
    Toolkit,
    Torch,
)
from envcheck.versions import version_or_none

_T = TypeVar("_T")

NOT_IN_REPORT = "not in the report"

UNDERSTOOD_FORMATS = (
    "python -m torch.utils.collect_env",
    "nvidia-smi",
    "nvidia-smi -q -x",
    "nvidia-smi -L",
    "nvcc --version",
    "pip list",
    "pip freeze",
    "conda list",
    "ldd",
    "torch's warnings and errors",
    "Python REPL sessions",
    "pip and apt logs",
    "LD_LIBRARY_PATH",
    "/proc/driver/nvidia/version",
    "known error messages",
    "versions written in the text (Driver: 545.29.06, torch 2.1, CUDA 12.1, RTX 3090, ...)",
    "start-up banners (Ultralytics, transformers-cli env)",
    "docker run lines",
    "build logs (nvcc, CMake, setup.py)",
    "service logs (journalctl -u nvidia-fabricmanager, dmesg NVRM lines, nvidia-persistenced)",
    "NCCL settings (export NCCL_..., NCCL's 'set by environment' lines)",
    "what was tried and worked (NCCL_P2P_DISABLE=1, reloading nvidia_uvm, a container restart)",
)

_PYTHON_VERSION = re.compile(r"^(\d{1,2}\.\d{1,3}(?:\.\d{1,4})?)")
_LINUX_PLATFORM = re.compile(
    r"^Linux-(?P<kernel>.+?)-(?P<arch>x86_64|aarch64|arm64|ppc64le|s390x|armv7l|i686)"
    r"(?:-with-|$)"
)
_OS_ARCH = re.compile(r"^(?P<os>.*?)\s*\((?P<arch>x86_64|aarch64|arm64|ppc64le|s390x|i386)\)$")
_GLIBC = re.compile(r"^glibc-(\d{1,3}\.\d{1,4})")
_RELEASE = re.compile(r"^(\d{1,3})\.(\d{1,3})(?:\.(\d{1,6}))?$")
_CONDA_CUDA = re.compile(r"cuda(\d{1,3}\.\d{1,3})")
_CONDA_CUDNN = re.compile(r"cudnn(\d{1,3}(?:\.\d{1,4}){1,3})")

# pip wheel distribution prefix -> CudaLibrary short name (names as CudaLibrary uses them).
_WHEEL_LIBRARIES = {
    "nvidia-cudnn": "cudnn",
    "nvidia-cublas": "cublas",
    "nvidia-nccl": "nccl",
    "nvidia-cuda-runtime": "cudart",
    "nvidia-cuda-nvrtc": "nvrtc",
    "nvidia-nvjitlink": "nvjitlink",
    "nvidia-cufft": "cufft",
    "nvidia-curand": "curand",
    "nvidia-cusolver": "cusolver",
    "nvidia-cusparse": "cusparse",
    "nvidia-cuda-cupti": "cupti",
    "nvidia-nvtx": "nvtx",
}


@dataclass(frozen=True, kw_only=True)
class ReportSnapshot:
    snapshot: Snapshot
    """source="report"; everything the report does not mention is unknown or empty."""
    recognised: tuple[str, ...]
    """Formats found, in order of first appearance, e.g. ("collect_env", "nvidia-smi-table")."""
    missing: tuple[str, ...]
    """What the report does not say, as phrases: "the NVIDIA driver version", ..."""
    unresolved_libraries: tuple[str, ...] = ()
    """Sonames ldd printed as "not found"."""
    read: tuple[ReadFact, ...] = ()
    """Every fact read, with the line it came from, in paste order."""
    readings: tuple[ReadingGroup, ...] = ()
    """Other readings of ambiguous or missing facts (envcheck.reports.readings)."""
    builds_cuda_code: bool = False
    """The report shows CUDA code being compiled (nvcc, cpp_extension, CMake's CUDA language)."""
    glibc_missing: str | None = None
    """The loader's "GLIBC_2.28 not found": the system's glibc is older than this."""
    library_facts: LibraryFacts = field(default_factory=LibraryFacts)
    """Framework builds, stated cuDNN, libstdc++ and LD_DEBUG facts (envcheck.reports.
    library_facts), for the rules in envcheck.rules.library_rules."""
    remedies: tuple[RemedyTrial, ...] = ()
    """Changes the reporter tried, and whether they worked (envcheck.reports.remedies)."""
    memory_budgets: tuple[BudgetSetting, ...] = ()
    """vLLM's gpu_memory_utilization values the paste sets (envcheck.reports.run_settings)."""
    pinned_installs: tuple[PinnedInstall, ...] = ()
    """Installs of packages that pin torch (envcheck.reports.pinned_installs)."""
    stated_requirements: tuple[StatedRequirement, ...] = ()
    env_versions: tuple[EnvVersion, ...] = ()
    """Requirements the text states and the versions `env` commands print (envcheck.reports.
    stated_requirements)."""


@dataclass(frozen=True, kw_only=True)
class ReadFact:
    """One fact as read: what, its value, and where (1-based line, the line's text)."""

    fact: FactName
    value: str
    line: int
    text: str


def snapshot_from_report(text: str, *, taken_at: str, envcheck_version: str) -> ReportSnapshot:
    """Read every recognised piece of `text`; raise ParseError when nothing is recognised."""
    facts = _Facts()
    lines, fences = clean_lines(text)
    for segment in split_lines(lines, fences):
        _READERS[segment.kind](facts, segment)
    # Messages are matched without the "> " of a Markdown quote, which breaks a wrapped one
    # ("...used to compile\n> PyTorch (11.8)"); the line count stays the same.
    _read_error_messages(facts, "\n".join(lines) if any(fences) or ">" in text else text)
    trials = _read_remedies(facts, lines, text)
    budgets = _read_budgets(facts, lines)
    if not facts.recognised:
        problems = "".join(f"\n  {run.detail}" for run in facts.probes if run.status == "error")
        raise ParseError(
            "no environment facts found in the report"
            + (f"; pieces that could not be read:{problems}" if problems else "")
            + "\n  envcheck understands: " + ", ".join(UNDERSTOOD_FORMATS),
            hint="Paste the complete output of `python -m torch.utils.collect_env` "
                 "and `nvidia-smi` (or `nvidia-smi -q -x`).",
        )
    _read_tool_versions(facts, lines)
    _read_bare_driver(facts, lines)
    snapshot = facts.snapshot(taken_at=taken_at, envcheck_version=envcheck_version)
    snapshot, from_table = _with_table_capabilities(snapshot)
    items = tuple((kind, line, found) for kind, line, found in facts.numbered_lines)
    glibc = [found.glibc_missing for _, _, found in items if found.glibc_missing]
    search = LineSearch(lines)
    return ReportSnapshot(
        snapshot=snapshot,
        recognised=tuple(dict.fromkeys(facts.recognised)),
        missing=_missing(snapshot),
        unresolved_libraries=tuple(
            dict.fromkeys(entry.soname for entry in facts.ldd if entry.path is None)
        ),
        read=(*facts.read.values(), *from_table),
        readings=other_readings(snapshot, items),
        builds_cuda_code=any(found.builds_cuda_code for _, _, found in items),
        glibc_missing=str(glibc[-1]) if glibc else None,
        library_facts=read_library_facts(text),
        remedies=trials,
        memory_budgets=budgets,
        pinned_installs=read_pinned_installs(lines, search),
        stated_requirements=read_stated_requirements(lines, search),
        env_versions=read_env_versions(lines, search),
    )


def _with_table_capabilities(snapshot: Snapshot) -> tuple[Snapshot, list[ReadFact]]:
    """A GPU the table knows gets its compute capability (nvidia-smi never prints it)."""
    gpus: list[Gpu] = []
    read: list[ReadFact] = []
    for gpu in snapshot.gpus:
        model = find_gpu(gpu.name) if gpu.compute_capability is None else None
        if model is None:
            gpus.append(gpu)
            continue
        gpus.append(replace(gpu, compute_capability=model.compute_capability))
        read.append(ReadFact(fact="compute capability",
                             value=f"{model.compute_capability} ({gpu.name}, from "
                                   "envcheck's GPU table)", line=0, text=""))
    return replace(snapshot, gpus=tuple(gpus)), read


@dataclass
class _Facts:
    recognised: list[SegmentKind] = field(default_factory=list)
    probes: list[ProbeRun] = field(default_factory=list)
    collect_env: list[CollectEnvReport] = field(default_factory=list)
    xml: list[SmiReport] = field(default_factory=list)
    tables: list[SmiTable] = field(default_factory=list)
    listed_gpus: list[Gpu] = field(default_factory=list)
    nvcc: list[tuple[Version, str | None]] = field(default_factory=list)
    pip: list[Package] = field(default_factory=list)
    conda: list[CondaPackage] = field(default_factory=list)
    ldd: list[LddEntry] = field(default_factory=list)
    lines: list[tuple[SegmentKind, LineFacts]] = field(default_factory=list)
    numbered_lines: list[tuple[SegmentKind, int, LineFacts]] = field(default_factory=list)
    read: dict[tuple[str, str], ReadFact] = field(default_factory=dict)
    """The first line of each (fact, value): a long log repeats the same facts."""
    parsed: dict[tuple[object, tuple[str, ...]], object] = field(default_factory=dict)
    described: set[int] = field(default_factory=set)
    """ids of the LineFacts noted (each is kept alive in `lines`)."""

    def parse(self, parser: Callable[[tuple[str, ...]], _T], segment: Segment) -> _T:
        """`parser`'s answer for the block's lines, parsed once per paste: a long paste
        repeats its blocks (the parsers are pure, and nothing changes what they return)."""
        key = (parser, segment.lines)
        if key not in self.parsed:
            self.parsed[key] = parser(segment.lines)
        return cast("_T", self.parsed[key])

    def note(self, fact: FactName, value: object, line: int, text: str) -> None:
        if value is None or value == "":
            return
        shown = str(value)[:200]
        if (fact, shown) not in self.read:
            self.read[(fact, shown)] = ReadFact(fact=fact, value=shown, line=line,
                                                text=text.strip()[:160])

    def note_in(self, segment: Segment, fact: FactName, value: object, needle: str) -> None:
        """A fact from a block, with the block's line that holds `needle`."""
        for offset, line in enumerate(segment.lines):
            if needle and needle in line:
                self.note(fact, value, segment.first_line + offset, line)
                return
        self.note(fact, value, segment.first_line, segment.lines[0] if segment.lines else "")

    def found(self, segment: Segment, detail: str, *, status: str = "ok") -> None:
        self.recognised.append(segment.kind)
        self.probes.append(ProbeRun(name=f"report:{segment.kind}",
                                    status="error" if status == "error" else "ok",
                                    seconds=0.0, detail=f"line {segment.first_line}: {detail}"))

    def failed(self, segment: Segment, detail: str) -> None:
        self.probes.append(ProbeRun(name=f"report:{segment.kind}", status="error", seconds=0.0,
                                    detail=f"line {segment.first_line}: {detail}"))

    def snapshot(self, *, taken_at: str, envcheck_version: str) -> Snapshot:
        collect_env = _merge_collect_env(self.collect_env)
        evidence = LineEvidence(tuple(self.lines))
        packages = self._packages(collect_env, installed_packages(evidence))
        torch = merge_torch(_torch(collect_env, packages, self.conda), evidence,
                            from_collect_env=bool(collect_env
                                                  and "PyTorch version" in collect_env.fields))
        libraries = merge_libraries(
            self._libraries(collect_env, packages, ld_library_dirs(evidence.ld_library_path)),
            evidence, torch, torch_came_from_pip(torch, packages, evidence))
        return Snapshot(
            envcheck_version=envcheck_version,
            taken_at=taken_at,
            source="report",
            system=merge_system(_system(collect_env), evidence),
            driver=merge_driver(self._driver(collect_env), evidence),
            gpus=merge_gpus(self._gpus(collect_env), evidence),
            toolkits=merge_toolkits(self._toolkits(collect_env), evidence),
            cuda_libraries=libraries,
            python=merge_python(self._python(collect_env), evidence),
            torch=torch,
            packages=tuple(sorted(packages, key=lambda p: normalize_name(p.name))),
            probes=tuple(self.probes),
        )

    def _driver(self, collect_env: CollectEnvReport | None) -> Driver:
        versions: list[DriverVersion] = [r.driver_version for r in self.xml if r.driver_version]
        versions += [t.driver_version for t in self.tables if t.driver_version]
        raw = collect_env.value("Nvidia driver version") if collect_env else None
        from_collect_env = _driver_version(raw)
        if from_collect_env:
            versions.append(from_collect_env)
        apis = [r.cuda_version for r in self.xml if r.cuda_version]
        apis += [t.cuda_version for t in self.tables if t.cuda_version]
        if versions:
            distinct = list(dict.fromkeys(versions))
            detail = (None if len(distinct) == 1 else
                      "the report shows several driver versions: " + ", ".join(distinct))
            return Driver(status="ok", version=versions[0],
                          cuda_driver_api=apis[0] if apis else None, source="report",
                          detail=detail)
        if raw is not None and raw.strip():
            return Driver(status="error", source="report",
                          detail=f"collect_env printed {raw.strip()!r} for the driver version")
        return Driver(status="unknown", detail=NOT_IN_REPORT)

    def _gpus(self, collect_env: CollectEnvReport | None) -> tuple[Gpu, ...]:
        by_index: dict[int, Gpu] = {}
        # Highest authority first: -q -x, then the table (metrics, maybe truncated names),
        # then -L (full names, UUIDs), then collect_env (full names, from nvidia-smi -L).
        for report in self.xml:
            for gpu in report.gpus:
                by_index.setdefault(gpu.index, gpu)
        for table in self.tables:
            for gpu in table.gpus:
                by_index[gpu.index] = _merge_gpu(by_index.get(gpu.index), gpu)
        for gpu in self.listed_gpus:
            by_index[gpu.index] = _merge_gpu(by_index.get(gpu.index), gpu)
        if collect_env:
            for index, name in gpu_names(collect_env):
                by_index[index] = _merge_gpu(by_index.get(index), Gpu(index=index, name=name))
        return tuple(by_index[index] for index in sorted(by_index))

    def _toolkits(self, collect_env: CollectEnvReport | None) -> tuple[Toolkit, ...]:
        toolkits: list[Toolkit] = [
            Toolkit(path="", nvcc_version=version, nvcc_build=build,
                    detail="from the report: nvcc --version (path not given)")
            for version, build in self.nvcc
        ]
        runtime = collect_env.collected("CUDA runtime version") if collect_env else None
        release = _RELEASE.match(runtime) if runtime else None
        if release:
            version = Version(f"{release.group(1)}.{release.group(2)}")
            build = f"V{runtime}" if release.group(3) else None
            if not any(t.nvcc_version == version and (t.nvcc_build == build or build is None)
                       for t in toolkits):
                toolkits.append(Toolkit(
                    path="", nvcc_version=version, nvcc_build=build,
                    detail="from the report: collect_env's 'CUDA runtime version' "
                           "(nvcc --version on PATH; path not given)"))
        unique: dict[tuple[object, ...], Toolkit] = {}
        for toolkit in toolkits:
            unique.setdefault((toolkit.nvcc_version, toolkit.nvcc_build), toolkit)
        return tuple(unique.values())

    def _libraries(self, collect_env: CollectEnvReport | None, packages: list[Package],
                   ld_dirs: frozenset[str]) -> tuple[CudaLibrary, ...]:
        libraries: list[CudaLibrary] = []
        for path in cudnn_candidates(collect_env) if collect_env else []:
            libraries.extend(_system_library(path, path))
        for entry in self.ldd:
            if entry.path and _system_library(entry.soname, entry.path):
                libraries.append(library_at(entry.path, ld_dirs))
        for package in packages:
            name = _wheel_library(package.name)
            if name:
                libraries.append(CudaLibrary(
                    name=name, version=package.version or None, path="", origin="pip",
                    found_via=("report",), distribution=package.name))
        return tuple(dict.fromkeys(libraries))

    def _python(self, collect_env: CollectEnvReport | None) -> PythonEnv:
        raw = collect_env.collected("Python version") if collect_env else None
        match = _PYTHON_VERSION.match(raw) if raw else None
        if match:
            platform = collect_env.collected("Python platform") if collect_env else None
            linux = _LINUX_PLATFORM.match(platform) if platform else None
            return PythonEnv(status="ok", version=Version(match.group(1)),
                             platform=f"linux-{linux.group('arch')}" if linux else None,
                             detail="from the report: collect_env")
        for row in self.conda:
            if row.name == "python":
                version = _version(row.version)
                if version:
                    return PythonEnv(status="ok", version=version, kind="conda",
                                     detail="from the report: conda list")
        return PythonEnv(status="unknown", detail=NOT_IN_REPORT)

    def _packages(self, collect_env: CollectEnvReport | None,
                  logged: list[Package]) -> list[Package]:
        candidates: list[Package] = list(self.pip)
        if collect_env:
            candidates += [p for p in map(parse_requirement_line, collect_env.pip_lines) if p]
            candidates += [
                Package(name=row.name, version=row.version)
                for row in map(parse_conda_row, collect_env.conda_lines) if row
            ]
        candidates += [Package(name=row.name, version=row.version) for row in self.conda]
        candidates += logged
        unique: dict[str, Package] = {}
        for package in candidates:
            unique.setdefault(normalize_name(package.name), package)
        return list(unique.values())


def _read_tool_versions(facts: _Facts, lines: Sequence[str]) -> None:
    """ollama's, vLLM's or RAPIDS' version as the report states it (envcheck.reports.
    tool_versions), unless a package list already gave one."""
    for stated in stated_tools(lines):
        package = stated.package
        if any(normalize_name(p.name) == normalize_name(package.name) for p in facts.pip):
            continue
        facts.pip.append(package)
        facts.note("package", f"{package.name} {package.version}", stated.line, stated.text)


def _read_bare_driver(facts: _Facts, lines: Sequence[str]) -> None:
    """A driver version alone on a line (envcheck.reports.bare_driver), when no sentence
    names one: it is read as the text's own statement of the driver."""
    if any(found.driver_version for _, found in facts.lines):
        return
    for number, version in bare_driver_versions(lines):
        found = LineFacts(driver_version=version)
        facts.lines.append(("prose", found))
        facts.numbered_lines.append(("prose", number, found))
        facts.note("driver", version, number, lines[number - 1])


def _read_collect_env(facts: _Facts, segment: Segment) -> None:
    report = facts.parse(parse_collect_env, segment)
    if len(report.fields) >= 2 or "PyTorch version" in report.fields:
        facts.collect_env.append(report)
        facts.found(segment, f"{len(report.fields)} collect_env fields")
        for key, fact in _COLLECT_ENV_FACTS:
            value = report.value(key)
            if value is not None and value.strip():
                facts.note_in(segment, fact, value.strip(), key + ":")


def _read_xml(facts: _Facts, segment: Segment) -> None:
    try:
        report = facts.parse(_parse_xml, segment)
    except ParseError as e:
        facts.failed(segment, e.message)
        return
    except ValueError as e:
        # A number past int()'s digit limit inside an otherwise well-formed document.
        facts.failed(segment, f"unreadable nvidia-smi -q -x value ({e})")
        return
    facts.xml.append(report)
    facts.found(segment, f"{len(report.gpus)} GPU(s), driver {report.driver_version}")
    facts.note_in(segment, "driver", report.driver_version, "driver_version")
    facts.note_in(segment, "driver's CUDA", report.cuda_version, "cuda_version")
    for gpu in report.gpus:
        facts.note_in(segment, "GPU", gpu.name, gpu.name)


def _parse_xml(lines: tuple[str, ...]) -> SmiReport:
    return parse_nvidia_smi_xml("\n".join(lines))


def _read_table(facts: _Facts, segment: Segment) -> None:
    table = facts.parse(parse_nvidia_smi_table, segment)
    if table.driver_version or table.gpus:
        facts.tables.append(table)
        facts.found(segment, f"{len(table.gpus)} GPU row(s), driver {table.driver_version}")
        facts.note_in(segment, "driver", table.driver_version, "Driver Version")
        facts.note_in(segment, "driver's CUDA", table.cuda_version, "CUDA Version")
        for gpu in table.gpus:
            facts.note_in(segment, "GPU", gpu.name, gpu.name.removesuffix("..."))


def _read_list(facts: _Facts, segment: Segment) -> None:
    gpus = facts.parse(parse_nvidia_smi_list, segment)
    if gpus:
        facts.listed_gpus.extend(gpus)
        facts.found(segment, f"{len(gpus)} GPU(s)")
        for gpu in gpus:
            facts.note_in(segment, "GPU", gpu.name, gpu.name)


def _read_nvcc(facts: _Facts, segment: Segment) -> None:
    try:
        version, build = parse_nvcc_version(segment.text)
    except (ParseError, ValueError):  # ValueError: a release number past int()'s limit
        return
    facts.nvcc.append((version, build))
    facts.found(segment, f"nvcc {version}")
    facts.note_in(segment, "toolkit (nvcc)", version, "release")


def _read_packages(parse: Callable[[tuple[str, ...]], list[Package]]) -> Callable[
        [_Facts, Segment], None]:
    def read(facts: _Facts, segment: Segment) -> None:
        packages = facts.parse(parse, segment)
        if packages:
            facts.pip.extend(packages)
            facts.found(segment, f"{len(packages)} package(s)")
            for package in packages:
                if normalize_name(package.name) in _NOTED_PACKAGES:
                    facts.note_in(segment, "package", f"{package.name} {package.version}",
                                  package.name)

    return read


def _read_conda(facts: _Facts, segment: Segment) -> None:
    rows = facts.parse(parse_conda_list, segment)
    if rows:
        facts.conda.extend(rows)
        facts.found(segment, f"{len(rows)} package(s)")
        for row in rows:
            if row.name in ("pytorch", "torch", "torchvision", "cudatoolkit", "python"):
                facts.note_in(segment, "package", f"{row.name} {row.version} {row.build}",
                              row.name)


def _read_ldd(facts: _Facts, segment: Segment) -> None:
    entries = facts.parse(parse_ldd, segment)
    if not entries:
        return
    facts.ldd.extend(entries)
    missing = [entry.soname for entry in entries if entry.path is None]
    if missing:
        facts.found(segment, "not found: " + ", ".join(missing), status="error")
    else:
        facts.found(segment, f"{len(entries)} libraries resolved")


def _read_line_facts(reader: Reader) -> Callable[[_Facts, Segment], None]:
    def read(facts: _Facts, segment: Segment) -> None:
        found = segment.facts if segment.facts is not None else read_lines(reader,
                                                                          segment.lines)
        if found is not None:
            facts.lines.append((segment.kind, found))
            facts.numbered_lines.append((segment.kind, segment.first_line, found))
            facts.found(segment, segment.lines[0].strip()[:120])
            # The same window of lines gives the same LineFacts object (find_line_facts):
            # its facts are noted already, at their first line.
            if id(found) not in facts.described:
                facts.described.add(id(found))
                for fact, value in describe(found):
                    facts.note(fact, value, segment.first_line, segment.lines[0])

    return read


def _read_error_messages(facts: _Facts, text: str) -> None:
    """A message from the error-signature table is recognised even in a paste without any
    other fact, so that `--error` can still be judged; it adds no environment fact."""
    matches = match_error(text)
    offsets = [max(text.find(match.matched_text), 0) for match in matches]
    # Each message's line: the line breaks before it, counted once through the paste.
    line_at: dict[int, int] = {}
    counted, breaks = 0, 0
    for offset in sorted(set(offsets)):
        breaks += text.count("\n", counted, offset)
        counted = offset
        line_at[offset] = breaks + 1
    for match, offset in zip(matches, offsets, strict=True):
        line = line_at[offset]
        segment = Segment(kind="error-message", lines=(match.matched_text,), first_line=line)
        facts.found(segment, f"known error message ({match.signature.id})")


def _read_remedies(facts: _Facts, lines: list[str], text: str) -> tuple[RemedyTrial, ...]:
    """A change the reporter says worked is a fact of the report (it decides the cause)."""
    trials = read_remedies(lines, text)
    for trial in trials:
        if trial.outcome != "worked":
            continue
        segment = Segment(kind="remedy", lines=(trial.text,), first_line=trial.line)
        facts.found(segment, f"a change that worked ({trial.remedy.id})")
        facts.note("change that worked", trial.remedy.id, trial.line, trial.text)
    return trials


def _read_budgets(facts: _Facts, lines: list[str]) -> tuple[BudgetSetting, ...]:
    """vLLM's gpu_memory_utilization, a fact of the run (a value above the safe one is a
    risk on its own, whatever else the paste says)."""
    budgets = read_memory_budgets(lines)
    for budget in budgets:
        segment = Segment(kind="run-setting", lines=(budget.text,), first_line=budget.line)
        facts.found(segment, f"gpu_memory_utilization {budget.written}")
        facts.note("vLLM memory budget", budget.written, budget.line, budget.text)
    return budgets


_COLLECT_ENV_FACTS: tuple[tuple[str, FactName], ...] = (
    ("PyTorch version", "torch"), ("CUDA used to build PyTorch", "torch's CUDA"),
    ("Is CUDA available", "CUDA available"), ("CUDA runtime version", "toolkit (nvcc)"),
    ("Nvidia driver version", "driver"), ("GPU models and configuration", "GPU"),
    ("Python version", "Python"), ("OS", "OS"), ("Libc version", "glibc"),
)
_NOTED_PACKAGES = frozenset({"torch", "torchvision", "torchaudio", "xformers", "triton",
                             "flash-attn", "vllm", "nvidia-cudnn-cu12", "nvidia-cudnn-cu11"})

_READERS: dict[SegmentKind, Callable[[_Facts, Segment], None]] = {
    "collect_env": _read_collect_env,
    "nvidia-smi-table": _read_table,
    "nvidia-smi-xml": _read_xml,
    "nvidia-smi-L": _read_list,
    "nvcc": _read_nvcc,
    "pip-list": _read_packages(parse_pip_list),
    "pip-freeze": _read_packages(parse_pip_freeze),
    "conda-list": _read_conda,
    "ldd": _read_ldd,
    **{kind: _read_line_facts(reader) for kind, reader in LINE_READERS},
}


def _merge_collect_env(reports: list[CollectEnvReport]) -> CollectEnvReport | None:
    """One view of several collect_env pieces (a paste split by fences); first value wins."""
    if not reports:
        return None
    if len(reports) == 1:
        return reports[0]
    fields: dict[str, str] = {}
    for report in reports:
        for key, value in report.fields.items():
            fields.setdefault(key, value)

    def first(lines: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
        return next((section for section in lines if section), ())

    return CollectEnvReport(
        fields=fields,
        gpu_lines=first(r.gpu_lines for r in reports),
        cudnn_lines=first(r.cudnn_lines for r in reports),
        pip_lines=tuple(line for r in reports for line in r.pip_lines),
        conda_lines=tuple(line for r in reports for line in r.conda_lines),
        cpu_lines=first(r.cpu_lines for r in reports),
    )


def _merge_gpu(known: Gpu | None, other: Gpu) -> Gpu:
    """`known` keeps its values; `other` fills what it lacks, and a full name replaces a
    name the table truncated."""
    if known is None:
        return other
    unavailable = dict(known.unavailable)
    name = known.name
    if unavailable.get("name") == TRUNCATED and "name" not in other.unavailable:
        name = other.name
        del unavailable["name"]
    return replace(
        known,
        name=name,
        uuid=known.uuid or other.uuid,
        memory_total_mib=_first(known.memory_total_mib, other.memory_total_mib),
        memory_used_mib=_first(known.memory_used_mib, other.memory_used_mib),
        temperature_c=_first(known.temperature_c, other.temperature_c),
        power_w=_first(known.power_w, other.power_w),
        power_limit_w=_first(known.power_limit_w, other.power_limit_w),
        utilization_pct=_first(known.utilization_pct, other.utilization_pct),
        processes=known.processes or other.processes,
        unavailable=unavailable,
    )


def _first(value: _T | None, fallback: _T | None) -> _T | None:
    return value if value is not None else fallback


def _system(collect_env: CollectEnvReport | None) -> System:
    if collect_env is None:
        return System()
    os_name = collect_env.collected("OS")
    arch = None
    if os_name and (os_arch := _OS_ARCH.match(os_name)):
        os_name, arch = os_arch.group("os"), os_arch.group("arch")
    platform = collect_env.collected("Python platform")
    linux = _LINUX_PLATFORM.match(platform) if platform else None
    kernel = linux.group("kernel") if linux else None
    libc = collect_env.collected("Libc version")
    glibc = _GLIBC.match(libc) if libc else None
    return System(
        os=os_name,
        kernel=kernel,
        glibc=Version(glibc.group(1)) if glibc else None,
        arch=arch or (linux.group("arch") if linux else None),
        cpu_count=cpu_count(collect_env),
        wsl=("microsoft" in kernel.lower()) if kernel else None,
    )


def _torch(collect_env: CollectEnvReport | None, packages: list[Package],
           conda: list[CondaPackage]) -> Torch:
    if collect_env is not None and "PyTorch version" in collect_env.fields:
        return _torch_from_collect_env(collect_env)
    return _torch_from_packages(packages, conda)


def _torch_from_collect_env(report: CollectEnvReport) -> Torch:
    raw_version = report.collected("PyTorch version")
    if raw_version is None:
        return Torch(status="absent",
                     detail="collect_env could not import torch (PyTorch version: "
                            f"{report.value('PyTorch version')})")
    provenance: dict[str, Provenance] = {"version": "measured"}
    version = _version(raw_version)
    built = (report.value("CUDA used to build PyTorch") or "").strip()
    cuda: Version | None = None
    details: list[str] = []
    if built in ("None", "Could not collect"):
        provenance["cuda"] = "measured"  # torch.version.cuda is None: a CPU (or ROCm) build
    elif built and built != "N/A":
        cuda = _version(built)
        if cuda is not None:
            provenance["cuda"] = "measured"
    hip = report.collected("ROCM used to build PyTorch")
    if hip:
        provenance["cuda"] = "measured"
    available = is_yes(report.value("Is CUDA available"))
    if available is not None:
        provenance["cuda_available"] = "measured"
    cudnn = _single_cudnn(cudnn_candidates(report))
    if cudnn is not None:
        provenance["cudnn"] = "derived"
        details.append("cudnn is the system libcudnn collect_env found, not necessarily "
                       "the one torch loads")
    if version is None:
        details.append(f"unreadable PyTorch version {raw_version!r}")
    if "cuda" not in provenance:
        details.append("torch's CUDA build is not in the report")
    return Torch(status="ok", version=version, cuda=cuda, hip=hip, cudnn=cudnn,
                 cuda_available=available, provenance=provenance,
                 detail="; ".join(details) or None)


def _torch_from_packages(packages: list[Package], conda: list[CondaPackage]) -> Torch:
    pip_torch = next((p for p in packages if normalize_name(p.name) == "torch" and p.version),
                     None)
    conda_torch = next((row for row in conda if row.name == "pytorch"), None)
    provenance: dict[str, Provenance] = {}
    version: Version | None = None
    cuda: Version | None = None
    cudnn: Version | None = None
    hip: str | None = None
    source = ""
    if pip_torch is not None:
        version = _version(pip_torch.version)
        source = "pip"
        local = version.local if version else None
        if local == "cpu":
            provenance["cuda"] = "derived"
        elif local and (tagged := cuda_from_local_label(local)):
            cuda = tagged
            provenance["cuda"] = "derived"
        elif local and local.startswith("rocm"):
            hip = local[len("rocm"):]
            provenance["cuda"] = "derived"
    elif conda_torch is not None:
        version = _version(conda_torch.version)
        source = "conda"
        conda_cuda = _CONDA_CUDA.search(conda_torch.build)
        conda_cudnn = _CONDA_CUDNN.search(conda_torch.build)
        if conda_cuda:
            cuda = _version(conda_cuda.group(1))
            provenance["cuda"] = "derived"
        elif "cpu" in conda_torch.build:
            provenance["cuda"] = "derived"
        if conda_cudnn:
            cudnn = _version(conda_cudnn.group(1))
            provenance["cudnn"] = "derived"
    if version is None:
        return _torch_from_selector(conda) or Torch(status="unknown", detail=NOT_IN_REPORT)
    provenance["version"] = "derived"
    detail = f"from the report: {source} package list"
    if "cuda" not in provenance:
        detail += "; torch's CUDA build is not in the report"
    return Torch(status="ok", version=version, cuda=cuda, hip=hip, cudnn=cudnn,
                 provenance=provenance, detail=detail)


def _torch_from_selector(conda: list[CondaPackage]) -> Torch | None:
    """`_pytorch_select 0.1 cpu_0` in a conda list cut before its pytorch row: the CPU build,
    version unknown (envcheck.knowledge.conda_selectors)."""
    from envcheck.knowledge.conda_selectors import selects_cpu_build

    row = next((row for row in conda if selects_cpu_build(row.name, row.build)), None)
    if row is None:
        return None
    return Torch(status="ok", provenance={"cuda": "derived"},
                 detail=f"from the report: conda's {row.name} {row.version} {row.build} "
                        "selects pytorch's CPU build; torch's version is not in the report")


def _single_cudnn(paths: list[str]) -> Version | None:
    versions = set()
    for path in paths:
        identity = identify_cuda_library(path)
        if identity is None or not identity[0].startswith("cudnn") or identity[1] is None:
            continue
        versions.add(identity[1])
    full = {v for v in versions if v.count(".") >= 1}
    if len(full) != 1 or any(not v_full.startswith(v) for v in versions for v_full in full):
        return None
    return _version(full.pop())


def _system_library(filename: str, path: str) -> list[CudaLibrary]:
    identity = identify_cuda_library(filename) or identify_cuda_library(path)
    if identity is None:
        return []
    name, version = identity
    return [CudaLibrary(name=name, version=version, path=path, origin="system",
                        found_via=("report",))]


def _wheel_library(distribution: str) -> str | None:
    normalized = normalize_name(distribution)
    for prefix, name in _WHEEL_LIBRARIES.items():
        if normalized.startswith(prefix + "-cu"):
            return name
    return None


def _missing(snapshot: Snapshot) -> tuple[str, ...]:
    missing = []
    if snapshot.driver.version is None:
        missing.append("the NVIDIA driver version")
    if snapshot.driver.cuda_driver_api is None:
        missing.append("the newest CUDA version the driver supports")
    if not snapshot.gpus:
        missing.append("the GPU models")
    if snapshot.torch.version is None:
        missing.append("the torch version")
    if snapshot.torch.status != "absent" and "cuda" not in snapshot.torch.provenance:
        missing.append("torch's CUDA build")
    if not snapshot.toolkits:
        missing.append("the CUDA toolkit (nvcc)")
    if snapshot.python.version is None:
        missing.append("the Python version")
    if snapshot.system.os is None:
        missing.append("the operating system")
    if snapshot.system.glibc is None:
        missing.append("the glibc version")
    if not snapshot.packages:
        missing.append("installed packages")
    return tuple(missing)


def _driver_version(value: str | None) -> DriverVersion | None:
    if not value or len(value.strip()) > 32:
        return None
    try:
        return DriverVersion(value.strip())
    except ValueError:
        return None


def _version(text: str | None) -> Version | None:
    return version_or_none(text, max_length=100)
