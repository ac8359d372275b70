"""`envcheck guard` against the stand-in NVML, with real child processes and real signals."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.integration.conftest import SCENARIOS, CliRunner, base_env

# The child a training loop would be: on SIGINT it "checkpoints" (writes a file) and exits 0.
CHECKPOINTING_CHILD = """
import signal, sys, time
from pathlib import Path
marker = Path(sys.argv[1])
def stop(signum, frame):
    marker.write_text(signal.Signals(signum).name)
    sys.exit(0)
signal.signal(signal.SIGINT, stop)
marker.with_suffix(".started").write_text("up")
while True:
    time.sleep(0.05)
"""

# A child that ignores SIGINT and SIGTERM: only SIGKILL ends it.
STUBBORN_CHILD = """
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(0.05)
"""


def _log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _samples(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["gpus"][0] for r in records if "gpus" in r]


def test_a_temperature_ramp_stops_the_child_with_sigint(envcheck_cli: CliRunner,
                                                          tmp_path: Path) -> None:
    marker, log = tmp_path / "stopped", tmp_path / "guard.jsonl"
    result = envcheck_cli(
        "guard", "--interval", "0.2", "--max-temp", "85", "--grace", "0.4", "--abort",
        "--kill-after", "20", "--log", str(log), "--json", "--",
        sys.executable, "-c", CHECKPOINTING_CHILD, str(marker), scenario="thermal_ramp")
    assert result.returncode == 8, result.stderr
    assert marker.read_text() == "SIGINT"
    samples = _samples(_log(log))
    # The fourth reading is 88 °C, the first over 85; after --grace 0.4 (two more samples at
    # --interval 0.2) the sixth, 95 °C, stops it. The readings of a stopped run end there.
    assert [s["temperature_c"] for s in samples] == [60, 70, 80, 88, 92, 95]
    assert [s["memory_used_mib"] for s in samples] == [2048, 6144, 10240, 14336, 18432, 22528]
    assert samples[-1]["throttle_reasons"] == ["sw_thermal_slowdown", "hw_thermal_slowdown"]
    assert samples[0]["processes"] == [{"pid": 7001, "name": "/usr/bin/python3",
                                        "used_mib": 20480}]
    events = [r for r in _log(log) if "event" in r]
    assert [e["event"] for e in events] == ["warning", "signal", "exit"]
    assert events[1]["signal"] == "SIGINT"
    summary = result.json()
    assert summary["stopped_by_guard"] == "GPU 0 at 95 °C (limit 85 °C)"
    assert summary["signals_sent"] == ["SIGINT"]
    assert summary["status"] == 0
    assert summary["gpus"][0]["peak_temperature_c"] == 95
    assert summary["gpus"][0]["peak_memory_used_mib"] == 22528
    assert set(summary["gpus"][0]["throttled_seconds"]) == {"sw_thermal_slowdown",
                                                             "hw_thermal_slowdown"}
    assert "sending SIGINT to the command because GPU 0 at 95 °C" in result.stderr


def test_a_memory_leak_in_another_process_stops_the_child(envcheck_cli: CliRunner,
                                                            tmp_path: Path) -> None:
    marker, log = tmp_path / "stopped", tmp_path / "guard.jsonl"
    result = envcheck_cli(
        "guard", "--interval", "0.2", "--min-free-mib", "2048", "--grace", "0", "--abort",
        "--log", str(log), "--",
        sys.executable, "-c", CHECKPOINTING_CHILD, str(marker), scenario="memory_leak")
    assert result.returncode == 8, result.stderr
    assert marker.read_text() == "SIGINT"
    samples = _samples(_log(log))
    assert [s["memory_used_mib"] for s in samples] == [4096, 10096, 16096, 21100, 23600]
    assert {p["name"] for p in samples[-1]["processes"]} == {"/usr/bin/python3", "leaky_server"}
    assert "GPU 0 has 964 MiB free (minimum 2,048 MiB)" in result.stderr
    assert "peak memory 23,600 of 24,564 MiB" in result.stderr


def test_a_child_that_ignores_sigint_is_still_stopped(envcheck_cli: CliRunner,
                                                        tmp_path: Path) -> None:
    result = envcheck_cli(
        "guard", "--interval", "0.2", "--max-temp", "85", "--grace", "0", "--abort",
        "--kill-after", "0.5", "--json", "--", sys.executable, "-c", STUBBORN_CHILD,
        scenario="thermal_ramp", timeout=60)
    assert result.returncode == 8, result.stderr
    summary = result.json()
    assert summary["signals_sent"] == ["SIGINT", "SIGTERM", "SIGKILL"]
    assert summary["returncode"] == -9


def test_without_nvml_the_command_runs_and_its_status_is_kept(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("guard", "--abort", "--", sys.executable, "-c",
                          "print('training'); raise SystemExit(3)")
    assert result.returncode == 3
    assert result.stdout.strip() == "training"
    assert "cannot watch the GPUs" in result.stderr
    assert "running the command unwatched" in result.stderr


def test_a_clean_run_keeps_the_child_status(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "guard.jsonl"
    result = envcheck_cli("guard", "--interval", "0.2", "--log", str(log), "--",
                          sys.executable, "-c", "import time; time.sleep(0.5)",
                          scenario="rtx4090_driver550")
    assert result.returncode == 0, result.stderr
    records = _log(log)
    assert _samples(records)[0]["temperature_c"] == 41
    assert records[-1]["event"] == "exit"
    assert "GPU 0 (NVIDIA GeForce RTX 4090): peak 41 °C" in result.stderr


def test_bad_guard_input(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    assert envcheck_cli("guard").returncode == 2
    missing = envcheck_cli("guard", "--", "no-such-training-command-xyz")
    assert missing.returncode == 2
    assert "no-such-training-command-xyz is not installed" in missing.stderr
    folder = envcheck_cli("guard", "--log", str(tmp_path), "--", "true")
    assert folder.returncode == 2


def _calls(path: Path) -> Counter[str]:
    """NVML calls by name, versions folded (pynvml calls nvmlDeviceGetHandleByIndex_v2)."""
    return Counter(re.sub(r"_v\d+$", "", name) for name in path.read_text().split())


def test_one_nvml_session_for_the_whole_watch(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    """nvmlInit once, handles and names once, then only the dynamic readings per sample;
    shut down once at the end (issue 13: it was 11 inits for 14 samples)."""
    calls = tmp_path / "nvml-calls.txt"
    result = envcheck_cli("guard", "--interval", "0.05", "--json", "--", sys.executable, "-c",
                          "import time; time.sleep(1.5)", scenario="rtx4090_driver550",
                          env={"ENVCHECK_NVML_CALL_LOG": str(calls)})
    assert result.returncode == 0, result.stderr
    samples = result.json()["samples"]
    assert samples >= 5, result.stdout
    seen = _calls(calls)
    inits = sum(n for name, n in seen.items() if name.startswith("nvmlInit"))
    assert (inits, seen["nvmlShutdown"]) == (1, 1), seen
    for static in ("nvmlDeviceGetHandleByIndex", "nvmlDeviceGetName", "nvmlDeviceGetUUID",
                   "nvmlDeviceGetCudaComputeCapability", "nvmlSystemGetDriverVersion"):
        assert seen[static] == 1, (static, seen)
    assert seen["nvmlDeviceGetTemperature"] == samples
    assert seen["nvmlDeviceGetComputeRunningProcesses"] == samples


REOPEN_SCRIPT = """
import json, pynvml
from envcheck.adapters.nvml import PynvmlSession
from envcheck.errors import NvmlError
events = []
with PynvmlSession() as session:
    events.append(session.sample().devices[0].temperature_c)
    # Another user of the library shuts NVML down under the session (as a driver reload
    # would end it): the next sample fails, and the one after opens a new session.
    pynvml.nvmlShutdown()
    try:
        session.sample()
    except NvmlError as e:
        events.append(e.name)
    events.append(session.sample().devices[0].name)
    events.append(session.opened)
print(json.dumps(events))
"""


def test_the_session_reopens_after_an_nvml_error(standin_nvml_dir: Path,
                                                  tmp_path: Path) -> None:
    calls = tmp_path / "nvml-calls.txt"
    env = {**base_env(tmp_path), "LD_LIBRARY_PATH": str(standin_nvml_dir),
           "ENVCHECK_NVML_SCENARIO": str(SCENARIOS / "rtx4090_driver550.scenario"),
           "ENVCHECK_NVML_CALL_LOG": str(calls)}
    done = subprocess.run([sys.executable, "-c", REOPEN_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [41, "NVML_ERROR_UNINITIALIZED",
                                       "NVIDIA GeForce RTX 4090", 2]
    seen = _calls(calls)
    # Two inits; the test's own shutdown, the failed session's (refused: already down), and
    # the last one at the end of the `with`.
    assert sum(n for name, n in seen.items() if name.startswith("nvmlInit")) == 2
    assert seen["nvmlShutdown"] == 3
