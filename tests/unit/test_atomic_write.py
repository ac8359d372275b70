from __future__ import annotations

import os
from pathlib import Path

from envcheck.adapters.filesystem import STALE_TEMPORARY_SECONDS, write_text_atomic


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


def test_a_killed_write_s_old_temporary_is_swept_and_a_fresh_one_kept(tmp_path: Path) -> None:
    # kill -9 between the write and the rename leaves `.NAME.XXXX.tmp` (seen in the fault
    # tests, 1 kill in 56); the next write of NAME removes it once it is clearly abandoned.
    target = tmp_path / "envcheck.lock"
    stale = tmp_path / ".envcheck.lock.abc123.tmp"
    fresh = tmp_path / ".envcheck.lock.def456.tmp"
    other = tmp_path / ".pyproject.toml.abc123.tmp"
    for leftover in (stale, fresh, other):
        leftover.write_text("half")
    old = stale.stat().st_mtime - STALE_TEMPORARY_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    write_text_atomic(target, "whole")
    assert target.read_text() == "whole"
    assert not stale.exists()
    assert fresh.exists()  # maybe another writer's, mid-write
    assert other.exists()  # another file's: not this write's to judge
