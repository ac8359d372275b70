from __future__ import annotations

import os
from pathlib import Path

from envcheck.adapters.filesystem import write_text_atomic


def test_new_file_gets_the_umask_default_and_no_temp_is_left(tmp_path: Path) -> None:
    target = tmp_path / "env.json"
    write_text_atomic(target, "{}\n")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["env.json"]


def test_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "pyproject.toml"
    target.write_text("old")
    target.chmod(0o640)
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640
