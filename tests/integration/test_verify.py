"""`envcheck verify` against a real virtual environment installed from a real lockfile
(`envcheck lock` with uv, then `pip install --require-hashes`): a changed version, an
uninstalled package, an installed file edited in place and an extra package are each
reported by name; `uv pip sync` with the printed fix makes it identical again; doctor warns
about the same drift.

The lock and every install come from a flat index of wheels made here, with pip, uv and the
resolver kept off every registry (tests/flat_index.py): nothing depends on the package index."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest

from tests.flat_index import DEMO_WHEELS, OFFLINE_ENV, index_table, make_flat_index
from tests.integration.conftest import CliRunner

BIN = Path(sys.executable).parent
REQUIREMENTS = "ec-six==1.17.0\nec-idna\nec-codec\nec-yaml\n"
LOCKED = {"ec-six", "ec-idna", "ec-codec", "ec-yaml"}
# Each locked wheel's own files (modules, METADATA, WHEEL) are hashed in its RECORD.
LOCKED_FILES = sum(len(w.modules or {"__init__.py": ""}) + 2 for w in DEMO_WHEELS
                   if w.name in LOCKED and w.version != "1.16.0")
PYPROJECT = """\
[project]
name = "demo"
version = "0"

[tool.envcheck.targets.small]
python = "{python}"
cuda = "cpu"
requirements = "requirements.in"
"""


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_flat_index(tmp_path_factory.mktemp("flat-index"))


def _run(*argv: str, wheels: Path, cwd: Path | None = None) -> None:
    env = {**os.environ, **OFFLINE_ENV, "PIP_FIND_LINKS": str(wheels),
           "UV_FIND_LINKS": str(wheels)}
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=600, cwd=cwd,
                   env=env)


def _locked_venv(root: Path, envcheck_cli: CliRunner, wheels: Path
                 ) -> tuple[Path, Path, dict[str, str]]:
    """The project, its lockfile, and a venv installed from it: (project, python, pins)."""
    project = root / "project"
    project.mkdir()
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    (project / "pyproject.toml").write_text(PYPROJECT.format(python=minor)
                                            + index_table(wheels))
    (project / "requirements.in").write_text(REQUIREMENTS)
    locked = envcheck_cli("lock", "--resolver", "uv", cwd=project, timeout=300,
                          env=OFFLINE_ENV)
    assert locked.returncode == 0, locked.stderr
    lockfile = project / "lockfiles" / "small.txt"
    pins = dict(line.split(" ")[0].split("==") for line in lockfile.read_text().splitlines()
                if "==" in line)
    environment = root / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    _run(str(python), "-m", "pip", "install", "-q", "--require-hashes", "-r", str(lockfile),
         wheels=wheels)
    return project, python, pins


def _verify(envcheck_cli: CliRunner, project: Path, python: Path, *args: str
            ) -> tuple[int, Any]:
    result = envcheck_cli("verify", "--lock", "lockfiles/small.txt", "--python", str(python),
                          "--json", *args, cwd=project)
    assert result.returncode in (0, 3), result.stderr
    return result.returncode, result.json()


def _drift(python: Path, wheels: Path) -> None:
    """Change ec-six's version, uninstall ec-idna, edit ec_yaml/__init__.py, install
    ec-tomli."""
    _run(str(python), "-m", "pip", "install", "-q", "ec-six==1.16.0", "ec-tomli==2.2.1",
         wheels=wheels)
    _run(str(python), "-m", "pip", "uninstall", "-y", "-q", "ec-idna", wheels=wheels)
    site = Path(subprocess.run(
        [str(python), "-c", "import ec_yaml, os; print(os.path.dirname(ec_yaml.__file__))"],
        check=True, capture_output=True, text=True).stdout.strip())
    with (site / "__init__.py").open("a") as handle:
        handle.write("\n# edited in place\n")


def test_verify_reports_each_kind_of_drift_precisely(
    tmp_path: Path, envcheck_cli: CliRunner, wheels: Path
) -> None:
    project, python, pins = _locked_venv(tmp_path, envcheck_cli, wheels)
    assert set(pins) == LOCKED

    code, clean = _verify(envcheck_cli, project, python)
    assert code == 0
    assert clean["identical"] is True
    assert clean["records_checked"] is True
    assert clean["counts"]["files_checked"] >= LOCKED_FILES
    assert {p["name"] for p in clean["tools_ignored"]} >= {"pip"}
    assert clean["fix"] is None

    _drift(python, wheels)
    code, drifted = _verify(envcheck_cli, project, python)
    assert code == 3
    assert drifted["identical"] is False
    assert drifted["different"] == [{"name": "ec-six", "locked": "1.17.0",
                                     "installed": "1.16.0"}]
    assert drifted["missing"] == [{"name": "ec-idna", "locked": pins["ec-idna"]}]
    assert drifted["extra"] == [{"name": "ec-tomli", "installed": "2.2.1"}]
    assert drifted["tampered"] == [{"name": "ec-yaml", "version": pins["ec-yaml"],
                                    "modified": ["ec_yaml/__init__.py"], "missing": []}]
    assert drifted["fix"] == (f"uv pip sync lockfiles/small.txt --python {python} "
                              "--reinstall-package ec-yaml")

    human = envcheck_cli("verify", "--lock", "lockfiles/small.txt", "--python", str(python),
                         cwd=project)
    assert human.returncode == 3
    lines = human.stdout.splitlines()
    assert "✘ ec-six: 1.16.0 installed, the lock pins 1.17.0" in lines
    assert f"✘ ec-idna: not installed, the lock pins {pins['ec-idna']}" in lines
    assert "✘ ec-tomli 2.2.1: installed, not in the lock" in lines
    assert (f"✘ ec-yaml {pins['ec-yaml']}: 1 file edited since installation (RECORD hash "
            "differs): ec_yaml/__init__.py") in lines
    assert any(line.startswith("i pip ") and "not counted as extra" in line for line in lines)
    assert ("✘ drifted from lockfiles/small.txt: 1 different, 1 missing, 1 extra, "
            "1 edited in place") in lines

    # --quick compares versions only: the edited file goes unseen.
    code, quick = _verify(envcheck_cli, project, python, "--quick")
    assert code == 3
    assert (quick["records_checked"], quick["tampered"]) == (False, [])
    assert quick["different"] == drifted["different"]

    # The printed fix makes the environment the lock again.
    _run(str(BIN / "uv"), *drifted["fix"].split()[1:], cwd=project, wheels=wheels)
    code, repaired = _verify(envcheck_cli, project, python)
    assert code == 0, repaired


def test_verify_refuses_a_file_that_is_not_a_lockfile(
    tmp_path: Path, envcheck_cli: CliRunner
) -> None:
    (tmp_path / "requirements.txt").write_text("six>=1.16\n")
    result = envcheck_cli("verify", "--lock", "requirements.txt", "--python", sys.executable)
    assert result.returncode == 2
    assert "requirements.txt" in result.stderr
    assert "regenerate the file with `envcheck lock`" in result.stderr
    missing = envcheck_cli("verify", "--lock", "nowhere.txt")
    assert (missing.returncode, missing.stderr.strip()) == (
        2, "envcheck: error: --lock nowhere.txt does not exist")


def test_doctor_warns_about_drift_from_the_projects_lock(
    tmp_path: Path, envcheck_cli: CliRunner, wheels: Path
) -> None:
    project, python, pins = _locked_venv(tmp_path, envcheck_cli, wheels)
    environment = {"VIRTUAL_ENV": str(python.parent.parent)}
    clean = envcheck_cli("doctor", "--json", cwd=project, env=environment)
    assert "environment-drifted-from-lock" not in clean.stdout, clean.stderr

    _drift(python, wheels)
    # Found from ./pyproject.toml: the one target for this Python with a lockfile.
    found = envcheck_cli("doctor", "--json", cwd=project, env=environment)
    [finding] = [f for f in found.json()["findings"]
                 if f["id"] == "environment-drifted-from-lock"]
    assert finding["severity"] == "warning"
    assert finding["category"] == "other"
    assert finding["summary"] == ("the environment has drifted from lockfiles/small.txt: "
                                  "1 different, 1 missing, 1 extra (ec-six, ec-idna, ec-tomli)")
    assert finding["fix"].startswith("uv pip sync lockfiles/small.txt")
    # From a subfolder the project is found upward, and the lock named as reached from there.
    (project / "src" / "pkg").mkdir(parents=True)
    below = envcheck_cli("doctor", "--json", cwd=project / "src" / "pkg", env=environment)
    [from_below] = [f for f in below.json()["findings"]
                    if f["id"] == "environment-drifted-from-lock"]
    assert from_below["summary"] == finding["summary"].replace(
        "lockfiles/small.txt", "../../lockfiles/small.txt")
    # Named with --lock, from anywhere; doctor never hashes files, so pyyaml's edit is
    # verify's to find.
    lock = project / "lockfiles" / "small.txt"
    named = envcheck_cli("doctor", "--json", "--lock", str(lock), "--python", str(python))
    [same] = [f for f in named.json()["findings"] if f["id"] == "environment-drifted-from-lock"]
    assert "1 different, 1 missing, 1 extra" in same["summary"]
    assert same["fix"].startswith(f"uv pip sync {lock} --python {python}")
    assert pins["ec-yaml"] not in same["summary"]
