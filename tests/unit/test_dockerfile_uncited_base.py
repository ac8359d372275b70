"""`envcheck dockerfile` on a variant whose nvidia/cuda tag has no cited digest (issue 14,
item 11): the registry resolves the tag and the Dockerfile starts FROM tag@digest, so the
build is hermetic; pyproject.toml and the lock are left as they were (base_image is a lock
input; `image pin-base` records one). With no registry to ask, the render is refused with
the way out, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from envcheck.errors import EngineUnavailableError, EnvcheckError, ExitCode
from envcheck.knowledge.base_images import base_image_for_variant
from envcheck.lockfile import inputs_sha256, render_lockfile
from envcheck.lockfile_model import LockedPackage, Lockfile, LockHeader
from envcheck.project import load_project
from envcheck.services.image import ImageOptions, render_image_files
from envcheck.services.lock import check_locks, lockfile_path, requirements_text
from tests.fakes import FakeRegistry

PYPROJECT = """\
[project]
name = "demo"
version = "0.1.0"

[tool.envcheck.targets.train]
python = "3.11"
cuda = "cu130"
"""
DIGEST = FakeRegistry.DIGEST


class _Unreachable:
    def registry_digest(self, reference: str) -> str:
        raise EngineUnavailableError("no Docker engine answers at unix:///var/run/docker.sock")


def _project_with_a_fresh_lock(root: Path, cuda: str = "cu130") -> None:
    (root / "pyproject.toml").write_text(PYPROJECT.replace('"cu130"', f'"{cuda}"'))
    project = load_project(root)
    target = project.targets["train"]
    header = LockHeader(schema="envcheck.lock/1", target="train", python="3.11",
                        platform="linux/x86_64", cuda=cuda, resolver="uv",
                        resolver_version="0.13.9", inputs_sha256=inputs_sha256(
                            project, target, requirements_text(project, target),
                            resolver="uv"))
    lock = Lockfile(header=header, packages=(
        LockedPackage(name="torch", version=f"2.14.1+{cuda}", hashes=("sha256:" + "1" * 64,)),))
    path = lockfile_path(project, target)
    path.parent.mkdir(parents=True)
    path.write_text(render_lockfile(lock))


def test_an_uncited_default_is_pinned_by_the_registry_for_the_render(tmp_path: Path) -> None:
    default = base_image_for_variant("cu130")
    assert default is not None
    assert default.digest is None  # the premise: no public digest was cited for cu130
    _project_with_a_fresh_lock(tmp_path)
    registry = FakeRegistry()
    rendered = render_image_files(load_project(tmp_path), "train", ImageOptions(), registry)
    assert registry.asked == [default.tagged]
    assert rendered.resolved_base == f"{default.tagged}@{DIGEST}"
    dockerfile = rendered.dockerfile.read_text()
    assert f"\nFROM {default.tagged}@{DIGEST} AS base\n" in dockerfile
    # The runtime image has no Python: the distribution's is installed, as for the default.
    assert rendered.spec.python_source == "distribution"
    assert (tmp_path / "pyproject.toml").read_text() == PYPROJECT
    project = load_project(tmp_path)
    [status] = check_locks(project, ("train",))
    assert status.state == "fresh", status.detail
    # The same digest again: the render is unchanged.
    again = render_image_files(project, "train", ImageOptions(), registry)
    assert not again.changed


def test_a_recorded_nvidia_cuda_base_gets_the_distribution_s_python(tmp_path: Path) -> None:
    # After `image pin-base` the default's tag@digest is the target's base_image; that image
    # still has no Python, so the Dockerfile must install it, not assume the base has one.
    _project_with_a_fresh_lock(tmp_path)
    default = base_image_for_variant("cu130")
    assert default is not None
    rendered = render_image_files(load_project(tmp_path), "train",
                                  ImageOptions(base=f"{default.tagged}@{DIGEST}"))
    assert rendered.spec.python_source == "distribution"
    other = render_image_files(load_project(tmp_path), "train",
                               ImageOptions(base=f"python:3.11-slim@{DIGEST}"))
    assert other.spec.python_source == "base"


def test_with_no_registry_to_ask_nothing_is_written(tmp_path: Path) -> None:
    _project_with_a_fresh_lock(tmp_path)
    with pytest.raises(EnvcheckError, match="no cited digest") as raised:
        render_image_files(load_project(tmp_path), "train", ImageOptions(), _Unreachable())
    assert raised.value.exit_code == ExitCode.ENGINE  # outside envcheck, as documented: 4
    assert "no Docker engine answers" in raised.value.message
    assert "envcheck image pin-base train" in str(raised.value)
    assert (tmp_path / "pyproject.toml").read_text() == PYPROJECT
    assert not (tmp_path / "images").exists()


def test_allow_unpinned_asks_no_registry(tmp_path: Path) -> None:
    _project_with_a_fresh_lock(tmp_path)
    rendered = render_image_files(load_project(tmp_path), "train",
                                  ImageOptions(allow_unpinned=True), _Unreachable())
    assert rendered.resolved_base is None
    assert not rendered.spec.base.pinned


def test_a_default_on_a_tag_nvidia_no_longer_rebuilds_says_so(tmp_path: Path) -> None:
    # cu128's cited digest is of 12.8.1, which NVIDIA's unsupported-tags list names.
    default = base_image_for_variant("cu128")
    assert default is not None
    assert default.unsupported_tag
    _project_with_a_fresh_lock(tmp_path, "cu128")
    rendered = render_image_files(load_project(tmp_path), "train", ImageOptions(), FakeRegistry())
    assert rendered.unsupported_base
    assert str(rendered.spec.base) == default.reference
    # A base the user chose is theirs to judge.
    chosen = render_image_files(load_project(tmp_path), "train",
                                ImageOptions(base=f"{default.tagged}@{DIGEST}"))
    assert not chosen.unsupported_base
    cu124 = base_image_for_variant("cu124")
    assert cu124 is not None
    assert not cu124.unsupported_tag
