"""The wheelhouse: every artifact the lock pins, downloaded on the host and hash-checked, so
that the image installs with --no-index --require-hashes and needs no package index.

    <build dir>/wheelhouse/training/    one wheel per locked package (pip download, checked
                                        here against the lock's sha256 list)
    <build dir>/wheelhouse/preflight/   an envcheck wheel built from its source, packaging
                                        and nvidia-ml-py, with a requirements.txt of their
                                        hashes, for the entrypoint's own small environment
    <build dir>/wheelhouse/tree_hash.py the script that hashes the installed tree

pip runs as a subprocess through the runner; the hash check is here, in Python, so a wheel
that changed after the download (or a mirror that served another file) is refused before the
engine sees it. A wheelhouse that already matches the lock is reused without running pip.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Protocol

from packaging.markers import Marker
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import Version

from envcheck.adapters.runner import CommandRunner
from envcheck.dockerfile import TREE_HASH_SCRIPT
from envcheck.errors import CommandNotFoundError, CommandTimeoutError, ImageBuildError
from envcheck.lockfile_model import LockedPackage, Lockfile

TRAINING = "training"
PREFLIGHT = "preflight"
PREFLIGHT_PACKAGES = ("packaging", "nvidia-ml-py")
"""What the entrypoint needs besides envcheck (envcheck/cli/preflight.py)."""
_SOURCE_STAMP = ".envcheck-source-sha256"
# The oldest manylinux the lock's platform admits: uv resolves for manylinux_2_28
# (adapters/resolver.py), pip download wants every compatible tag spelled out.
_NEWEST_GLIBC_MINOR = 28
_OLDEST_GLIBC_MINOR = 17
_SDIST = re.compile(r"\.(tar\.gz|zip|tar\.bz2)$")


class WheelhouseError(ImageBuildError):
    """The wheelhouse cannot be made, or it does not hold exactly what the lock pins."""


@dataclass(frozen=True, kw_only=True)
class PreflightSource:
    envcheck_source: Path
    """A folder holding envcheck's pyproject.toml (this checkout)."""
    pins: Mapping[str, str]
    """packaging / nvidia-ml-py -> the version to ship (the host's own, by default)."""


@dataclass(frozen=True, kw_only=True)
class WheelhouseRequest:
    lock: Lockfile
    lockfile: Path
    folder: Path
    """<build dir>/wheelhouse; created when missing."""
    python: str
    """The target's CPython minor ("3.11")."""
    platform: str
    """"linux/x86_64" or "linux/aarch64"."""
    pip: tuple[str, ...]
    """How to run pip on the host: (sys.executable, "-m", "pip")."""
    index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    env: Mapping[str, str]
    preflight: PreflightSource
    timeout: float = 3600.0


@dataclass(frozen=True, kw_only=True)
class WheelFile:
    name: str
    version: str
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True, kw_only=True)
class Wheelhouse:
    folder: Path
    training: tuple[WheelFile, ...]
    preflight: tuple[WheelFile, ...]
    downloaded: bool
    """False when every wheel was already there and matched the lock."""

    @property
    def size(self) -> int:
        return sum(w.size for w in (*self.training, *self.preflight))


class WheelhouseReporter(Protocol):
    def wheelhouse_started(self, packages: int) -> None: ...

    def wheelhouse_checked(self, wheel: WheelFile) -> None: ...

    def wheelhouse_finished(self, wheelhouse: Wheelhouse) -> None: ...


class SilentWheelhouseReporter:
    def wheelhouse_started(self, packages: int) -> None:
        pass

    def wheelhouse_checked(self, wheel: WheelFile) -> None:
        pass

    def wheelhouse_finished(self, wheelhouse: Wheelhouse) -> None:
        pass


# --- checking --------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def applies(package: LockedPackage, *, python: str, platform: str) -> bool:
    """Whether the package's marker holds on the target (not on this machine)."""
    if not package.marker:
        return True
    machine = platform.split("/", 1)[1]
    environment = {
        "python_version": python, "python_full_version": f"{python}.0",
        "implementation_name": "cpython", "platform_python_implementation": "CPython",
        "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
        "platform_machine": machine,
    }
    return Marker(package.marker).evaluate(environment)


def _wheel_identity(path: Path) -> tuple[str, str]:
    try:
        name, version, _build, _tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename as e:
        raise WheelhouseError(f"{path} is not a wheel file name: {e}") from e
    return canonicalize_name(name), str(version)


