"""`envcheck matrix` as CI runs it, on the example project (examples/trainer) and copies of it
with one thing wrong: output on stdout, reasons on stderr, exit codes 0, 2 and 3."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.golden import assert_golden
from tests.integration.conftest import CliRunner

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "trainer"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "trainer"
    shutil.copytree(EXAMPLE, root)
    return root


def test_github_format_is_the_strategy_matrix(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("matrix", "--format", "github", "--check", "--project", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1  # one line, for $GITHUB_OUTPUT
    assert_golden("matrix/trainer-github.json",
                  json.dumps(json.loads(result.stdout), indent=2) + "\n")
    assert "left out: cu130 on gpu-4090: NVIDIA driver 550.54.15 is too old" in result.stderr


def test_table_and_json_formats(envcheck_cli: CliRunner) -> None:
    table = envcheck_cli("matrix", "--project", str(EXAMPLE))
    assert table.returncode == 0, table.stderr
    assert_golden("matrix/trainer.txt", table.stdout)
    document = envcheck_cli("matrix", "--json", "--project", str(EXAMPLE)).json()
    assert [(c["target"], c["runner"]) for c in document["excluded"]] == [
        ("cu130", "gpu-4090"), ("cu130", "gpu-t4")]
    assert document["excluded"][0]["findings"][0]["id"] == "driver-too-old-for-torch-cuda"


def test_the_example_locks_are_fresh(envcheck_cli: CliRunner) -> None:
    # What ci.yml runs on every push.
    result = envcheck_cli("lock", "--check", "--project", str(EXAMPLE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_on_an_unmet_requirement(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text()
                         + '\n[[tool.envcheck.require]]\ntarget = "cu130"\nrunner = "gpu-t4"\n')
    plain = envcheck_cli("matrix", "--project", str(root))
    assert plain.returncode == 0
    checked = envcheck_cli("matrix", "--check", "--format", "github", "--project", str(root))
    assert checked.returncode == 3
    assert "cu130 on gpu-t4 is required and cannot run" in checked.stderr
    assert json.loads(checked.stdout)["include"]  # the matrix is still printed


def test_check_fails_when_a_target_has_no_runner(envcheck_cli: CliRunner,
                                                 tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('gpu-a100 = "a100-cloud"',
                                                       'gpu-a100 = "workstation"'))
    result = envcheck_cli("matrix", "--check", "--project", str(root))
    assert result.returncode == 3
    assert "no runner can run target cu130" in result.stderr


def test_a_missing_lock_is_exit_2_with_the_command(envcheck_cli: CliRunner,
                                                   tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "lockfiles" / "cu126.txt").unlink()
    result = envcheck_cli("matrix", "--project", str(root))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "cu126:" in result.stderr
    assert "run `envcheck lock cu126` and commit the lockfiles" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_runner_on_an_unknown_profile_is_exit_2_with_its_line(envcheck_cli: CliRunner,
                                                                tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text().replace('gpu-t4 = "t4-box"', 'gpu-t4 = "t4"')
    pyproject.write_text(text)
    line = text.split("\n").index('gpu-t4 = "t4"') + 1
    result = envcheck_cli("matrix", "--project", str(root))
    assert result.returncode == 2
    assert f"pyproject.toml:{line}: tool.envcheck.runners.gpu-t4: unknown profile \"t4\"" in (
        result.stderr)
