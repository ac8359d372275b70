"""The wheelhouse: every locked wheel present once, with a sha256 the lock lists, or refused."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from envcheck.adapters.runner import CommandResult
from envcheck.lockfile_model import LockedPackage, Lockfile, LockHeader
from envcheck.services.wheelhouse import (
    PreflightSource,
    WheelhouseError,
    WheelhouseRequest,
    applies,
    check_wheels,
    platform_tags,
    prepare_wheelhouse,
)

SIX = "six-1.17.0-py2.py3-none-any.whl"
YAML = "PyYAML-6.0.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


def _write(folder: Path, name: str, content: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return "sha256:" + hashlib.sha256(content).hexdigest()


def _packages(six: str, yaml: str) -> tuple[LockedPackage, ...]:
    return (LockedPackage(name="six", version="1.17.0", hashes=(six, "sha256:" + "0" * 64)),
            LockedPackage(name="pyyaml", version="6.0.3", hashes=(yaml,)))


def test_matching_wheels_pass(tmp_path: Path) -> None:
    six = _write(tmp_path, SIX, b"six wheel")
    yaml = _write(tmp_path, YAML, b"yaml wheel")
    wheels = check_wheels(tmp_path, _packages(six, yaml))
    assert [(w.name, w.sha256) for w in wheels] == [("pyyaml", yaml), ("six", six)]


def test_a_tampered_wheel_is_refused(tmp_path: Path) -> None:
    six = _write(tmp_path, SIX, b"six wheel")
    yaml = _write(tmp_path, YAML, b"yaml wheel")
    (tmp_path / YAML).write_bytes(b"yaml wheel, with a payload")
    with pytest.raises(WheelhouseError) as raised:
        check_wheels(tmp_path, _packages(six, yaml))
    message = str(raised.value)
    assert YAML in message
    assert "not one of the lock's 1 hash(es) for pyyaml==6.0.3" in message
    assert raised.value.exit_code == 6


def test_missing_extra_and_source_distributions(tmp_path: Path) -> None:
    six = _write(tmp_path, SIX, b"six wheel")
    _write(tmp_path, "idna-3.10-py3-none-any.whl", b"idna")
    _write(tmp_path, "pyyaml-6.0.3.tar.gz", b"sdist")
    with pytest.raises(WheelhouseError) as raised:
        check_wheels(tmp_path, _packages(six, "sha256:" + "2" * 64))
    message = str(raised.value)
    assert "idna-3.10-py3-none-any.whl is not in the lock" in message
    assert "pyyaml-6.0.3.tar.gz is a source distribution" in message
    assert "no wheel for pyyaml==6.0.3" in message


def test_markers_are_evaluated_for_the_target() -> None:
    package = LockedPackage(name="x", version="1", hashes=(), marker='python_version < "3.12"')
    assert applies(package, python="3.11", platform="linux/x86_64")
    assert not applies(package, python="3.12", platform="linux/x86_64")
    arm = LockedPackage(name="y", version="1", hashes=(), marker='platform_machine == "aarch64"')
    assert not applies(arm, python="3.11", platform="linux/x86_64")


def test_platform_tags_cover_manylinux_2_17_to_2_28() -> None:
    tags = platform_tags("linux/x86_64")
    assert tags[0] == "manylinux_2_28_x86_64"
    assert "manylinux_2_17_x86_64" in tags
    assert "manylinux2014_x86_64" in tags
    assert all(t.endswith("aarch64") for t in platform_tags("linux/aarch64"))


class _CopyingPip:
    """Stands in for `pip download` / `pip wheel`: copies files from a folder into --dest
    or --wheel-dir, and records the argv."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.calls: list[list[str]] = []

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
            stdin_text: str | None = None) -> CommandResult:
        self.calls.append(list(argv))
        flag = "--dest" if "download" in argv else "--wheel-dir"
        destination = Path(argv[list(argv).index(flag) + 1])
        for path in self.source.glob("*.whl"):
            if ("download" in argv) == (not path.name.startswith("envcheck-")):
                shutil.copy(path, destination / path.name)
        return CommandResult(argv=tuple(argv), returncode=0, stdout="", stderr="")


def _request(tmp_path: Path, packages: tuple[LockedPackage, ...]) -> WheelhouseRequest:
    source = tmp_path / "envcheck-src"
    (source / "envcheck").mkdir(parents=True)
    (source / "pyproject.toml").write_text("[project]\nname = 'envcheck'\n")
    (source / "envcheck" / "__init__.py").write_text("")
    header = LockHeader(schema="envcheck.lock/1", target="small", python="3.11",
                        platform="linux/x86_64", cuda="cpu", resolver="uv",
                        resolver_version="0.13.9", inputs_sha256="0" * 64)
    return WheelhouseRequest(
        lock=Lockfile(header=header, packages=packages), lockfile=tmp_path / "small.txt",
        folder=tmp_path / "wheelhouse", python="3.11", platform="linux/x86_64",
        pip=("python", "-m", "pip"), env={},
        preflight=PreflightSource(envcheck_source=source, pins={"packaging": "26.3"}))


def test_prepare_downloads_checks_and_then_reuses(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    six = _write(mirror, SIX, b"six wheel")
    yaml = _write(mirror, YAML, b"yaml wheel")
    _write(mirror, "envcheck-0.1.0-py3-none-any.whl", b"envcheck")
    pip = _CopyingPip(mirror)
    request = _request(tmp_path, _packages(six, yaml))
    first = prepare_wheelhouse(request, pip)
    assert first.downloaded
    assert {w.name for w in first.training} == {"six", "pyyaml"}
    download = pip.calls[0]
    assert download[3:5] == ["download", "--no-deps"]
    assert "--require-hashes" in download
    assert "manylinux_2_28_x86_64" in download
    requirements = (request.folder / "preflight" / "requirements.txt").read_text()
    assert "envcheck==0.1.0 --hash=sha256:" in requirements
    assert (request.folder / "tree_hash.py").is_file()
    calls = len(pip.calls)
    again = prepare_wheelhouse(request, pip)
    assert not again.downloaded
    assert len(pip.calls) == calls  # nothing ran: the wheelhouse matched the lock


def test_a_mirror_serving_another_file_fails_before_the_engine(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    six = _write(mirror, SIX, b"six wheel")
    _write(mirror, YAML, b"not the locked yaml wheel")
    request = _request(tmp_path, _packages(six, "sha256:" + "3" * 64))
    with pytest.raises(WheelhouseError, match="does not match the lock"):
        prepare_wheelhouse(request, _CopyingPip(mirror))
    assert not (request.folder / "training").exists()
