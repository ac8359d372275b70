"""`envcheck dockerfile` out of the box: a cu124 target with no base_image and no --base gets
the shipped nvidia/cuda tag@digest; a variant with no cited digest is resolved by the registry,
or refused when there is none to ask.

The lock is real (uv, offline, no requirements), so no registry is asked and the result does
not depend on what any index serves today.
"""

from __future__ import annotations

import re
from pathlib import Path

from envcheck.knowledge.base_images import base_image_for_variant
from tests.integration.conftest import CliRunner

PYPROJECT = """\
[project]
name = "demo"
version = "0.1.0"

[tool.envcheck.targets.train]
python = "3.11"
cuda = "{cuda}"
requirements = "requirements.in"
"""


def _project(tmp_path: Path, cuda: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT.format(cuda=cuda))
    (project / "requirements.in").write_text("")
    return project


def _offline(tmp_path: Path) -> dict[str, str]:
    return {"UV_OFFLINE": "1", "UV_CACHE_DIR": str(tmp_path / "uv-cache")}


def test_dockerfile_on_a_cu124_target_needs_no_base(envcheck_cli: CliRunner,
                                                    tmp_path: Path) -> None:
    project = _project(tmp_path, "cu124")
    locked = envcheck_cli("lock", cwd=project, env=_offline(tmp_path))
    assert locked.returncode == 0, locked.stderr
    result = envcheck_cli("dockerfile", "train", cwd=project)
    assert result.returncode == 0, result.stderr
    printed = re.search(r"^FROM (nvidia/cuda:12\.4\.1-runtime-ubuntu22\.04@sha256:[0-9a-f]{64})$",
                        result.stdout, re.MULTILINE)
    assert printed, result.stdout
    shipped = base_image_for_variant("cu124")
    assert shipped is not None
    assert printed.group(1) == shipped.reference
    dockerfile = (project / "images" / "train" / "Dockerfile").read_text()
    assert f"\nFROM {shipped.reference} AS base\n" in dockerfile


def test_a_variant_without_a_cited_digest_and_no_registry_asks_to_pin(
        envcheck_cli: CliRunner, tmp_path: Path) -> None:
    """With an engine, the tag is resolved and recorded (tests/unit/
    test_dockerfile_uncited_base.py); with none to ask, the render is refused, nothing
    written, and the message says how to pin."""
    unpinned = base_image_for_variant("cu130")
    assert unpinned is not None
    assert unpinned.digest is None
    project = _project(tmp_path, "cu130")
    locked = envcheck_cli("lock", cwd=project, env=_offline(tmp_path))
    assert locked.returncode == 0, locked.stderr
    before = (project / "pyproject.toml").read_text()
    result = envcheck_cli("dockerfile", "train", cwd=project,
                          env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert result.returncode == 4, result.stderr
    assert f"no cited digest for {unpinned.tagged}" in result.stderr
    assert "no Docker engine answers" in result.stderr
    assert "envcheck image pin-base train" in result.stderr
    assert not (project / "images" / "train" / "Dockerfile").exists()
    assert (project / "pyproject.toml").read_text() == before