def check_wheels(folder: Path, packages: Sequence[LockedPackage]) -> tuple[WheelFile, ...]:
    """One wheel per package, its sha256 among the lock's; WheelhouseError naming every
    mismatch otherwise (a tampered or substituted file, a missing or an extra one)."""
    wanted: dict[str, LockedPackage] = {canonicalize_name(p.name): p for p in packages}
    found: dict[str, WheelFile] = {}
    problems: list[str] = []
    for path in sorted(folder.glob("*")):
        if path.name.startswith(".") or path.name == "requirements.txt":
            continue
        if _SDIST.search(path.name):
            problems.append(f"{path.name} is a source distribution; the image installs wheels "
                            "only (no compiler, no network in the build)")
            continue
        name, version = _wheel_identity(path)
        package = wanted.get(name)
        if package is None:
            problems.append(f"{path.name} is not in the lock")
            continue
        sha256 = file_sha256(path)
        if Version(version) != Version(package.version):
            problems.append(f"{path.name} is version {version}; the lock pins {package.version}")
        elif sha256 not in package.hashes:
            problems.append(f"{path.name} has {sha256}, which is not one of the lock's "
                            f"{len(package.hashes)} hash(es) for {name}=={package.version}")
        elif name in found:
            problems.append(f"{path.name}: a second wheel for {name}")
        else:
            found[name] = WheelFile(name=name, version=version, path=path, sha256=sha256,
                                    size=path.stat().st_size)
    problems += [f"no wheel for {name}=={package.version}"
                 for name, package in wanted.items() if name not in found]
    if problems:
        raise WheelhouseError(
            f"the wheelhouse {folder} does not match the lock:\n  " + "\n  ".join(problems),
            hint="delete the folder and run `envcheck image build` again to download it "
            "afresh; a hash that still differs means the index serves another file than the "
            "one locked (run `envcheck lock`)")
    return tuple(found[name] for name in sorted(found))


# --- downloading -----------------------------------------------------------------------------


def platform_tags(platform: str) -> tuple[str, ...]:
    """Every wheel platform tag the lock's platform admits, newest first."""
    machine = platform.split("/", 1)[1]
    tags = [f"manylinux_2_{minor}_{machine}"
            for minor in range(_NEWEST_GLIBC_MINOR, _OLDEST_GLIBC_MINOR - 1, -1)]
    tags.append(f"manylinux2014_{machine}")
    if machine == "x86_64":
        tags += ["manylinux2010_x86_64", "manylinux1_x86_64"]
    return tuple(tags)


def _download_argv(request: WheelhouseRequest, destination: Path,
                   requirements: Sequence[str]) -> list[str]:
    minor = request.python.replace(".", "")
    argv = [*request.pip, "download", "--no-deps", "--only-binary=:all:", "--dest",
            str(destination), "--python-version", request.python, "--implementation", "cp",
            "--abi", f"cp{minor}", "--abi", "abi3", "--abi", "none", "--progress-bar", "off",
            "--disable-pip-version-check"]
    for tag in platform_tags(request.platform):
        argv += ["--platform", tag]
    for url in request.index_urls:
        argv += ["--extra-index-url", url]
    for link in request.find_links:
        argv += ["--find-links", link]
    return argv + list(requirements)


def _run(runner: CommandRunner, argv: list[str], *, env: Mapping[str, str], timeout: float,
         step: str) -> None:
    try:
        result = runner.run(argv, timeout=timeout, env=env)
    except (CommandNotFoundError, CommandTimeoutError) as e:
        raise WheelhouseError(f"{step}: {e}", step=step) from e
    if not result.ok:
        tail = "\n".join((result.stderr.strip() or result.stdout.strip()).splitlines()[-15:])
        raise WheelhouseError(f"{step} failed ({result.describe_failure().split(':')[0]}):\n"
                              f"{tail}", step=step, log_tail=tail,
                              hint="every locked package needs a wheel for the target "
                              "(no sdists: the build has no compiler and no index)")


