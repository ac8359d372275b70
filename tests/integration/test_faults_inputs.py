"""Fault trial, hostile files through the real CLI: every option that reads a file, given
binary, invalid UTF-8, JSON nested past the recursion limit, a 10 MB line, a folder or
/dev/zero, and a 50 MB report. The exit code is a documented one and no traceback shows
without --debug (issue 13; docs/reliability.md has the counts)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import base_env

REPORTS = Path(__file__).resolve().parents[1] / "data" / "reports"
# Exit codes from the README's table that bad input may give: 0-1 (a verdict), 2 (usage),
# 3 (findings); 7 (block). Never 70 (internal error) or a signal.
ALLOWED = {0, 1, 2, 3, 7}


def _contents(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    made = {
        "binary": random.Random(13).randbytes(200_000),
        "invalid UTF-8": b'{"schema": "envcheck.snapshot/1", "os": "\xff\xfe\x80"}\n' * 100,
        "nested JSON": b"[" * 200_000 + b"]" * 200_000,
        "one 10 MB line": b"Driver Version: " + b"5" * (10 * 1024 * 1024),
        "empty": b"",
    }
    paths = {}
    for name, content in made.items():
        path = folder / name.replace(" ", "-")
        path.write_bytes(content)
        paths[name] = path
    paths["a folder"] = folder
    paths["/dev/zero"] = Path("/dev/zero")
    return paths


COMMANDS = {
    "doctor --snapshot": ("doctor", "--snapshot", "{}"),
    "doctor --from-report": ("doctor", "--from-report", "{}"),
    "doctor --lock": ("doctor", "--lock", "{}"),
    "doctor --error-file": ("doctor", "--error-file", "{}"),
    "compare": ("compare", "{}", "{}"),
    "report": ("report", "{}"),
    "verify --lock": ("verify", "--lock", "{}"),
    "check-lock": ("check-lock", "{}"),
    "fit": ("fit", "{}"),
    "profile save --snapshot": ("profile", "save", "p", "--snapshot", "{}"),
}


def _envcheck(*args: str, cwd: Path, env: dict[str, str],
              stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "envcheck.cli.main", *args], cwd=cwd, env=env,
                          input=stdin, capture_output=True, timeout=300, check=False)


# The costly contents (a 10 MB line; /dev/zero, read to the 256 MiB limit) go to the
# commands whose readers differ: JSON, lockfile, report, config.json, fingerprint files.
COSTLY = {"one 10 MB line": ("doctor --snapshot", "verify --lock", "compare", "fit"),
          "/dev/zero": ("doctor --snapshot", "report", "fit")}


def test_every_file_option_survives_every_hostile_file(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "d"\nversion = "0"\n')
    env = base_env(tmp_path)
    failures = []
    tried = 0
    for content, path in _contents(tmp_path / "hostile").items():
        for command, argv in COMMANDS.items():
            if command not in COSTLY.get(content, COMMANDS):
                continue
            done = _envcheck(*(a.format(path) for a in argv), cwd=project, env=env)
            tried += 1
            said = (done.stdout + done.stderr).decode("utf-8", "replace")
            if done.returncode not in ALLOWED or "Traceback" in said or "internal error" in said:
                failures.append((command, content, done.returncode, said[-300:]))
    assert failures == []
    assert tried == len(COMMANDS) * 5 + sum(len(c) for c in COSTLY.values())


def test_project_files_that_are_not_utf8_are_named(tmp_path: Path) -> None:
    """A hand-edited lockfile or requirements file with one bad byte."""
    project = tmp_path / "project"
    (project / "lockfiles").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "d"\nversion = "0"\n[tool.envcheck.targets.small]\n'
        'python = "3.11"\ncuda = "cpu"\nrequirements = "requirements.in"\n')
    (project / "requirements.in").write_bytes(b"six\xff\n")
    (project / "lockfiles" / "small.txt").write_bytes(b"# envcheck lockfile\xff\n")
    env = base_env(tmp_path)
    checked = _envcheck("lock", "--check", cwd=project, env=env)
    assert checked.returncode == 3
    assert b"unreadable: not UTF-8 text" in checked.stdout + checked.stderr
    rendered = _envcheck("dockerfile", "small", "--base", "debian@sha256:" + "a" * 64,
                         cwd=project, env=env)
    assert rendered.returncode == 2
    assert b"is stale: unreadable: not UTF-8 text" in rendered.stderr
    locked = _envcheck("lock", cwd=project, env=env)
    assert locked.returncode == 2
    assert b"requirements.in is not UTF-8 text (invalid start byte at byte 3)" in locked.stderr


def test_invalid_utf8_on_stdin_under_a_strict_locale_is_read(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "PYTHONIOENCODING": "utf-8:strict"}
    real = REPORTS / "machineshop-70-nvml-mismatch-520-vs-525" / "report.txt"
    report = b"pasted from a terminal \xff\xfe\n" + real.read_bytes()
    done = _envcheck("doctor", "--from-report", "-", "--json", cwd=tmp_path, env=env,
                     stdin=report)
    said = done.stderr.decode("utf-8", "replace")
    assert done.returncode in ALLOWED, said
    assert "internal error" not in said
    assert b'"findings"' in done.stdout


def _real_reports() -> str:
    texts = [path.read_text(errors="replace") for path in sorted(REPORTS.rglob("*"))
             if path.is_file() and path.suffix != ".md"]
    return "\n".join(texts)


def test_a_50_mb_report_is_read_to_the_end(tmp_path: Path) -> None:
    """Real pasted reports, repeated to 50 MB: read whole (about 1.6 s per MB on this
    machine), judged, no traceback."""
    text = _real_reports()
    size = 50 * 1024 * 1024
    report = tmp_path / "report.txt"
    report.write_text((text * (size // len(text) + 1))[:size])
    done = _envcheck("doctor", "--from-report", str(report), "--json", cwd=tmp_path,
                     env=base_env(tmp_path))
    said = done.stderr.decode("utf-8", "replace")
    assert done.returncode in ALLOWED, said[-500:]
    assert "Traceback" not in said
    assert b'"findings"' in done.stdout


def test_one_10_mb_line_as_a_report_is_refused_clearly(tmp_path: Path) -> None:
    report = tmp_path / "line.txt"
    report.write_text("x" * (10 * 1024 * 1024))
    done = _envcheck("doctor", "--from-report", str(report), cwd=tmp_path,
                     env=base_env(tmp_path))
    assert done.returncode == 2
    assert b"no environment facts found in the report" in done.stderr
