"""`envcheck target` and `envcheck profile` as subprocesses on a real project folder."""

from __future__ import annotations

import json
from pathlib import Path

from envcheck.project import load_project
from tests.integration.conftest import CliRunner

PYPROJECT = """\
# a project of someone's
[project]
name = "trainer"   # the package
version = "0.1.0"
dependencies = ["numpy>=1.26"]

[tool.ruff]
line-length = 100
"""


def make_project(folder: Path, text: str = PYPROJECT) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(text)
    return folder


def test_add_list_remove_round_trip(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    (project / "requirements.in").write_text("transformers\n")
    added = envcheck_cli("target", "add", "cu128", "--python", "3.11", "--cuda", "cu128",
                         "--torch", ">=2.7,<2.9", "--requirements", "requirements.in",
                         cwd=project)
    assert added.returncode == 0, added.stderr
    assert "Added target" in added.stdout
    second = envcheck_cli("target", "add", "cpu", "--python", "3.12", "--cuda", "cpu",
                          "--platform", "linux/aarch64", "--project", str(project))
    assert second.returncode == 0, second.stderr

    listed = envcheck_cli("target", "list", "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    targets = {target["name"]: target for target in listed.json()["targets"]}
    assert targets["cu128"] == {
        "name": "cu128", "python": "3.11", "platform": "linux/x86_64", "cuda": "cu128",
        "torch": ">=2.7,<2.9", "requirements": "requirements.in", "base_image": None,
        "profiles": []}
    assert targets["cpu"]["platform"] == "linux/aarch64"
    human = envcheck_cli("target", "list", cwd=project)
    assert "cu128: python 3.11, linux/x86_64, cu128, torch >=2.7,<2.9" in human.stdout

    for name in ("cu128", "cpu"):
        removed = envcheck_cli("target", "remove", name, cwd=project)
        assert removed.returncode == 0, removed.stderr
    assert (project / "pyproject.toml").read_text() == PYPROJECT
    assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml", "requirements.in"]


def test_profile_save_from_a_snapshot_of_another_machine(envcheck_cli: CliRunner,
                                                         tmp_path: Path) -> None:
    snapshot = tmp_path / "rtx4090.json"
    inspected = envcheck_cli("inspect", "-o", str(snapshot), scenario="rtx4090_driver550")
    assert inspected.returncode == 0, inspected.stderr
    project = make_project(tmp_path / "proj")

    saved = envcheck_cli("profile", "save", "workstation", "--snapshot", str(snapshot),
                         "--project", str(project))
    assert saved.returncode == 0, saved.stderr
    assert "driver 550.54.15" in saved.stdout
    profile = load_project(project).profiles["workstation"]
    assert profile.driver == "550.54.15"
    assert [(g.name, g.compute_capability, g.memory_mib, g.count) for g in profile.gpus] == [
        ("NVIDIA GeForce RTX 4090", "8.9", 24564, 1)]

    listed = envcheck_cli("profile", "list", "--json", "--project", str(project))
    assert listed.json()["profiles"][0]["driver"] == "550.54.15"
    # A target may now name it; an unknown one is refused and the file is left alone.
    before = (project / "pyproject.toml").read_text()
    unknown = envcheck_cli("target", "add", "t", "--python", "3.11", "--cuda", "cu124",
                           "--profile", "cloud", "--project", str(project))
    assert unknown.returncode == 2
    assert 'unknown profile "cloud" (the profiles are: workstation)' in unknown.stderr
    assert (project / "pyproject.toml").read_text() == before
    known = envcheck_cli("target", "add", "t", "--python", "3.11", "--cuda", "cu124",
                         "--profile", "workstation", "--project", str(project))
    assert known.returncode == 0, known.stderr


def test_profile_save_here_without_a_gpu_is_refused(envcheck_cli: CliRunner,
                                                    tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    result = envcheck_cli("profile", "save", "here", "--project", str(project),
                          scenario="no_driver")
    assert result.returncode == 2
    assert "a profile must name a driver" in result.stderr
    assert (project / "pyproject.toml").read_text() == PYPROJECT


def test_a_malformed_table_gives_exit_2_with_the_line(envcheck_cli: CliRunner,
                                                      tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", PYPROJECT + (
        "\n[tool.envcheck.targets.cu128]\npython = 3.11\ncuda = \"cu128\"\n"))
    result = envcheck_cli("target", "list", cwd=project)
    assert result.returncode == 2
    assert ("pyproject.toml:11: tool.envcheck.targets.cu128.python: expected a Python version "
            'like "3.11", got 3.11 (a number)') in result.stderr
    assert "Traceback" not in result.stderr


def test_torch_and_cuda_that_cannot_go_together(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    result = envcheck_cli("target", "add", "old", "--python", "3.10", "--cuda", "cu130",
                          "--torch", "==2.0", cwd=project)
    assert result.returncode == 2
    assert "built as cu117, cu118" in result.stderr
    assert (project / "pyproject.toml").read_text() == PYPROJECT


def test_no_pyproject_says_where_it_looked(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = envcheck_cli("target", "list", "--json", cwd=empty)
    assert result.returncode == 2
    assert f"no pyproject.toml in {empty}" in result.stderr
    assert "To start a project, create" in result.stderr
    assert json.loads(result.stdout or "null") is None