def _training(request: WheelhouseRequest, runner: CommandRunner,
              reporter: WheelhouseReporter) -> tuple[tuple[WheelFile, ...], bool]:
    folder = request.folder / TRAINING
    packages = [p for p in request.lock.packages
                if applies(p, python=request.python, platform=request.platform)]
    reporter.wheelhouse_started(len(packages))
    if folder.is_dir():
        try:
            wheels = check_wheels(folder, packages)
        except WheelhouseError:
            pass  # incomplete or stale: download afresh below
        else:
            for wheel in wheels:
                reporter.wheelhouse_checked(wheel)
            return wheels, False
    with tempfile.TemporaryDirectory(prefix=".wheelhouse-", dir=request.folder) as scratch:
        staging = Path(scratch) / TRAINING
        staging.mkdir()
        argv = _download_argv(request, staging, ["--require-hashes", "-r",
                                                 str(request.lockfile)])
        _run(runner, argv, env=request.env, timeout=request.timeout,
             step="downloading the locked wheels (pip download)")
        wheels = check_wheels(staging, packages)
        for wheel in wheels:
            reporter.wheelhouse_checked(wheel)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    return check_wheels(folder, packages), True


def _source_sha256(source: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(_source_files(source)):
        digest.update(str(path.relative_to(source)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _source_files(source: Path) -> list[Path]:
    found = [source / "pyproject.toml", source / "README.md"]
    found += [p for p in (source / "envcheck").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")]
    return [p for p in found if p.is_file()]


def _preflight(request: WheelhouseRequest, runner: CommandRunner) -> tuple[WheelFile, ...]:
    folder = request.folder / PREFLIGHT
    source = request.preflight.envcheck_source
    if not (source / "pyproject.toml").is_file() or not (source / "envcheck").is_dir():
        raise WheelhouseError(f"{source} is not envcheck's source folder (no pyproject.toml "
                              "and envcheck/ there)",
                              hint="the image's pre-flight needs envcheck built from source; "
                              "run envcheck from its checkout (pip install -e .)")
    stamp = _source_sha256(source) + " " + " ".join(
        f"{name}=={version}" for name, version in sorted(request.preflight.pins.items()))
    if (folder / _SOURCE_STAMP).is_file() and (
            folder / _SOURCE_STAMP).read_text(encoding="utf-8") == stamp:
        return _wheel_files(folder)
    with tempfile.TemporaryDirectory(prefix=".preflight-", dir=request.folder) as scratch:
        staging = Path(scratch) / PREFLIGHT
        staging.mkdir()
        # A copy of the sources, so the build's own folders (build/, *.egg-info) stay out
        # of the checkout; SOURCE_DATE_EPOCH makes the wheel the same bytes every time, so
        # the image layer holding it stays cached while envcheck does not change.
        tree = Path(scratch) / "src"
        for path in _source_files(source):
            target = tree / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        env = {**request.env, "SOURCE_DATE_EPOCH": "315532800"}
        _run(runner, [*request.pip, "wheel", "--no-deps", "--no-build-isolation",
                      "--disable-pip-version-check", "--wheel-dir", str(staging), str(tree)],
             env=env, timeout=request.timeout, step="building the envcheck wheel (pip wheel)")
        pins = [f"{name}=={version}" for name, version in sorted(request.preflight.pins.items())]
        if pins:
            _run(runner, _download_argv(request, staging, pins), env=request.env,
                 timeout=request.timeout, step="downloading the pre-flight's wheels")
        wheels = _wheel_files(staging)
        lines = [f"{w.name}=={w.version} --hash={w.sha256}" for w in wheels]
        (staging / "requirements.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (staging / _SOURCE_STAMP).write_text(stamp, encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    return _wheel_files(folder)


def _wheel_files(folder: Path) -> tuple[WheelFile, ...]:
    wheels = []
    for path in sorted(folder.glob("*.whl")):
        name, version = _wheel_identity(path)
        wheels.append(WheelFile(name=name, version=version, path=path, sha256=file_sha256(path),
                                size=path.stat().st_size))
    return tuple(wheels)


def prepare_wheelhouse(request: WheelhouseRequest, runner: CommandRunner,
                       reporter: WheelhouseReporter | None = None) -> Wheelhouse:
    reporter = reporter or SilentWheelhouseReporter()
    request.folder.mkdir(parents=True, exist_ok=True)
    training, downloaded = _training(request, runner, reporter)
    preflight = _preflight(request, runner)
    script = files("envcheck.probe") / TREE_HASH_SCRIPT
    target = request.folder / TREE_HASH_SCRIPT
    text = script.read_text(encoding="utf-8")
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    wheelhouse = Wheelhouse(folder=request.folder, training=training, preflight=preflight,
                            downloaded=downloaded)
    reporter.wheelhouse_finished(wheelhouse)
    return wheelhouse
