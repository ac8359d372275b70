"""The lock service on recorded resolver output (tests/data/resolver/SOURCE.md): no resolver
runs; a fake runner answers as uv and pip-compile did."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
import tomlkit

from envcheck.adapters.resolver import ResolverUnavailableError, explanation
from envcheck.adapters.runner import CommandResult
from envcheck.errors import ExitCode, ResolutionError, UsageError
from envcheck.lockfile import parse_lockfile, parse_pinned_requirements
from envcheck.lockfile_model import LockedPackage
from envcheck.project_model import PackageIndex, Project, Target
from envcheck.services.lock import (
    LockContext,
    LockOutcome,
    LockRequest,
    check_locks,
    cuda_major_of,
    lock_targets,
    select_indexes,
    verify_cuda,
)
from tests.fakes import FakeRunner, ok

RESOLVER = Path(__file__).parents[1] / "data" / "resolver"
TORCH_2_14 = "uv-torch-2.14.1-py311-x86_64.txt"
TORCH_2_7 = "uv-torch-2.7.1-py311-x86_64.txt"
SMALL = "uv-requests-numpy-py311-x86_64.txt"


def recorded(name: str) -> str:
    return (RESOLVER / name).read_text()


class RecordingRunner(FakeRunner):
    """A FakeRunner that also keeps the environment each command was given."""

    def __init__(self, answers: Mapping[tuple[str, ...], object]) -> None:
        super().__init__(answers)  # type: ignore[arg-type]
        self.envs: list[Mapping[str, str] | None] = []

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
            stdin_text: str | None = None) -> CommandResult:
        self.envs.append(env)
        return super().run(argv, timeout=timeout, env=env, stdin_text=stdin_text)


def writes(output_text: str, seen: list[str] | None = None) -> object:
    """An answer that writes `output_text` where --output-file points, as the resolvers do."""

    def answer(argv: Sequence[str]) -> CommandResult:
        output = Path(argv[list(argv).index("--output-file") + 1])
        if seen is not None:
            seen.append(output.read_text() if output.exists() else "")
        output.write_text(output_text)
        return ok("", tuple(argv))

    return answer


def fails(stderr: str, returncode: int = 1) -> object:
    def answer(argv: Sequence[str]) -> CommandResult:
        return CommandResult(argv=tuple(argv), returncode=returncode, stdout="", stderr=stderr)

    return answer


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "venv-bin"
    folder.mkdir()
    (folder / "uv").write_text("")
    (folder / "pip-compile").write_text("")
    return folder


def uv_runner(bin_dir: Path, compile_answer: object) -> RecordingRunner:
    uv = str(bin_dir / "uv")
    return RecordingRunner({
        (uv, "--version"): ok("uv 0.13.9 (x86_64-unknown-linux-gnu)\n"),
        (uv, "pip", "compile"): compile_answer,
        (str(bin_dir / "pip-compile"), "--version"): ok("pip-compile, version 7.6.2\n"),
    })


def context(runner: FakeRunner, bin_dir: Path, **env: str) -> LockContext:
    return LockContext(runner=runner, env={"PATH": "/nonexistent", **env},
                       bin_dirs=(bin_dir,), machine_python="3.11",
                       machine_platform="linux/x86_64")


def project(root: Path, *targets: Target, indexes: tuple[PackageIndex, ...] = (),
            requirements: str = "requests==2.32.3\nnumpy\n") -> Project:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.in").write_text(requirements)
    return Project(root=root, pyproject=root / "pyproject.toml",
                   targets={t.name: t for t in targets}, indexes=indexes)


CLOUD = Target(name="cloud", python="3.11", platform="linux/x86_64", cuda="cu130",
               torch="==2.14.1")
SMALL_CPU = Target(name="small", python="3.11", platform="linux/x86_64", cuda="cpu",
                   requirements="requirements.in")


def test_lock_writes_header_and_hashes(tmp_path: Path, bin_dir: Path) -> None:
    runner = uv_runner(bin_dir, writes(recorded(TORCH_2_14)))
    proj = project(tmp_path / "p", CLOUD)
    [outcome] = lock_targets(proj, LockRequest(), context(runner, bin_dir))
    assert outcome.changed
    assert outcome.path == tmp_path / "p" / "lockfiles" / "cloud.txt"
    lock = parse_lockfile(outcome.path.read_text(), origin="cloud.txt")
    assert lock.header.resolver == "uv"
    assert lock.header.resolver_version == "0.13.9"
    assert (lock.header.python, lock.header.platform, lock.header.cuda) == (
        "3.11", "linux/x86_64", "cu130")
    assert {p.name: p.version for p in lock.packages}["torch"] == "2.14.1"
    compile_argv = next(call for call in runner.calls if "compile" in call)
    assert compile_argv[compile_argv.index("--python-platform") + 1] == "x86_64-manylinux_2_28"
    assert compile_argv[compile_argv.index("--python-version") + 1] == "3.11"
    assert "--generate-hashes" in compile_argv
    assert check_locks(proj)[0].state == "fresh"


def test_relocking_the_same_result_leaves_the_file(tmp_path: Path, bin_dir: Path) -> None:
    runner = uv_runner(bin_dir, writes(recorded(TORCH_2_14)))
    proj = project(tmp_path / "p", CLOUD)
    lock_targets(proj, LockRequest(), context(runner, bin_dir))
    [again] = lock_targets(proj, LockRequest(), context(runner, bin_dir))
    assert not again.changed


def test_check_stale_and_missing(tmp_path: Path, bin_dir: Path) -> None:
    runner = uv_runner(bin_dir, writes(recorded(SMALL)))
    proj = project(tmp_path / "p", SMALL_CPU)
    assert [s.state for s in check_locks(proj)] == ["missing"]
    lock_targets(proj, LockRequest(), context(runner, bin_dir))
    assert [s.state for s in check_locks(proj)] == ["fresh"]
    (tmp_path / "p" / "requirements.in").write_text("requests==2.32.3\nnumpy<3\n")
    [status] = check_locks(proj)
    assert status.state == "stale"
    assert "envcheck lock small" in status.detail
    # The target itself is an input too.
    (tmp_path / "p" / "requirements.in").write_text("requests==2.32.3\nnumpy\n")
    assert check_locks(proj)[0].state == "fresh"
    moved = replace(proj, targets={"small": replace(SMALL_CPU, python="3.12")})
    assert check_locks(moved)[0].state == "stale"


def test_check_reports_a_mangled_lockfile_as_stale(tmp_path: Path) -> None:
    proj = project(tmp_path / "p", SMALL_CPU)
    (tmp_path / "p" / "lockfiles").mkdir()
    (tmp_path / "p" / "lockfiles" / "small.txt").write_text("requests>=2\n")
    [status] = check_locks(proj)
    assert status.state == "stale"
    assert "the header lacks" in status.detail


def test_conflict_keeps_previous_lockfile(tmp_path: Path, bin_dir: Path) -> None:
    proj = project(tmp_path / "p", SMALL_CPU)
    lock_targets(proj, LockRequest(), context(uv_runner(bin_dir, writes(recorded(SMALL))),
                                              bin_dir))
    path = tmp_path / "p" / "lockfiles" / "small.txt"
    before = path.read_bytes()
    runner = uv_runner(bin_dir, fails(recorded("uv-conflict.stderr")))
    with pytest.raises(ResolutionError) as caught:
        lock_targets(proj, LockRequest(), context(runner, bin_dir))
    assert caught.value.exit_code is ExitCode.RESOLUTION
    assert int(caught.value.exit_code) == 5
    assert "your requirements are unsatisfiable" in str(caught.value)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["small.txt"]


def test_pip_compile_conflict_message_drops_the_traceback() -> None:
    said = explanation(recorded("pip-tools-conflict.stderr"))
    assert said.startswith("ERROR: Cannot install")
    assert "Traceback" not in said


def test_unreachable_index_is_not_a_conflict_and_hides_credentials(
        tmp_path: Path, bin_dir: Path) -> None:
    index = PackageIndex(name="corp", url="http://${CORP_USER}:${CORP_TOKEN}@127.0.0.1:9/simple")
    proj = project(tmp_path / "p", SMALL_CPU, indexes=(index,))
    # What uv said, plus the credentials, as a less careful tool might print them.
    stderr = recorded("uv-unreachable-index.stderr") + \
        "  url: http://bob:s3cret-token@127.0.0.1:9/simple/requests/\n"
    runner = uv_runner(bin_dir, fails(stderr, returncode=2))
    with pytest.raises(ResolverUnavailableError) as caught:
        lock_targets(proj, LockRequest(), context(runner, bin_dir, CORP_USER="bob",
                                                  CORP_TOKEN="s3cret-token"))
    message = str(caught.value)
    # An index that does not answer is an outside failure (the README's exit 4), not a bug
    # and not a mistake in the call.
    assert caught.value.exit_code is ExitCode.ENGINE
    assert "Connection refused" in message
    assert "s3cret-token" not in message
    assert runner.envs[-1] is not None
    assert runner.envs[-1]["UV_INDEX"] == "http://bob:s3cret-token@127.0.0.1:9/simple"
    assert all("s3cret" not in part for call in runner.calls for part in call)
    assert not (tmp_path / "p" / "lockfiles").exists()


def test_missing_credential_variable(tmp_path: Path, bin_dir: Path) -> None:
    index = PackageIndex(name="corp", url="https://${CORP_TOKEN}@host/simple")
    proj = project(tmp_path / "p", SMALL_CPU, indexes=(index,))
    with pytest.raises(UsageError, match=r"index corp names \$\{CORP_TOKEN\}"):
        lock_targets(proj, LockRequest(), context(uv_runner(bin_dir, writes("")), bin_dir))


def test_no_resolver_installed(tmp_path: Path) -> None:
    proj = project(tmp_path / "p", SMALL_CPU)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with pytest.raises(ResolverUnavailableError, match="no resolver is installed") as caught:
        lock_targets(proj, LockRequest(), context(FakeRunner(), empty))
    assert "uv comes with envcheck: reinstall envcheck" in str(caught.value)
    assert "`pip install uv`" in str(caught.value)
    with pytest.raises(ResolverUnavailableError, match="pip-tools resolver is not installed"
                       ) as pip_tools:
        lock_targets(proj, LockRequest(resolver="pip-tools"), context(FakeRunner(), empty))
    assert "pipx inject envcheck pip-tools" in str(pip_tools.value)
    assert "or use --resolver uv" in str(pip_tools.value)


def test_pip_tools_refuses_another_platform(tmp_path: Path, bin_dir: Path) -> None:
    arm = replace(SMALL_CPU, platform="linux/aarch64")
    proj = project(tmp_path / "p", arm)
    with pytest.raises(UsageError, match=r"pip-tools resolves for the machine it runs on "
                                         r"\(Python 3.11 on linux/x86_64\), but target small "
                                         r"is Python 3.11 on linux/aarch64") as caught:
        lock_targets(proj, LockRequest(resolver="pip-tools"),
                     context(uv_runner(bin_dir, writes("")), bin_dir))
    assert "--resolver uv" in str(caught.value)


def test_pip_tools_for_this_machine(tmp_path: Path, bin_dir: Path) -> None:
    pip_compile = str(bin_dir / "pip-compile")
    runner = FakeRunner({
        (pip_compile, "--version"): ok("pip-compile, version 7.6.2\n"),
        (pip_compile,): writes(recorded("pip-tools-requests-numpy-py311-x86_64.txt")),  # type: ignore[dict-item]
    })
    proj = project(tmp_path / "p", SMALL_CPU)
    [outcome] = lock_targets(proj, LockRequest(resolver="pip-tools"), context(runner, bin_dir))
    assert outcome.lockfile.header.resolver == "pip-tools"
    argv = runner.calls[-1]
    assert "--no-emit-index-url" in argv
    assert "--python-platform" not in argv


def test_upgrade_package_starts_from_the_existing_lock(tmp_path: Path, bin_dir: Path) -> None:
    proj = project(tmp_path / "p", SMALL_CPU)
    lock_targets(proj, LockRequest(), context(uv_runner(bin_dir, writes(recorded(SMALL))),
                                              bin_dir))
    previous = (tmp_path / "p" / "lockfiles" / "small.txt").read_text()
    seen: list[str] = []
    runner = uv_runner(bin_dir, writes(recorded(SMALL), seen))
    lock_targets(proj, LockRequest(upgrade_packages=("numpy",)), context(runner, bin_dir))
    assert seen == [previous]
    argv = next(call for call in runner.calls if "compile" in call)
    assert argv[argv.index("--upgrade-package") + 1] == "numpy"


def test_variant_without_index_names_the_table(tmp_path: Path) -> None:
    target = replace(CLOUD, cuda="cu126", torch="==2.8.0")
    with pytest.raises(UsageError, match=r"no index in \[tool.envcheck.indexes\] serves "
                                         r"cu126") as caught:
        select_indexes(project(tmp_path / "p", target), target)
    assert "[tool.envcheck.indexes.pytorch-cu126]" in str(caught.value)


def test_pypi_default_needs_no_index(tmp_path: Path) -> None:
    index = PackageIndex(name="pytorch-cu126", url="https://download.pytorch.org/whl/cu126",
                         variants=("cu126",))
    general = PackageIndex(name="corp", url="https://host/simple")
    proj = project(tmp_path / "p", CLOUD, indexes=(index, general))
    assert select_indexes(proj, CLOUD) == (general,)
    cu126 = replace(CLOUD, cuda="cu126", torch=">=2.8,<2.9")
    assert select_indexes(proj, cu126) == (general, index)


def test_variant_index_pins_the_local_label(tmp_path: Path, bin_dir: Path) -> None:
    # Derived from the recorded 2.7.1 (cu126, -cu12 wheels) output: the torch line relabelled
    # as the +cu126 build an index like download.pytorch.org/whl/cu126 serves.
    output = recorded(TORCH_2_7).replace("torch==2.7.1 ", "torch==2.8.0+cu126 ")
    index = PackageIndex(name="pytorch-cu126", url="https://${PT_USER}:${PT_TOKEN}@mirror/cu126",
                         variants=("cu126",))
    target = replace(CLOUD, cuda="cu126", torch="==2.8.0")
    proj = project(tmp_path / "p", target, indexes=(index,))
    pins: list[str] = []

    def resolve_and_read_pins(argv: Sequence[str]) -> CommandResult:
        pins.append(Path(argv[3]).read_text())
        answer = writes(output)
        assert callable(answer)
        result = answer(argv)
        assert isinstance(result, CommandResult)
        return result

    runner = uv_runner(bin_dir, resolve_and_read_pins)
    [outcome] = lock_targets(proj, LockRequest(), context(runner, bin_dir, PT_USER="u",
                                                           PT_TOKEN="tok-123"))
    text = outcome.path.read_text()
    assert "torch==2.8.0+cu126 \\" in text
    assert "# index: https://${PT_USER}:<redacted>@mirror/cu126\n" in text
    assert "tok-123" not in text
    env = runner.envs[-1]
    assert env is not None
    # The PyTorch index serves torch only (an explicit index with a source for torch), so
    # numpy cannot come from it; its credentials go through uv's per-index variables.
    assert "UV_INDEX" not in env
    assert env["UV_INDEX_PYTORCH_CU126_USERNAME"] == "u"
    assert env["UV_INDEX_PYTORCH_CU126_PASSWORD"] == "tok-123"
    [pin_file] = pins
    pinned = tomlkit.parse(pin_file).unwrap()
    assert pinned["tool"]["uv"]["index"] == [
        {"name": "pytorch-cu126", "url": "https://mirror/cu126", "explicit": True}]
    assert pinned["tool"]["uv"]["sources"] == {"torch": {"index": "pytorch-cu126"}}
    assert "tok-123" not in pin_file
    # The same resolution without the label came from PyPI's default build: refused.
    runner = uv_runner(bin_dir, writes(output.replace("torch==2.8.0+cu126 ", "torch==2.8.0 ")))
    with pytest.raises(ResolutionError, match=r"torch==2.8.0 has no \+cu126 label"):
        lock_targets(proj, LockRequest(), context(runner, bin_dir, PT_USER="u", PT_TOKEN="t"))


def _packages(name: str) -> tuple[LockedPackage, ...]:
    return parse_pinned_requirements(recorded(name), origin=name)


def test_cuda_13_lock_passes_for_cu130() -> None:
    verify_cuda(CLOUD, _packages(TORCH_2_14), variant_index=None)


def test_cuda_12_lock_passes_for_cu126() -> None:
    verify_cuda(replace(CLOUD, cuda="cu126", torch="==2.7.1"), _packages(TORCH_2_7),
                variant_index=None)


def test_cuda_13_wheels_in_a_cu126_target() -> None:
    with pytest.raises(ResolutionError) as caught:
        verify_cuda(replace(CLOUD, cuda="cu126"), _packages(TORCH_2_14), variant_index=None)
    message = str(caught.value)
    assert "nvidia-cuda-runtime==13.0.96 (CUDA 13)" in message
    assert "nvidia-nccl-cu13==2.30.7 (CUDA 13)" in message
    assert "torch==2.14.1 from PyPI is a cu130 build" in message
    assert caught.value.exit_code is ExitCode.RESOLUTION


def test_cpu_target_holds_no_nvidia_wheels() -> None:
    with pytest.raises(ResolutionError, match=r"nvidia-cublas==13.1.1.3 \(a CUDA wheel in a "
                                              r"cpu target\)"):
        verify_cuda(replace(CLOUD, cuda="cpu"), _packages(TORCH_2_14), variant_index=None)
    verify_cuda(SMALL_CPU, _packages(SMALL), variant_index=None)


@pytest.mark.parametrize(("name", "version", "major"), [
    ("nvidia-cuda-runtime-cu12", "12.6.77", 12),
    ("nvidia-cufft-cu12", "11.3.0.4", 12),
    ("nvidia-cudnn-cu13", "9.24.0.43", 13),
    ("nvidia-cuda-runtime", "13.0.96", 13),
    ("nvidia-cuda-nvrtc", "13.0.88", 13),
    ("cuda-toolkit", "13.0.3.0", 13),
    # A library's own numbering, not CUDA's: nvidia-cufft 12.0 is CUDA 13's cuFFT.
    ("nvidia-cufft", "12.0.0.61", None),
    ("nvidia-curand", "10.4.0.35", None),
])
def test_cuda_major_of(name: str, version: str, major: int | None) -> None:
    package = LockedPackage(name=name, version=version, hashes=("sha256:" + "0" * 64,))
    assert cuda_major_of(package) == major


def test_reporter_hears_each_target(tmp_path: Path, bin_dir: Path) -> None:
    events: list[str] = []

    class Reporter:
        def resolving(self, target: str, resolver: str) -> None:
            events.append(f"resolving {target} {resolver}")

        def locked(self, outcome: LockOutcome) -> None:
            events.append(f"locked {outcome.target}")

    proj = project(tmp_path / "p", SMALL_CPU)
    lock_targets(proj, LockRequest(targets=("small",)),
                 context(uv_runner(bin_dir, writes(recorded(SMALL))), bin_dir), Reporter())
    assert events == ["resolving small uv", "locked small"]


def test_unknown_target(tmp_path: Path, bin_dir: Path) -> None:
    with pytest.raises(UsageError, match="no target named gpu-box"):
        lock_targets(project(tmp_path / "p", SMALL_CPU), LockRequest(targets=("gpu-box",)),
                     context(uv_runner(bin_dir, writes("")), bin_dir))
