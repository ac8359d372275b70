"""The probe's `--verify-records` mode, on distributions laid out in a temporary folder,
and the rule that the probe stays Python 3.8 syntax."""

from __future__ import annotations

import ast
import base64
import hashlib
from importlib import metadata
from pathlib import Path

from envcheck.probe import envprobe
from envcheck.probe.envprobe import record_check, verify_report


def _record_hash(content: bytes) -> str:
    digest = hashlib.sha256(content).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _install(site: Path, files: dict[str, bytes]) -> metadata.Distribution:
    """A wheel-installed distribution: its files and a RECORD with their hashes, as pip
    writes it (RECORD itself and .pyc caches without a hash)."""
    info = site / "demo-1.0.dist-info"
    info.mkdir(parents=True)
    files = {**files, "demo-1.0.dist-info/METADATA": b"Name: demo\nVersion: 1.0\n"}
    lines = []
    for relative, content in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_bytes(content)
        lines.append(f"{relative},{_record_hash(content)},{len(content)}")
    lines += ["demo/__pycache__/__init__.cpython-311.pyc,,", "demo-1.0.dist-info/RECORD,,"]
    (info / "RECORD").write_text("\n".join(lines) + "\n")
    return metadata.PathDistribution(info)


def test_the_probe_is_python_3_8_syntax() -> None:
    source = Path(envprobe.__file__).read_text(encoding="utf-8")
    ast.parse(source, feature_version=(3, 8))


def test_digest_is_the_wheel_specs_urlsafe_base64_without_padding(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert envprobe._file_digest(str(empty), "sha256") == (
        "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")


def test_an_untouched_install_matches_its_record(tmp_path: Path) -> None:
    dist = _install(tmp_path, {"demo/__init__.py": b"x = 1\n", "demo/core.so": bytes(range(256))})
    assert record_check(dist) == {
        "name": "demo", "version": "1.0", "record": "ok", "files_checked": 3,
        "modified": [], "missing": [], "unreadable": []}


def test_edited_and_deleted_files_are_reported_by_their_record_path(tmp_path: Path) -> None:
    dist = _install(tmp_path, {"demo/__init__.py": b"x = 1\n", "demo/util.py": b"y = 2\n",
                               "demo/py.typed": b""})
    (tmp_path / "demo" / "__init__.py").write_bytes(b"x = 2\n")
    (tmp_path / "demo" / "py.typed").unlink()
    # A cache written after installation has no hash in RECORD: not a change.
    (tmp_path / "demo" / "__pycache__").mkdir()
    (tmp_path / "demo" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0")
    checked = record_check(dist)
    assert checked["modified"] == ["demo/__init__.py"]
    assert checked["missing"] == ["demo/py.typed"]
    assert checked["files_checked"] == 3  # __init__.py, util.py, METADATA


def test_a_distribution_without_record_hashes_is_not_ok(tmp_path: Path) -> None:
    info = tmp_path / "old-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Name: old\nVersion: 1.0\n")
    assert record_check(metadata.PathDistribution(info))["record"] == "absent"
    (info / "RECORD").write_text("old/__init__.py,,\n")
    assert record_check(metadata.PathDistribution(info))["record"] == "no-hashes"


def test_quick_report_lists_versions_and_hashes_nothing() -> None:
    report = verify_report(quick=True)
    assert report["records"] is None
    assert report["markers"]["python_version"].count(".") == 1
    assert any(p["name"].lower() == "packaging" for p in report["packages"])
