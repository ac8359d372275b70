"""`lock`: resolve each target to lockfiles/<target>.txt, and tell which lockfiles are stale.

For each target: the requirements text, the indexes its torch variant needs, one resolver
run into a private temporary folder, the output parsed into LockedPackage records and
checked against the target's CUDA, then rendered with the header and written atomically.
Nothing is written until all of that succeeded, so a failed resolution leaves the previous
lockfile as it was.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envcheck.adapters.filesystem import write_text_atomic
from envcheck.adapters.resolver import (
    PinnedIndex,
    Resolver,
    ResolveRequest,
    ResolverName,
    default_resolver,
    make_resolver,
)
from envcheck.adapters.runner import CommandRunner
from envcheck.errors import ResolutionError, UsageError
from envcheck.lockfile import (
    LockfileError,
    inputs_sha256,
    parse_lockfile,
    parse_pinned_requirements,
    redact_index_url,
    render_lockfile,
)
from envcheck.lockfile_model import LOCK_SCHEMA, LockedPackage, Lockfile, LockHeader
from envcheck.project_model import PackageIndex, Project, Target

LOCK_DIR = "lockfiles"
INDEXES_TABLE = "[tool.envcheck.indexes]"
_CUDA_SUFFIX = re.compile(r"-cu(\d+)$")
_PLACEHOLDER = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}")
_OPERATOR = re.compile(r"^\s*(==|!=|<=|>=|<|>|~=|===)")


# --- requests, results, progress -------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LockRequest:
    targets: tuple[str, ...] = ()
    """Target names; empty: every target of the project."""
    resolver: ResolverName | None = None
    """None: uv when installed, else pip-tools."""
    upgrade_packages: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LockContext:
    """The outside world a lock run may touch, passed in by the CLI."""

    runner: CommandRunner
    env: Mapping[str, str]
    bin_dirs: tuple[Path, ...]
    """Where to look for uv and pip-compile first: envcheck's interpreter's bin folder."""
    machine_python: str
    """This machine's Python minor ("3.11"): what pip-compile resolves for."""
    machine_platform: str | None
    """"linux/x86_64", or None on a platform no target can name."""
    timeout: float = 1800.0


@dataclass(frozen=True, kw_only=True)
class LockOutcome:
    target: str
    path: Path
    lockfile: Lockfile
    changed: bool


LockState = Literal["fresh", "stale", "missing"]


@dataclass(frozen=True, kw_only=True)
class LockStatus:
    target: str
    path: Path
    state: LockState
    detail: str


class LockReporter(Protocol):
    def resolving(self, target: str, resolver: str) -> None: ...

    def locked(self, outcome: LockOutcome) -> None: ...


class _SilentReporter:
    def resolving(self, target: str, resolver: str) -> None:
        pass

    def locked(self, outcome: LockOutcome) -> None:
        pass


# --- inputs ----------------------------------------------------------------------------------


def lockfile_path(project: Project, target: Target) -> Path:
    return project.root / LOCK_DIR / f"{target.name}.txt"


