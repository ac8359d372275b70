"""`envcheck lock` with the real resolvers (uv and pip-compile from the venv): what they lock
is pinned and hashed, torch's CUDA wheels are the target's, and failures leave the previous
lockfile alone.

Every test but the torch one resolves against a flat index of wheels made here, with the
resolvers kept off every registry (tests/flat_index.py), so the versions asserted are the
index's own and a new release on PyPI changes nothing. The torch test reads torch's real
metadata from the package index (what it checks is that the CUDA wheels are the target's);
it asserts only what the target pins (docs/testing.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.adapters.runner import SubprocessRunner
from envcheck.lockfile import parse_lockfile
from envcheck.project_model import PackageIndex, Project, Target
from envcheck.services.lock import LockContext, LockRequest, check_locks, lock_targets
from tests.flat_index import NEWEST, OFFLINE_ENV, index_table, make_flat_index

BIN = Path(sys.executable).parent
SMALL = Target(name="small", python="3.11", platform="linux/x86_64", cuda="cpu",
               requirements="requirements.in")
CLOUD = Target(name="cloud", python="3.11", platform="linux/x86_64", cuda="cu130",
               torch="==2.14.1", requirements="empty.in")

PYPROJECT = """\
[project]
name = "demo"
version = "0"

[tool.envcheck.targets.small]
python = "3.11"
platform = "{platform}"
cuda = "cpu"
requirements = "requirements.in"
"""
REQUIREMENTS = "ec-app==1.0\nec-six\n"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_flat_index(tmp_path_factory.mktemp("flat-index"))


def make_project(root: Path, *targets: Target, wheels: Path | None = None,
                 requirements: str = REQUIREMENTS) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.in").write_text(requirements)
    (root / "empty.in").write_text("")
    indexes = () if wheels is None else (
        PackageIndex(name="test-wheels", url=str(wheels), format="flat"),)
    return Project(root=root, pyproject=root / "pyproject.toml",
                   targets={t.name: t for t in targets}, indexes=indexes)


def write_pyproject(root: Path, wheels: Path, platform: str = "linux/x86_64") -> None:
    (root / "pyproject.toml").write_text(PYPROJECT.format(platform=platform)
                                         + index_table(wheels))


def context(*, offline: bool = True) -> LockContext:
    env = {**os.environ, **(OFFLINE_ENV if offline else {})}
    return LockContext(runner=SubprocessRunner(), env=env, bin_dirs=(BIN,),
                       machine_python=f"{sys.version_info.major}.{sys.version_info.minor}",
                       machine_platform="linux/x86_64")


def assert_installable(path: Path) -> None:
    """What `pip install --require-hashes` demands: every line pinned with ==, every
    package with at least one sha256."""
    lock = parse_lockfile(path.read_text(), origin=str(path))
    assert lock.packages
    for package in lock.packages:
        assert package.hashes, package.name
        assert all(h.startswith("sha256:") for h in package.hashes)
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", " ")):
            assert "==" in line, line


def envcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envcheck.cli.main", *args], cwd=cwd,
                          env={**os.environ, **OFFLINE_ENV}, capture_output=True, text=True,
                          timeout=900, check=False)


@pytest.mark.parametrize("resolver", ["uv", "pip-tools"])
def test_small_target_is_pinned_and_hashed(tmp_path: Path, wheels: Path,
                                           resolver: str) -> None:
    project = make_project(tmp_path / "p", SMALL, wheels=wheels)
    [outcome] = lock_targets(project, LockRequest(resolver=resolver),  # type: ignore[arg-type]
                             context())
    assert_installable(outcome.path)
    versions = {p.name: p.version for p in outcome.lockfile.packages}
    # The pin as asked, the rest the index's newest: the whole tree, nothing else.
    assert versions == {"ec-app": "1.0", "ec-http": NEWEST["ec-http"], "ec-idna": "3.0",
                        "ec-codec": NEWEST["ec-codec"], "ec-six": NEWEST["ec-six"]}
    assert outcome.lockfile.header.resolver == resolver
    assert check_locks(project)[0].state == "fresh"


def test_torch_cu130_target_with_uv(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CLOUD)
    [outcome] = lock_targets(project, LockRequest(resolver="uv"), context(offline=False))
    assert_installable(outcome.path)
    versions = {p.name: p.version for p in outcome.lockfile.packages}
    assert versions["torch"] == "2.14.1"
    assert versions["nvidia-cuda-runtime"].startswith("13.")
    cuda_wheels = [name for name in versions if name.startswith("nvidia-")]
    assert len(cuda_wheels) >= 10
    assert not [name for name in cuda_wheels if name.endswith("-cu12")]


def test_check_goes_stale_and_fresh_again(tmp_path: Path, wheels: Path) -> None:
    root = tmp_path / "p"
    make_project(root, SMALL)
    write_pyproject(root, wheels)
    assert envcheck("lock", "--check", cwd=root).returncode == 3  # missing
    locked = envcheck("lock", cwd=root)
    assert locked.returncode == 0, locked.stderr
    fresh = envcheck("lock", "--check", cwd=root)
    assert (fresh.returncode, fresh.stdout.split()[0]) == (0, "fresh")
    (root / "requirements.in").write_text(REQUIREMENTS + "ec-idna\n")
    stale = envcheck("lock", "--check", "--json", cwd=root)
    assert stale.returncode == 3
    assert '"state": "stale"' in stale.stdout
    assert envcheck("lock", cwd=root).returncode == 0
    assert envcheck("lock", "--check", cwd=root).returncode == 0


def test_failed_resolution_keeps_the_lockfile_and_exits_5(tmp_path: Path, wheels: Path) -> None:
    root = tmp_path / "p"
    make_project(root, SMALL)
    write_pyproject(root, wheels)
    assert envcheck("lock", cwd=root).returncode == 0
    lockfile = root / "lockfiles" / "small.txt"
    before = lockfile.read_bytes()
    (root / "requirements.in").write_text("ec-app==1.0\nec-http<2\n")
    failed = envcheck("lock", cwd=root)
    assert failed.returncode == 5, failed.stderr
    assert "uv could not satisfy the requirements" in failed.stderr
    assert "unsatisfiable" in failed.stderr
    assert lockfile.read_bytes() == before
    (root / "requirements.in").write_text("ec-app==0.0.0\n")
    assert envcheck("lock", cwd=root).returncode == 5
    assert lockfile.read_bytes() == before
    assert sorted(p.name for p in lockfile.parent.iterdir()) == ["small.txt"]


def test_pip_tools_refuses_another_platform(tmp_path: Path, wheels: Path) -> None:
    root = tmp_path / "p"
    make_project(root, SMALL)
    write_pyproject(root, wheels, platform="linux/aarch64")
    refused = envcheck("lock", "--resolver", "pip-tools", cwd=root)
    assert refused.returncode == 2
    assert "pip-tools resolves for the machine it runs on" in refused.stderr
    assert "--resolver uv" in refused.stderr
    assert not (root / "lockfiles").exists()


def test_upgrade_package_keeps_the_other_pins(tmp_path: Path, wheels: Path) -> None:
    project = make_project(tmp_path / "p", SMALL, wheels=wheels)
    [first] = lock_targets(project, LockRequest(resolver="uv"), context())
    newest = NEWEST["ec-codec"]
    assert {p.name: p.version for p in first.lockfile.packages}["ec-codec"] == newest
    # Pretend the lock was made when ec-codec 1.0 was current: uv reads the pins of the
    # existing lock as its starting point, so only the named package may move.
    first.path.write_text(first.path.read_text().replace(f"ec-codec=={newest} ",
                                                         "ec-codec==1.0 "))
    [kept] = lock_targets(project, LockRequest(resolver="uv", upgrade_packages=("ec-idna",)),
                          context())
    assert {p.name: p.version for p in kept.lockfile.packages}["ec-codec"] == "1.0"
    assert_installable(kept.path)
    [moved] = lock_targets(project, LockRequest(resolver="uv", upgrade_packages=("ec-codec",)),
                           context())
    assert {p.name: p.version for p in moved.lockfile.packages}["ec-codec"] == newest
