"""torchvision against torch releases older than the torch tables, from torchvision's README
table (envcheck/knowledge/data/companion_pairs.toml)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from packaging.version import Version

from envcheck.knowledge.companion_pairs import pair_for
from envcheck.rules import run_rules
from envcheck.snapshot import Package, Snapshot, Torch
from tests.snapshots import healthy


def _with(torch: str, torchvision: str) -> Snapshot:
    return replace(healthy(), source="report",
                   torch=Torch(status="ok", version=Version(torch),
                               provenance={"version": "measured"}),
                   packages=(Package(name="torch", version=torch),
                             Package(name="torchvision", version=torchvision)))


def _ids(snapshot: Snapshot) -> list[str]:
    return [f.id for f in run_rules(snapshot) if f.category == "torchvision_mismatch"]


def test_the_readme_rows() -> None:
    pair = pair_for(Version("1.9.0"))
    assert pair is not None
    assert pair.accepts(Version("0.10.1"))
    assert not pair.accepts(Version("0.2.2"))
    older = pair_for(Version("0.4.1"))
    assert older is not None
    assert older.accepts(Version("0.2.2"))
    three = pair_for(Version("1.3.1"))
    assert three is not None
    assert three.accepts(Version("0.4.3"))
    assert not three.accepts(Version("0.5.0"))


@pytest.mark.parametrize(("torch", "torchvision"), [
    ("1.2.0", "0.4.0"),  # PyTorch's previous-versions page installs this pair
    ("1.3.0", "0.4.1"),  # vision#1458: 0.4.1 was made for PyTorch 1.3
])
def test_pytorch_s_own_install_pairs_are_accepted(torch: str, torchvision: str) -> None:
    # The README's table says 0.4.1 for 1.2 and 0.4.2 for 1.3; PyTorch's own commands differ,
    # and a pair PyTorch installs must never be called a mismatch.
    pair = pair_for(Version(torch))
    assert pair is not None
    assert pair.accepts(Version(torchvision))
    assert pair_for(Version("1.13.0")) is None  # the torch tables' range


def test_conda_pairing_pytorch_190_with_torchvision_022() -> None:
    # https://github.com/pytorch/vision/issues/4071
    assert _ids(_with("1.9.0", "0.2.2")) == ["torchvision-not-paired-with-older-torch"]


def test_the_paired_release_and_the_tables_range_are_left_alone() -> None:
    assert _ids(_with("1.9.0", "0.10.0")) == []
    assert _ids(_with("1.9.0+cu111", "0.10.0+cu111")) == []
    assert "torchvision-not-paired-with-older-torch" not in _ids(_with("2.1.0", "0.2.2"))
