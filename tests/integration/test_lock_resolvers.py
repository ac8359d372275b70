"""`envcheck lock` with the real resolvers (uv and pip-compile from the venv) against the real
package index: what they lock is pinned and hashed, torch's CUDA wheels are the target's, and
failures leave the previous lockfile alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.adapters.runner import SubprocessRunner
from envcheck.lockfile import parse_lockfile
from envcheck.project_model import Project, Target
from envcheck.services.lock import LockContext, LockRequest, check_locks, lock_targets

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


def make_project(root: Path, *targets: Target,
                 requirements: str = "requests==2.32.3\nnumpy\n") -> Project:
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.in").write_text(requirements)
    (root / "empty.in").write_text("")
    return Project(root=root, pyproject=root / "pyproject.toml",
                   targets={t.name: t for t in targets})


def context() -> LockContext:
    return LockContext(runner=SubprocessRunner(), env=dict(os.environ), bin_dirs=(BIN,),
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
                          capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.parametrize("resolver", ["uv", "pip-tools"])
def test_small_target_is_pinned_and_hashed(tmp_path: Path, resolver: str) -> None:
    project = make_project(tmp_path / "p", SMALL)
    [outcome] = lock_targets(project, LockRequest(resolver=resolver),  # type: ignore[arg-type]
                             context())
    assert_installable(outcome.path)
    versions = {p.name: p.version for p in outcome.lockfile.packages}
    assert versions["requests"] == "2.32.3"
    assert {"numpy", "urllib3", "idna", "certifi", "charset-normalizer"} <= set(versions)
    assert outcome.lockfile.header.resolver == resolver
    assert check_locks(project)[0].state == "fresh"


def test_torch_cu130_target_with_uv(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CLOUD)
    [outcome] = lock_targets(project, LockRequest(resolver="uv"), context())
    assert_installable(outcome.path)
    versions = {p.name: p.version for p in outcome.lockfile.packages}
    assert versions["torch"] == "2.14.1"
    assert versions["nvidia-cuda-runtime"].startswith("13.")
    cuda_wheels = [name for name in versions if name.startswith("nvidia-")]
    assert len(cuda_wheels) >= 10
    assert not [name for name in cuda_wheels if name.endswith("-cu12")]


def test_check_goes_stale_and_fresh_again(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_project(root, SMALL)
    (root / "pyproject.toml").write_text(PYPROJECT.format(platform="linux/x86_64"))
    assert envcheck("lock", "--check", cwd=root).returncode == 3  # missing
    locked = envcheck("lock", cwd=root)
    assert locked.returncode == 0, locked.stderr
    fresh = envcheck("lock", "--check", cwd=root)
    assert (fresh.returncode, fresh.stdout.split()[0]) == (0, "fresh")
    (root / "requirements.in").write_text("requests==2.32.3\nnumpy\nidna\n")
    stale = envcheck("lock", "--check", "--json", cwd=root)
    assert stale.returncode == 3
    assert '"state": "stale"' in stale.stdout
    assert envcheck("lock", cwd=root).returncode == 0
    assert envcheck("lock", "--check", cwd=root).returncode == 0


def test_failed_resolution_keeps_the_lockfile_and_exits_5(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_project(root, SMALL)
    (root / "pyproject.toml").write_text(PYPROJECT.format(platform="linux/x86_64"))
    assert envcheck("lock", cwd=root).returncode == 0
    lockfile = root / "lockfiles" / "small.txt"
    before = lockfile.read_bytes()
    (root / "requirements.in").write_text("requests==2.32.3\nurllib3<1.21\n")
    failed = envcheck("lock", cwd=root)
    assert failed.returncode == 5, failed.stderr
    assert "uv could not satisfy the requirements" in failed.stderr
    assert "unsatisfiable" in failed.stderr
    assert lockfile.read_bytes() == before
    (root / "requirements.in").write_text("requests==0.0.0\n")
    assert envcheck("lock", cwd=root).returncode == 5
    assert lockfile.read_bytes() == before
    assert sorted(p.name for p in lockfile.parent.iterdir()) == ["small.txt"]


def test_pip_tools_refuses_another_platform(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_project(root, SMALL)
    (root / "pyproject.toml").write_text(PYPROJECT.format(platform="linux/aarch64"))
    refused = envcheck("lock", "--resolver", "pip-tools", cwd=root)
    assert refused.returncode == 2
    assert "pip-tools resolves for the machine it runs on" in refused.stderr
    assert "--resolver uv" in refused.stderr
    assert not (root / "lockfiles").exists()


def test_upgrade_package_keeps_the_other_pins(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", SMALL)
    [first] = lock_targets(project, LockRequest(resolver="uv"), context())
    newest = {p.name: p.version for p in first.lockfile.packages}["numpy"]
    # Pretend the lock was made when numpy 2.1.0 was current: uv reads the pins of the
    # existing lock as its starting point, so only the named package may move.
    first.path.write_text(first.path.read_text().replace(f"numpy=={newest} ", "numpy==2.1.0 "))
    [kept] = lock_targets(project, LockRequest(resolver="uv", upgrade_packages=("idna",)),
                          context())
    assert {p.name: p.version for p in kept.lockfile.packages}["numpy"] == "2.1.0"
    assert_installable(kept.path)
    [moved] = lock_targets(project, LockRequest(resolver="uv", upgrade_packages=("numpy",)),
                           context())
    assert {p.name: p.version for p in moved.lockfile.packages}["numpy"] == newest
