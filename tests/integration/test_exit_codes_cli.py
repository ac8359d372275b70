"""Outside failures exit with the README's codes, through the real CLI."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.integration.conftest import CliRunner


@pytest.mark.engine
def test_an_unreachable_registry_in_pin_base_exits_4(
        envcheck_cli: CliRunner, tmp_path: Path, docker_client: docker.DockerClient) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0.1.0"\n')
    added = envcheck_cli("target", "add", "gpu", "--python", "3.11", "--cuda", "cu128",
                         "--torch", "==2.7.1", cwd=project)
    assert added.returncode == 0, added.stderr
    # Port 9 (discard) on loopback: nothing listens, the engine's registry call is refused.
    result = envcheck_cli("image", "pin-base", "gpu", "127.0.0.1:9/nothing/here:1", cwd=project)
    assert result.returncode == 4, result.stderr
    assert "127.0.0.1:9/nothing/here:1" in result.stderr
    assert "bug in envcheck" not in result.stderr


def test_an_unreachable_package_index_in_lock_exits_4(envcheck_cli: CliRunner,
                                                      tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("""\
[project]
name = "demo"
version = "0.1.0"
dependencies = ["envcheck-nothing==1.0"]

[tool.envcheck.indexes.corp]
url = "http://127.0.0.1:9/simple"

[tool.envcheck.targets.app]
python = "3.11"
cuda = "cpu"
""")
    result = envcheck_cli("lock", cwd=project,
                          env={"UV_HTTP_RETRIES": "0", "UV_CACHE_DIR": str(tmp_path / "uv")})
    assert result.returncode == 4, result.stderr
    assert "could not read the package index" in result.stderr
    assert not (project / "lockfiles").exists()
