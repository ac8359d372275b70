"""The command line as a contract: exit codes, files, redaction, what --help imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from envcheck.snapshot import snapshot_from_json, snapshot_to_json
from tests.integration.conftest import CliRunner


def test_help_does_not_import_heavy_modules() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "envcheck.cli.main", "--help"],
        capture_output=True, text=True, check=True,
    )
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "inspect" in proc.stdout
    for heavy in ("docker", "pynvml", "rich.table", "envcheck.services.inspect", "envcheck.fit",
                  "envcheck.guard", "envcheck.services.image", "envcheck.compare"):
        assert heavy not in imported, f"--help imported {heavy}"


def test_unknown_option_is_a_usage_error(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("inspect", "--no-such-option")
    assert result.returncode == 2
    assert "no-such-option" in result.stderr


def test_json_round_trips_losslessly(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("inspect", "--json", scenario="h100x8_driver535_mig")
    assert result.returncode == 0, result.stderr
    snapshot = snapshot_from_json(result.stdout, origin="stdout")
    assert snapshot_to_json(snapshot) == result.stdout
    assert len(snapshot.gpus) == 8


def test_output_file_is_written_and_replaced_whole(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "env.json"
    target.parent.mkdir()
    target.write_text("previous content")
    result = envcheck_cli("inspect", "-o", str(target), scenario="rtx4090_driver550")
    assert result.returncode == 0, result.stderr
    document = json.loads(target.read_text())
    assert document["schema"] == "envcheck.snapshot/1"
    assert document["gpus"][0]["name"] == "NVIDIA GeForce RTX 4090"
    assert [p.name for p in target.parent.iterdir()] == ["env.json"]  # no temp file left


def test_output_into_a_folder_is_a_usage_error(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    result = envcheck_cli("inspect", "-o", str(tmp_path))
    assert result.returncode == 2
    assert "is a folder" in result.stderr


def test_credentials_never_reach_the_snapshot(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli(
        "inspect", "--json",
        env={"NCCL_DEBUG_FILE": "https://alice:s3cr3t-pass@example.invalid/log",
             "HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz012345",
             "NCCL_SOCKET_IFNAME": "eth0"},
    )
    assert result.returncode == 0, result.stderr
    assert "s3cr3t-pass" not in result.stdout
    assert "hf_abcdefghijklmnopqrstuvwxyz012345" not in result.stdout
    env = result.json()["system"]["env"]
    assert env["NCCL_DEBUG_FILE"] == "https://alice:<redacted>@example.invalid/log"
    assert env["NCCL_SOCKET_IFNAME"] == "eth0"
    assert "HF_TOKEN" not in env


def test_human_summary_names_every_section(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("inspect", scenario="hot_throttling", env={"COLUMNS": "160"})
    assert result.returncode == 0, result.stderr
    for text in ("Driver and GPUs", "535.104.05", "NVIDIA GeForce RTX 3090", "91 °C",
                 "sw_thermal_slowdown", "CUDA stack", "Python and torch", "System"):
        assert text in result.stdout
    assert "91%" in result.stdout  # the memory bar: 22410 of 24576 MiB
