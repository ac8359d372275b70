"""check-lock's text says what its --json says, through the real CLI on the example project."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import CliRunner

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trainer"


def test_a_pass_through_minor_version_compatibility_is_said_in_text(
        envcheck_cli: CliRunner) -> None:
    # The example's cu128 lock on its workstation profile (driver 550.54.15, older than
    # CUDA 12.8's own minimum): it passes only through CUDA minor-version compatibility.
    result = envcheck_cli("check-lock", "lockfiles/cu128.txt", "--profile", "workstation",
                          cwd=EXAMPLE)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("minor-version compatibility" in line for line in lines)
    note = next(line for line in lines if "note:" in line)
    assert "PTX" in note
    as_json = envcheck_cli("check-lock", "lockfiles/cu128.txt", "--profile", "workstation",
                           "--json", cwd=EXAMPLE)
    ids = [f["id"] for f in as_json.json()["profiles"]["workstation"]]
    assert "driver-runs-torch-cuda-by-minor-compat" in ids
