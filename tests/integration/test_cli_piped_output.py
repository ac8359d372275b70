"""Output to a pipe (a CI log, `| tee`) is never hard-wrapped: fix commands stay one line."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import CliRunner

# A driver-535 box with torch's CUDA 13.0 build: the fix is a long `pip install ... --index-url
# URL` line, which rich wrapped at 80 columns when stdout was not a terminal.
REPORT = """\
+-----------------------------------------------------------------------------+
| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2     |
|-------------------------------+----------------------+----------------------+
| GPU  Name        Persistence-M| Bus-Id        Disp.A | Volatile Uncorr. ECC |
|   0  NVIDIA GeForce RTX 3090  Off  | 00000000:01:00.0 Off |                  N/A |
+-------------------------------+----------------------+----------------------+
Package    Version
---------- -----------
torch      2.14.1+cu130
"""


def test_doctor_piped_keeps_each_line_whole(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    report.write_text(REPORT)
    piped = envcheck_cli("doctor", "--from-report", str(report))
    wide = envcheck_cli("doctor", "--from-report", str(report), env={"COLUMNS": "10000"})
    assert piped.returncode == wide.returncode == 3, piped.stderr
    # The same lines as on a 10000-column console: nothing was wrapped at 80.
    assert piped.stdout == wide.stdout
    assert max(len(line) for line in piped.stdout.splitlines()) > 80
    for line in piped.stdout.splitlines():
        assert not line.startswith(("--index-url", "https://")), line
        if "--index-url" in line:
            assert "--index-url https://download.pytorch.org/whl/" in line


def test_fit_piped_keeps_each_line_whole(envcheck_cli: CliRunner) -> None:
    # fit's first line names the shape it assumed: well over 80 columns.
    piped = envcheck_cli("fit", "7B", "--method", "qlora", "--gpu", "RTX 4090")
    wide = envcheck_cli("fit", "7B", "--method", "qlora", "--gpu", "RTX 4090",
                        env={"COLUMNS": "10000"})
    assert piped.returncode == wide.returncode == 0, piped.stderr
    first = piped.stdout.splitlines()[0]
    assert len(first) > 80
    assert first.endswith("for exact activations)")
    assert piped.stdout == wide.stdout