def requirements_text(project: Project, target: Target) -> str:
    """The target's requirements file, or [project].dependencies one per line."""
    if target.requirements is None:
        return "".join(f"{dependency}\n" for dependency in project.dependencies)
    path = project.root / target.requirements
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise UsageError(f"target {target.name}: requirements file {path} does not exist",
                         hint="fix `requirements` of the target in pyproject.toml") from e
    except OSError as e:
        raise UsageError(f"target {target.name}: cannot read {path}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise UsageError(f"target {target.name}: {path} is not UTF-8 text ({e.reason} at byte "
                         f"{e.start})", hint="save the requirements file as UTF-8") from e


# The packages a PyTorch variant index builds per CUDA variant; they come from it and
# nothing else does.
TORCH_FAMILY = ("torch", "torchvision", "torchaudio")


def torch_family(requirements: str, *, with_torch: bool) -> tuple[str, ...]:
    """The torch-family packages the lock asks for: torch (the target's own), and those the
    requirements name directly."""
    named = {"torch"} if with_torch else set()
    for line in requirements.splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        try:
            named.add(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue  # the resolver itself explains a malformed line
    return tuple(name for name in TORCH_FAMILY if name in named)


def torch_requirement(target: Target) -> str | None:
    """"torch==2.14.1" from the target's torch specifier; a bare version means ==."""
    if target.torch is None:
        return None
    spec = target.torch.strip()
    if not _OPERATOR.match(spec):
        spec = f"=={spec}"
    try:
        SpecifierSet(spec)
    except InvalidSpecifier as e:
        raise UsageError(f"target {target.name}: torch = {target.torch!r} is not a version "
                         "specifier", hint='write for example torch = "==2.14.1" or '
                         '">=2.7,<2.8"') from e
    return f"torch{spec}"


def _pypi_defaults(target: Target) -> set[str]:
    """The PyPI default variants of the known torch releases the target's specifier allows
    for its Python; empty when envcheck's table knows none of them."""
    from envcheck.knowledge.torch_tables import torch_releases

    requirement = torch_requirement(target)
    assert requirement is not None
    spec = SpecifierSet(requirement.removeprefix("torch"))
    return {release.pypi_default for release in torch_releases()
            if spec.contains(release.version, prereleases=True)
            and target.python in release.python}


def select_indexes(project: Project, target: Target) -> tuple[PackageIndex, ...]:
    """Indexes without variants serve everything and are always used. A variant index is
    added when PyPI's default torch build is not the target's variant; an error names the
    table to add when none serves it."""
    general = tuple(index for index in project.indexes if not index.variants)
    if target.torch is None:
        return general
    defaults = _pypi_defaults(target)
    if defaults == {target.cuda}:
        return general
    serving = [index for index in project.indexes if target.cuda in index.variants]
    if serving:
        return (*general, serving[0])
    if not defaults:
        # A release newer than envcheck's table: try PyPI, and let the check after the
        # resolution say whether its build is the target's variant.
        return general
    raise UsageError(
        f"target {target.name} wants torch {target.torch} as a {target.cuda} "
        f"build, but PyPI's default build of those releases is {', '.join(sorted(defaults))}, "
        f"and no index in {INDEXES_TABLE} serves {target.cuda}",
        hint=f"add one to pyproject.toml, for example:\n"
        f"  [tool.envcheck.indexes.pytorch-{target.cuda}]\n"
        f'  url = "https://download.pytorch.org/whl/{target.cuda}"\n'
        f'  variants = ["{target.cuda}"]')


def expand_index_url(index: PackageIndex, env: Mapping[str, str]) -> str:
    """The URL with ${VARIABLE}s filled from the environment (a URL without credentials is
    left to the resolver's own netrc lookup)."""

    def value(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in env:
            raise UsageError(f"index {index.name} names ${{{name}}} in its URL, but {name} is "
                             "not set", hint=f"export {name}=... before envcheck lock")
        return env[name]

    return _PLACEHOLDER.sub(value, index.url)


# --- the CUDA check --------------------------------------------------------------------------


def cuda_major_of(package: LockedPackage) -> int | None:
    """The CUDA major an `nvidia-*` wheel belongs to, where its name or version says.

    CUDA 12 wheels carry a `-cu12` suffix. CUDA 13 dropped the suffix; then only the
    `nvidia-cuda-*` components (runtime, nvrtc, cupti) are versioned like the toolkit
    (nvidia-cuda-runtime==13.0.96). The libraries keep their own numbering
    (nvidia-cufft==12.0.0.61 and nvidia-curand==10.4.0.35 are CUDA 13 wheels), so their
    version says nothing about CUDA: None.
    """
    name = canonicalize_name(package.name)
    suffix = _CUDA_SUFFIX.search(name)
    if suffix is not None:
        return int(suffix.group(1))
    if name.startswith("nvidia-cuda-") or name == "cuda-toolkit":
        try:
            return Version(package.version).major
        except InvalidVersion:
            return None
    return None


def verify_cuda(target: Target, packages: Sequence[LockedPackage], *,
                variant_index: PackageIndex | None) -> None:
    """The lock must hold the target's torch build and CUDA libraries of its major."""
    from envcheck.knowledge.torch_tables import parse_variant_name

    problems: list[str] = []
    wanted = parse_variant_name(target.cuda)
    nvidia = [p for p in packages if canonicalize_name(p.name).startswith("nvidia-")]
    if wanted is None:
        problems += [f"{p.name}=={p.version} (a CUDA wheel in a {target.cuda} target)"
                     for p in nvidia]
    else:
        for package in [*nvidia, *(p for p in packages if p.name == "cuda-toolkit")]:
            major = cuda_major_of(package)
            unsuffixed = _CUDA_SUFFIX.search(package.name) is None
            if major is not None and major != wanted.major:
                problems.append(f"{package.name}=={package.version} (CUDA {major})")
            elif major is None and unsuffixed and wanted.major < 13:
                # Unsuffixed nvidia-* wheels are CUDA 13's naming.
                problems.append(f"{package.name}=={package.version} (CUDA 13 or later naming)")
    torch = next((p for p in packages if canonicalize_name(p.name) == "torch"), None)
    if torch is not None:
        problems += _torch_variant_problems(target, torch, variant_index)
    if problems:
        raise ResolutionError(
            f"the resolution for target {target.name} is not a {target.cuda} environment: "
            + "; ".join(problems),
            hint=f"configure an index serving {target.cuda} in {INDEXES_TABLE} (with "
            f'variants = ["{target.cuda}"]), or change the target\'s cuda; the previous '
            "lockfile is unchanged")


def _torch_variant_problems(target: Target, torch: LockedPackage,
                            variant_index: PackageIndex | None) -> list[str]:
    from envcheck.knowledge.torch_tables import find_release
    try:
        version = Version(torch.version)
    except InvalidVersion:
        return [f"torch=={torch.version} is not a version"]
    if version.local is not None:
        if version.local != target.cuda:
            return [f"torch=={torch.version} is a {version.local} build"]
        return []
    if variant_index is not None:
        return [f"torch=={torch.version} has no +{target.cuda} label although it should come "
                f"from index {variant_index.name}"]
    release = find_release(version)
    if release is not None and release.pypi_default != target.cuda:
        return [f"torch=={torch.version} from PyPI is a {release.pypi_default} build"]
    return []


# --- locking ---------------------------------------------------------------------------------


def _selected_targets(project: Project, names: Sequence[str]) -> list[Target]:
    if not project.targets:
        raise UsageError(f"{project.pyproject} declares no targets",
                         hint="add one under [tool.envcheck.targets.<name>]")
    unknown = [name for name in names if name not in project.targets]
    if unknown:
        raise UsageError(f"no target named {', '.join(unknown)} in {project.pyproject}; "
                         f"known: {', '.join(sorted(project.targets))}")
    return [project.targets[name] for name in names] if names else list(
        project.targets.values())


def _choose_resolver(request: LockRequest, context: LockContext) -> Resolver:
    path = context.env.get("PATH")
    if request.resolver is None:
        return default_resolver(runner=context.runner, bin_dirs=context.bin_dirs, path=path)
    return make_resolver(request.resolver, runner=context.runner, bin_dirs=context.bin_dirs,
                         path=path)


def _refuse_foreign_target(resolver: Resolver, target: Target, context: LockContext) -> None:
    if resolver.name != "pip-tools":
        return
    here = (context.machine_python, context.machine_platform)
    if here != (target.python, target.platform):
        raise UsageError(
            f"pip-tools resolves for the machine it runs on (Python {context.machine_python} "
            f"on {context.machine_platform or 'an unsupported platform'}), but target "
            f"{target.name} is Python {target.python} on {target.platform}",
            hint="use --resolver uv (installed with envcheck; it resolves for any platform), "
            "or run envcheck lock --resolver pip-tools on such a machine")


def lock_targets(project: Project, request: LockRequest, context: LockContext,
                 reporter: LockReporter | None = None) -> list[LockOutcome]:
    reporter = reporter or _SilentReporter()
    targets = _selected_targets(project, request.targets)
    resolver = _choose_resolver(request, context)
    for target in targets:
        _refuse_foreign_target(resolver, target, context)
    resolver_version = resolver.version()
    outcomes = []
    for target in targets:
        reporter.resolving(target.name, resolver.name)
        outcome = lock_target(project, target, request, context, resolver=resolver,
                              resolver_version=resolver_version)
        reporter.locked(outcome)
        outcomes.append(outcome)
    return outcomes


def lock_target(project: Project, target: Target, request: LockRequest, context: LockContext,
                *, resolver: Resolver, resolver_version: str) -> LockOutcome:
    requirements = requirements_text(project, target)
    indexes = select_indexes(project, target)
    variant_index = next((index for index in indexes if target.cuda in index.variants), None)
    general = tuple(index for index in indexes if index is not variant_index)
    index_urls = tuple(expand_index_url(index, context.env) for index in general
                       if index.format == "simple")
    find_links = tuple(expand_index_url(index, context.env) for index in general
                       if index.format == "flat")
    # The variant index serves the torch family only: numpy and the rest come from the
    # general indexes even when the PyTorch index hosts them too (issue 14).
    pinned = () if variant_index is None else (PinnedIndex(
        name=variant_index.name, url=expand_index_url(variant_index, context.env),
        flat=variant_index.format == "flat",
        packages=torch_family(requirements, with_torch=target.torch is not None)),)
    path = lockfile_path(project, target)
    try:
        previous = path.read_text(encoding="utf-8") if path.is_file() else None
    except UnicodeDecodeError:
        previous = None  # a mangled old lock is replaced, not a starting point
    with tempfile.TemporaryDirectory(prefix="envcheck-lock-") as scratch:
        folder = Path(scratch)
        inputs = _write_inputs(folder, project, target, requirements)
        output = folder / "resolved.txt"
        if request.upgrade_packages and previous is not None:
            # The old lock is the starting point: only the named packages move.
            output.write_text(previous, encoding="utf-8")
        resolved = resolver.resolve(ResolveRequest(
            inputs=inputs, output=output, python=target.python, platform=target.platform,
            index_urls=index_urls, find_links=find_links, pinned=pinned,
            upgrade_packages=request.upgrade_packages,
            env=context.env, timeout=context.timeout))
    packages = parse_pinned_requirements(resolved, origin=f"{resolver.name}'s output")
    verify_cuda(target, packages, variant_index=variant_index)
    lock = Lockfile(
        header=LockHeader(
            schema=LOCK_SCHEMA, target=target.name, python=target.python,
            platform=target.platform, cuda=target.cuda, resolver=resolver.name,
            resolver_version=resolver_version,
            inputs_sha256=inputs_sha256(project, target, requirements,
                                        resolver=resolver.name),
            indexes=tuple(redact_index_url(index.url) for index in indexes)),
        packages=packages)
    text = render_lockfile(lock)
    changed = text != previous
    if changed:
        write_text_atomic(path, text)
    return LockOutcome(target=target.name, path=path, lockfile=lock, changed=changed)


def _write_inputs(folder: Path, project: Project, target: Target,
                  requirements: str) -> tuple[Path, ...]:
    inputs: list[Path] = []
    if target.requirements is not None:
        # The user's file itself, so its -r/-c lines resolve relative to where it lives.
        inputs.append(project.root / target.requirements)
    elif requirements:
        dependencies = folder / "dependencies.in"
        dependencies.write_text(requirements, encoding="utf-8")
        inputs.append(dependencies)
    torch = torch_requirement(target)
    if torch is not None:
        torch_in = folder / "torch.in"
        torch_in.write_text(torch + "\n", encoding="utf-8")
        inputs.append(torch_in)
    if not inputs:
        raise UsageError(f"target {target.name} has nothing to lock: no requirements file, "
                         "no [project].dependencies and no torch")
    return tuple(inputs)


# --- staleness -------------------------------------------------------------------------------


def check_locks(project: Project, names: Sequence[str] = ()) -> list[LockStatus]:
    """Fresh, stale or missing, per target, from the headers alone: no resolver runs."""
    statuses = []
    for target in _selected_targets(project, names):
        path = lockfile_path(project, target)
        statuses.append(_status(project, target, path))
    return statuses


def _status(project: Project, target: Target, path: Path) -> LockStatus:
    def status(state: LockState, detail: str) -> LockStatus:
        return LockStatus(target=target.name, path=path, state=state, detail=detail)

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return status("missing", f"no {LOCK_DIR}/{path.name}; run `envcheck lock {target.name}`")
    except UnicodeDecodeError as e:
        return status("stale", f"unreadable: not UTF-8 text ({e.reason} at byte {e.start}); "
                      f"run `envcheck lock {target.name}`")
    try:
        header = parse_lockfile(text, origin=str(path)).header
    except LockfileError as e:
        return status("stale", f"unreadable: {e.message}")
    if header.target != target.name:
        return status("stale", f"the file locks target {header.target}, not {target.name}")
    expected = inputs_sha256(project, target, requirements_text(project, target),
                             resolver=header.resolver)
    if expected != header.inputs_sha256:
        return status("stale", "the target, its requirements or the indexes changed since "
                      f"it was locked; run `envcheck lock {target.name}`")
    return status("fresh", f"locked by {header.resolver} {header.resolver_version}")
