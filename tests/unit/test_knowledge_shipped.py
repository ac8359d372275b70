"""The shipped CUDA and torch tables: they load, are sorted, have no duplicate names, and
every row names a source the file lists (read from the raw TOML, so a row the loader would
accept without one still fails here)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from packaging.version import Version

from envcheck.knowledge.cuda_tables import (
    cuda_releases,
    cudnn_support,
    minor_compat,
    toolkit_releases,
)
from envcheck.knowledge.data_files import read_data_file
from envcheck.knowledge.nvcc_targets import nvcc_targets
from envcheck.knowledge.torch_tables import torch_releases

# file -> (array of rows, the field that names a row)
TABLES = {
    "cuda_drivers.toml": [("cuda", "cuda"), ("toolkit", "release"), ("minor_compat", "major")],
    "nvcc_targets.toml": [("nvcc", "cuda")],
    "cudnn.toml": [("cudnn", "cudnn")],
    "companion_pairs.toml": [("pair", "torch")],
    "torch_pins.toml": [("pin", "version")],
}


def _ids(document: dict[str, Any]) -> set[str]:
    return {str(s["id"]) for s in document["sources"]}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_rows_are_sorted_unique_and_sourced(name: str) -> None:
    document = read_data_file(name)
    ids = _ids(document)
    assert len(ids) == len(document["sources"]), "duplicate source ids"
    for array, key in TABLES[name]:
        rows = document[array]
        assert rows, array
        names = [Version(str(row[key])) for row in rows]
        assert names == sorted(set(names)), f"{name} [[{array}]] not sorted or duplicated"
        for row in rows:
            assert row.get("source") in ids, f"{name} [[{array}]] {row[key]} has no source"


def test_torch_releases_sorted_unique_and_sourced() -> None:
    document = read_data_file("torch_releases.toml")
    ids = _ids(document)
    versions = [Version(r["version"]) for r in document["release"]]
    assert versions == sorted(set(versions))
    for release in document["release"]:
        assert release["sources"], release["version"]
        assert set(release["sources"]) <= ids, release["version"]
        names = [v["name"] for v in release["variant"]]
        assert len(names) == len(set(names)), release["version"]
        for variant in release["variant"]:
            where = (release["version"], variant["name"])
            assert variant["sources"], where
            assert set(variant["sources"]) <= ids, where
            if "arch_list" in variant and variant["name"] != "cpu":
                assert variant["arch_from"] in ("measured", "build-script", "release-matrix")


def test_every_table_loads_through_its_validating_reader() -> None:
    assert cuda_releases()
    assert toolkit_releases()
    assert minor_compat()
    assert cudnn_support()
    assert nvcc_targets()
    assert torch_releases()
    assert all(a.version < b.version for a, b in pairwise(torch_releases()))
