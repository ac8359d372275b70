"""Fault trial, outside tools: a hanging or garbage-printing nvidia-smi, nvcc or --python
costs at most its limit and is named; LANG=C, HOME unset and a read-only working folder
change nothing that matters. Real subprocesses: the tools are shell scripts on PATH."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import base_env

HANG = "#!/bin/sh\nexec sleep 300\n"
# Three megabytes of random bytes, an ANSI escape and the start of a JSON array that never
# ends, then a failing status: everything a broken tool could print.
GARBAGE = ("#!/bin/sh\nhead -c 3000000 /dev/urandom\nprintf '\\033[31m[[[[[[[[\\n'\n"
           "exit 3\n")
LIMIT = 2.0
# Far past what the limits allow (two stages of LIMIT, plus startup), far below a hang.
HANG_GUARD = 90.0


def _tools(root: Path, script: str) -> tuple[Path, Path]:
    """A toolkit-shaped folder whose nvcc and nvidia-smi run `script`, and a `python`."""
    bin_dir = root / "cuda" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("nvcc", "nvidia-smi"):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    python = root / "python"
    python.write_text(script)
    python.chmod(0o755)
    return bin_dir, python


def _envcheck(*args: str, env: dict[str, str], cwd: Path,
              timeout: float = HANG_GUARD) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envcheck.cli.main", *args], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.mark.parametrize(("script", "said"), [
    (HANG, f"did not finish within {LIMIT:g} s"),
    (GARBAGE, "exited 3"),
])
def test_a_broken_nvidia_smi_nvcc_and_python_are_each_named(tmp_path: Path, script: str,
                                                             said: str) -> None:
    bin_dir, python = _tools(tmp_path / "tools", script)
    env = {**base_env(tmp_path), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = _envcheck("inspect", "--json", "--timeout", f"{LIMIT:g}", "--python", str(python),
                     env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    snapshot = json.loads(done.stdout)
    assert f"nvidia-smi {said}" in snapshot["driver"]["detail"]
    [toolkit] = [t for t in snapshot["toolkits"] if t["path"] == str(bin_dir.parent)]
    assert toolkit["detail"].startswith(f"{bin_dir / 'nvcc'} {said}")
    assert snapshot["python"]["detail"].startswith(f"{python} {said}")
    # The report is still one whole document, and the garbage never reaches it raw.
    assert "\x1b" not in done.stdout


def test_doctor_with_broken_tools_gives_findings_not_a_traceback(tmp_path: Path) -> None:
    bin_dir, python = _tools(tmp_path / "tools", GARBAGE)
    env = {**base_env(tmp_path), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = _envcheck("doctor", "--timeout", f"{LIMIT:g}", "--python", str(python), env=env,
                     cwd=tmp_path)
    assert done.returncode in (0, 1, 3), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "\x1b" not in done.stdout


def _inspect_json(env: dict[str, str], cwd: Path) -> dict[str, object]:
    done = _envcheck("inspect", "--json", env=env, cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    document: dict[str, object] = json.loads(done.stdout)
    return document


def test_lang_c_home_unset_and_a_read_only_folder_change_no_fact(tmp_path: Path) -> None:
    usual = base_env(tmp_path)
    reference = _inspect_json(usual, tmp_path)
    stripped = {k: v for k, v in usual.items()
                if k not in {"HOME", "LANG", "LC_ALL", "LC_CTYPE", "XDG_CACHE_HOME"}}
    locked = tmp_path / "read-only"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        for env in ({**usual, "LANG": "C", "LC_ALL": "C"}, stripped):
            seen = _inspect_json(env, locked)
            for section in ("driver", "gpus", "toolkits", "python", "torch"):
                assert seen[section] == reference[section], section
    finally:
        locked.chmod(0o755)


def test_writing_into_a_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes through a mode-0500 folder; a folder on a read-only mount is what a
        # user would hit, and the error path is the same OSError.
        target = Path("/proc/envcheck-snapshot.json")
    else:
        locked = tmp_path / "read-only"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        target = locked / "snapshot.json"
    done = _envcheck("inspect", "-o", str(target), env=base_env(tmp_path), cwd=tmp_path)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    assert str(target) in done.stderr


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_terminal_that_cannot_print_unicode_still_gets_the_report(tmp_path: Path,
                                                                     encoding: str) -> None:
    env = {**base_env(tmp_path), "PYTHONIOENCODING": encoding}
    for argv in (("doctor",), ("inspect",)):
        done = _envcheck(*argv, env=env, cwd=tmp_path)
        assert done.returncode in (0, 1, 3), done.stderr
        assert "internal error" not in done.stderr
        assert done.stdout.strip()
