"""The real CLI run from a project's subfolder works on that project."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import CliRunner


def test_commands_in_a_subfolder_use_the_project_above(envcheck_cli: CliRunner,
                                                       tmp_path: Path) -> None:
    project = tmp_path / "project"
    deep = project / "src" / "demo"
    deep.mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0.1.0"\n')
    added = envcheck_cli("target", "add", "gpu", "--python", "3.11", "--cuda", "cu128",
                         "--torch", "==2.7.1", cwd=deep)
    assert added.returncode == 0, added.stderr
    assert "[tool.envcheck.targets.gpu]" in (project / "pyproject.toml").read_text()
    assert not (deep / "pyproject.toml").exists()
    listed = envcheck_cli("target", "list", cwd=deep)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("gpu:")
    gate = envcheck_cli("lock", "--check", cwd=deep)
    assert gate.returncode == 3
    assert "lockfiles/gpu.txt" in gate.stdout
    named = envcheck_cli("target", "list", "--project", str(project), cwd=tmp_path)
    assert named.returncode == 0, named.stderr
