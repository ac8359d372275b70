"""Fault trial, secrets: with HF_TOKEN, AWS_SECRET_ACCESS_KEY, an index URL with a password
(in PIP_INDEX_URL and in [tool.envcheck.indexes] as ${VARIABLE}) and a ~/.netrc password in
play, no secret appears in any output, lockfile, Dockerfile (its labels included),
fingerprint or report (issue 13).

The private index is real: a PEP 503 index of wheels made here, served over HTTP on
loopback, which uv logs in to with the credentials from the URL."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.flat_index import DEMO_WHEELS, make_flat_index
from tests.integration.conftest import base_env

SECRETS = {
    "HF_TOKEN": "hf_envcheckLeakCanary0001",
    "AWS_SECRET_ACCESS_KEY": "envcheckLeakCanary0002/abc+DEF",
    "AWS_ACCESS_KEY_ID": "AKIAENVCHECKCANARY03",
    "INDEX_PASSWORD": "envcheckLeakCanary0004",
    "WANDB_API_KEY": "envcheckLeakCanary0005",
}
PIP_PASSWORD = "envcheckLeakCanary0006"
NETRC_PASSWORD = "envcheckLeakCanary0007"
CANARIES = (*SECRETS.values(), PIP_PASSWORD, NETRC_PASSWORD)
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def simple_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """http://127.0.0.1:PORT/simple/: every demo wheel, PEP 503 pages with sha256s."""
    import hashlib

    root = tmp_path_factory.mktemp("simple-index")
    wheels = make_flat_index(root / "files")
    for name in sorted({w.name for w in DEMO_WHEELS}):
        page = root / "simple" / name
        page.mkdir(parents=True)
        links = []
        for wheel in (w for w in DEMO_WHEELS if w.name == name):
            digest = hashlib.sha256((wheels / wheel.filename).read_bytes()).hexdigest()
            links.append(f'<a href="../../files/{wheel.filename}#sha256={digest}">'
                         f"{wheel.filename}</a>")
        (page / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _project(root: Path, host: str) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(f"""\
[project]
name = "demo"
version = "0"

[tool.envcheck.targets.small]
python = "3.11"
platform = "linux/x86_64"
cuda = "cpu"
requirements = "requirements.in"

[tool.envcheck.indexes.private]
url = "http://bob:${{INDEX_PASSWORD}}@{host}/simple/"
""")
    (root / "requirements.in").write_text("ec-app==1.0\n")
    return root


def _env(tmp_path: Path, host: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    machine = host.partition(":")[0]
    netrc.write_text(f"machine {machine} login carol password {NETRC_PASSWORD}\n")
    netrc.chmod(0o600)
    return {**base_env(tmp_path), **SECRETS, "HOME": str(home),
            "PIP_INDEX_URL": f"https://alice:{PIP_PASSWORD}@127.0.0.1:9/simple"}


def _envcheck(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envcheck.cli.main", *args], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_no_secret_reaches_any_output_or_file(tmp_path: Path, simple_index: str) -> None:
    project = _project(tmp_path / "project", simple_index)
    env = _env(tmp_path, simple_index)
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    runs = {
        "lock": ("lock", "--json"),
        "inspect --json": ("inspect", "--json"),
        "inspect": ("inspect",),
        "inspect -o": ("inspect", "-o", str(outputs / "snapshot.json")),
        "doctor": ("doctor",),
        "doctor --json": ("doctor", "--json"),
        "doctor --format github": ("doctor", "--format", "github"),
        "dockerfile": ("dockerfile", "small", "--base", f"debian:12@{DIGEST}"),
        "fingerprint": ("fingerprint", "--workload-timeout", "20", "-o",
                        str(outputs / "small--here.json")),
        "compare": ("compare", str(outputs / "small--here.json"),
                    str(outputs / "small--here.json")),
        "report": ("report", str(outputs / "small--here.json"), "--markdown",
                   str(outputs / "summary.md"), "--html", str(outputs / "report.html")),
        "target list": ("target", "list", "--json"),
        "lock --check": ("lock", "--check", "--json"),
    }
    said = {}
    for name, argv in runs.items():
        done = _envcheck(*argv, env=env, cwd=project)
        assert "Traceback" not in done.stderr, (name, done.stderr)
        said[name] = done.stdout + done.stderr
    assert (project / "lockfiles" / "small.txt").exists(), said["lock"]
    assert (project / "images" / "small" / "Dockerfile").exists(), said["dockerfile"]
    assert (outputs / "small--here.json").exists(), said["fingerprint"]
    assert (outputs / "report.html").exists(), said["report"]
    assert (outputs / "snapshot.json").exists(), said["inspect -o"]
    # The private index was really used, and is recorded without its credentials.
    assert f"# index: http://<redacted>@{simple_index}/simple/" in (
        project / "lockfiles" / "small.txt").read_text()
    written = {str(path.relative_to(tmp_path)): path.read_text(errors="replace")
               for folder in (project, outputs) for path in folder.rglob("*")
               if path.is_file()}
    leaks = [(where, canary) for where, text in {**said, **written}.items()
             for canary in CANARIES if canary in text]
    assert leaks == []


def test_a_failing_private_index_does_not_echo_its_password(tmp_path: Path) -> None:
    """uv's own error names the URL it could not read: the password is scrubbed."""
    project = _project(tmp_path / "project", "127.0.0.1:9")
    env = _env(tmp_path, "127.0.0.1:9")
    done = _envcheck("lock", env=env, cwd=project)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert not [c for c in CANARIES if c in done.stdout + done.stderr], done.stderr
    assert not (project / "lockfiles").exists()


def test_the_environment_is_recorded_without_its_secrets(tmp_path: Path) -> None:
    env = _env(tmp_path, "127.0.0.1:9")
    done = _envcheck("inspect", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not [c for c in CANARIES if c in done.stdout]
    assert os.environ.get("HF_TOKEN") != SECRETS["HF_TOKEN"]  # only the child saw them
