"""Lockfile text: render, parse, the inputs hash, and what never gets written."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from envcheck.errors import ExitCode
from envcheck.lockfile import (
    LockfileError,
    inputs_sha256,
    parse_lockfile,
    parse_pinned_requirements,
    redact_index_url,
    render_lockfile,
)
from envcheck.lockfile_model import LOCK_SCHEMA, LockedPackage, Lockfile, LockHeader
from envcheck.project_model import PackageIndex, Project, Target
from tests.golden import assert_golden

RESOLVER = Path(__file__).parents[1] / "data" / "resolver"
HEX = "0123456789abcdef" * 4

HEADER = LockHeader(
    schema=LOCK_SCHEMA, target="cloud", python="3.11", platform="linux/x86_64", cuda="cu130",
    resolver="uv", resolver_version="0.13.9", inputs_sha256=HEX,
)


def recorded(name: str) -> str:
    return (RESOLVER / name).read_text()


def torch_lock() -> Lockfile:
    packages = parse_pinned_requirements(recorded("uv-torch-2.14.1-py311-x86_64.txt"),
                                         origin="uv")
    return Lockfile(header=HEADER, packages=packages)


def test_golden_torch_lockfile() -> None:
    assert_golden("lockfiles/cloud-torch-2.14.1-cu130.txt", render_lockfile(torch_lock()))


def test_round_trip() -> None:
    lock = torch_lock()
    lock = replace(lock, header=replace(lock.header, indexes=("https://host/simple",)))
    text = render_lockfile(lock)
    parsed = parse_lockfile(text, origin="cloud.txt")
    assert parsed.header == lock.header
    assert {p.name: p for p in parsed.packages} == {
        p.name: replace(p, hashes=tuple(sorted(p.hashes))) for p in lock.packages}
    assert render_lockfile(parsed) == text


def test_marker_round_trip() -> None:
    package = LockedPackage(name="colorama", version="0.4.6", hashes=(f"sha256:{HEX}",),
                            marker="sys_platform == 'win32'")
    text = render_lockfile(Lockfile(header=HEADER, packages=(package,)))
    assert "colorama==0.4.6 ; sys_platform == 'win32' \\\n" in text
    assert parse_lockfile(text, origin="x").packages == (package,)


@pytest.mark.parametrize("name", [
    "uv-requests-numpy-py311-x86_64.txt",
    "uv-torch-2.14.1-py311-x86_64.txt",
    "uv-torch-2.7.1-py311-x86_64.txt",
    "pip-tools-requests-numpy-py311-x86_64.txt",
    "pip-tools-torch-2.14.1-py311-x86_64.txt",
])
def test_recorded_resolver_output_parses(name: str) -> None:
    packages = parse_pinned_requirements(recorded(name), origin=name)
    assert packages
    for package in packages:
        assert package.hashes, package
        assert all(h.startswith("sha256:") and len(h) == 71 for h in package.hashes)


def test_pip_compile_extras_and_comments() -> None:
    packages = parse_pinned_requirements(recorded("pip-tools-torch-2.14.1-py311-x86_64.txt"),
                                         origin="pip-compile")
    names = {p.name: p.version for p in packages}
    assert names["cuda-toolkit"] == "13.0.3.0"
    assert names["torch"] == "2.14.1"
    assert "setuptools" not in names  # only named in pip-compile's trailing warning


def test_recorded_output_versions() -> None:
    packages = parse_pinned_requirements(recorded("uv-requests-numpy-py311-x86_64.txt"),
                                         origin="uv")
    assert {p.name for p in packages} == {"certifi", "charset-normalizer", "idna", "numpy",
                                          "requests", "urllib3"}
    assert next(p for p in packages if p.name == "requests").version == "2.32.3"


def _lock_text(body: str) -> str:
    header = render_lockfile(Lockfile(header=HEADER, packages=()))
    return header + body


@pytest.mark.parametrize(("body", "line", "problem"), [
    ("requests>=2\n", 11, "is not pinned as name==version"),
    ("    --hash=sha256:" + HEX + "\n", 11, "no requirement above"),
    ("requests==2.32.3 \\\n    --hash=md5:abc\n", 11, "is not --hash=sha256"),
    ("requests==2.32.3\nidna==3.10 \\\n    --hash=sha256:" + HEX + "\n", 11, "has no --hash"),
    ("idna==3.10 --hash=sha256:" + HEX + "\nidna==3.11 --hash=sha256:" + HEX + "\n", 12,
     "pinned twice (first on line 11)"),
])
def test_malformed_body_names_file_and_line(body: str, line: int, problem: str) -> None:
    with pytest.raises(LockfileError) as caught:
        parse_lockfile(_lock_text(body), origin="lockfiles/cloud.txt")
    assert f"lockfiles/cloud.txt, line {line}:" in str(caught.value)
    assert problem in str(caught.value)
    assert caught.value.exit_code is ExitCode.USAGE


def test_header_missing_keys() -> None:
    text = "# schema: envcheck.lock/1\n# target: cloud\n\nidna==3.10 --hash=sha256:" + HEX
    with pytest.raises(LockfileError, match=r"x.txt, line 3: the header lacks python, "
                                            r"platform, cuda, resolver"):
        parse_lockfile(text, origin="x.txt")


def test_header_duplicate_key_and_schema() -> None:
    text = render_lockfile(Lockfile(header=HEADER, packages=()))
    with pytest.raises(LockfileError, match=r"line 4: header key 'target' appears twice"):
        parse_lockfile(text.replace("# python:", "# target: again\n# python:"), origin="x")
    with pytest.raises(LockfileError, match=r"schema 'envcheck\.lock/9'"):
        parse_lockfile(text.replace(LOCK_SCHEMA, "envcheck.lock/9"), origin="x")
    with pytest.raises(LockfileError, match="is not a sha256"):
        parse_lockfile(text.replace(HEX, "abc"), origin="x")


def test_credentials_never_rendered() -> None:
    header = replace(HEADER, indexes=("https://alice:s3cr3t-token@pkgs.example.com/simple",
                                      "https://${USER}:${TOKEN}@pkgs.example.com/cu126"))
    text = render_lockfile(Lockfile(header=header, packages=()))
    assert "s3cr3t" not in text
    assert "alice" not in text
    assert "# index: https://<redacted>@pkgs.example.com/simple\n" in text
    assert "# index: https://${USER}:<redacted>@pkgs.example.com/cu126\n" in text


@pytest.mark.parametrize(("url", "redacted"), [
    ("https://alice:tok@host/simple", "https://<redacted>@host/simple"),
    ("https://ghp_abcdefghijklmnopqrstuvwxyz1234@host/x", "https://<redacted>@host/x"),
    ("https://host/simple?token=abc", "https://host/simple?token=<redacted>"),
    ("https://download.pytorch.org/whl/cu126", "https://download.pytorch.org/whl/cu126"),
])
def test_redact_index_url(url: str, redacted: str) -> None:
    assert redact_index_url(url) == redacted


def _project(*indexes: PackageIndex) -> Project:
    return Project(root=Path("/p"), pyproject=Path("/p/pyproject.toml"), indexes=indexes)


TARGET = Target(name="cloud", python="3.11", platform="linux/x86_64", cuda="cu130",
                torch="==2.14.1")


def test_inputs_hash_follows_inputs() -> None:
    index = PackageIndex(name="corp", url="https://alice:one@host/simple", variants=("cu126",))
    base = inputs_sha256(_project(index), TARGET, "requests\n", resolver="uv")
    assert len(base) == 64
    assert base == inputs_sha256(_project(index), TARGET, "requests\n", resolver="uv")
    # A rotated token is not an input: the URL is hashed redacted.
    rotated = replace(index, url="https://alice:two@host/simple")
    assert base == inputs_sha256(_project(rotated), TARGET, "requests\n", resolver="uv")
    assert base != inputs_sha256(_project(index), TARGET, "requests\nnumpy\n", resolver="uv")
    assert base != inputs_sha256(_project(index), TARGET, "requests\n", resolver="pip-tools")
    assert base != inputs_sha256(_project(index), replace(TARGET, python="3.12"), "requests\n",
                                 resolver="uv")
    assert base != inputs_sha256(_project(replace(index, variants=("cu128",))), TARGET,
                                 "requests\n", resolver="uv")
    assert base != inputs_sha256(_project(), TARGET, "requests\n", resolver="uv")
