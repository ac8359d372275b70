"""Every CUDA toolkit release (GA and update) and what each nvcc compiles for.

The expected rows restate the cited sources row by row: NVIDIA's "CUDA Toolkit and
Corresponding Driver Versions" table (13.4 Update 1 edition for 11.0 to 12.9; the 13.x rows
from the copies cited in cuda_drivers.toml) and the architecture lists of nvcc_targets.toml's
sources, so a refresh that changes a number shows up here.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from packaging.version import Version

from envcheck.knowledge.cuda_tables import (
    cuda_releases,
    cuda_sources,
    newest_toolkit_for_driver,
    parse_toolkit_releases,
    toolkit_release,
    toolkit_releases,
    toolkit_updates,
)
from envcheck.knowledge.data_files import KnowledgeError
from envcheck.knowledge.nvcc_targets import (
    dropped_by,
    highest_for,
    nvcc_reach,
    nvcc_sources,
    nvcc_targets,
    parse_nvcc_targets,
    targets_for,
)
from envcheck.snapshot import DriverVersion

# NVIDIA's table as printed: label, Linux x86_64, Windows x86_64 (None = N/A or not in the
# copies read). 11.0.1 RC is not a release and is left out.
NVIDIA_TABLE: list[tuple[str, str, str | None]] = [
    ("CUDA 11.0.2 GA", "450.51.05", "451.48"),
    ("CUDA 11.0.3 Update 1", "450.51.06", "451.82"),
    ("CUDA 11.1 GA", "455.23", "456.38"),
    ("CUDA 11.1.1 Update 1", "455.32", "456.81"),
    ("CUDA 11.2.0 GA", "460.27.03", "460.82"),
    ("CUDA 11.2.1 Update 1", "460.32.03", "461.09"),
    ("CUDA 11.2.2 Update 2", "460.32.03", "461.33"),
    ("CUDA 11.3.0 GA", "465.19.01", "465.89"),
    ("CUDA 11.3.1 Update 1", "465.19.01", "465.89"),
    ("CUDA 11.4.0 GA", "470.42.01", "471.11"),
    ("CUDA 11.4 Update 1", "470.57.02", "471.41"),
    ("CUDA 11.4 Update 2", "470.57.02", "471.41"),
    ("CUDA 11.4 Update 3", "470.82.01", "472.50"),
    ("CUDA 11.4 Update 4", "470.82.01", "472.50"),
    ("CUDA 11.5 GA", "495.29.05", "496.04"),
    ("CUDA 11.5 Update 1", "495.29.05", "496.13"),
    ("CUDA 11.5 Update 2", "495.29.05", "496.13"),
    ("CUDA 11.6 GA", "510.39.01", "511.23"),
    ("CUDA 11.6 Update 1", "510.47.03", "511.65"),
    ("CUDA 11.6 Update 2", "510.47.03", "511.65"),
    ("CUDA 11.7 GA", "515.43.04", "516.01"),
    ("CUDA 11.7 Update 1", "515.48.07", "516.31"),
    ("CUDA 11.8 GA", "520.61.05", "520.06"),
    ("CUDA 12.0 GA", "525.60.13", "527.41"),
    ("CUDA 12.0 Update 1", "525.85.12", "528.33"),
    ("CUDA 12.1 GA", "530.30.02", "531.14"),
    ("CUDA 12.1 Update 1", "530.30.02", "531.14"),
    ("CUDA 12.2 GA", "535.54.03", "536.25"),
    ("CUDA 12.2 Update 1", "535.86.09", "536.67"),
    ("CUDA 12.2 Update 2", "535.104.05", "537.13"),
    ("CUDA 12.3 GA", "545.23.06", "545.84"),
    ("CUDA 12.3 Update 1", "545.23.08", "546.12"),
    ("CUDA 12.4 GA", "550.54.14", "551.61"),
    ("CUDA 12.4 Update 1", "550.54.15", "551.78"),
    ("CUDA 12.5 GA", "555.42.02", "555.85"),
    ("CUDA 12.5 Update 1", "555.42.06", "555.85"),
    ("CUDA 12.6 GA", "560.28.03", "560.76"),
    ("CUDA 12.6 Update 1", "560.35.03", "560.94"),
    ("CUDA 12.6 Update 2", "560.35.03", "560.94"),
    ("CUDA 12.6 Update 3", "560.35.05", "561.17"),
    ("CUDA 12.8 GA", "570.26", "570.65"),
    ("CUDA 12.8 Update 1", "570.124.06", "572.61"),
    ("CUDA 12.9 GA", "575.51.03", "576.02"),
    ("CUDA 12.9 Update 1", "575.57.08", "576.57"),
    ("CUDA 13.0 GA", "580.65.06", None),
    ("CUDA 13.0 Update 1", "580.82.07", None),
    ("CUDA 13.0 Update 2", "580.95.05", None),
    ("CUDA 13.1 GA", "590.44.01", None),
    ("CUDA 13.1 Update 1", "590.48.01", None),
    ("CUDA 13.2 GA", "595.45.04", None),
    ("CUDA 13.2 Update 1", "595.58.03", None),
    ("CUDA 13.3 GA", "610.43.02", None),
    ("CUDA 13.3 Update 1", "610.43.02", None),
]

# The version each table label installs (11.0's GA is 11.0.2, its Update 1 11.0.3).
RELEASES = [
    "11.0.2", "11.0.3", "11.1.0", "11.1.1", "11.2.0", "11.2.1", "11.2.2", "11.3.0", "11.3.1",
    "11.4.0", "11.4.1", "11.4.2", "11.4.3", "11.4.4", "11.5.0", "11.5.1", "11.5.2", "11.6.0",
    "11.6.1", "11.6.2", "11.7.0", "11.7.1", "11.8.0", "12.0.0", "12.0.1", "12.1.0", "12.1.1",
    "12.2.0", "12.2.1", "12.2.2", "12.3.0", "12.3.1", "12.4.0", "12.4.1", "12.5.0", "12.5.1",
    "12.6.0", "12.6.1", "12.6.2", "12.6.3", "12.8.0", "12.8.1", "12.9.0", "12.9.1", "13.0.0",
    "13.0.1", "13.0.2", "13.1.0", "13.1.1", "13.2.0", "13.2.1", "13.3.0", "13.3.1",
]


def _short(label: str) -> str:
    """NVIDIA's labels spell some rows with the patch ("CUDA 11.2.0 GA"): compare by kind."""
    words = label.split()
    minor = ".".join(words[1].split(".")[:2])
    return f"CUDA {minor} {' '.join(words[2:])}"


def test_every_toolkit_release_row_by_row() -> None:
    rows = toolkit_releases()
    assert [str(r.release) for r in rows] == RELEASES
    assert [(r.label, r.min_linux, r.min_windows) for r in rows] == [
        (_short(label), linux, windows) for label, linux, windows in NVIDIA_TABLE
    ]


def test_rows_are_sorted_unique_and_each_cites_a_known_source() -> None:
    rows = toolkit_releases()
    assert all(a.release < b.release for a, b in pairwise(rows))
    known = {"cuda-release-notes", "cuda-release-notes-13.3", "cuda-release-notes-13.4",
             "cuda-13x-linux-thresholds"}
    assert {r.source for r in rows} <= known
    titles = " ".join(s.title for s in cuda_sources())
    assert "13.4 Update 1" in titles


def test_ga_rows_agree_with_the_minor_table() -> None:
    ga = {r.cuda: r for r in toolkit_releases() if r.update == 0}
    minors = [r for r in cuda_releases() if r.cuda >= Version("11.0")]
    assert [r.cuda for r in minors] == sorted(ga)
    for release in minors:
        assert (ga[release.cuda].min_linux, ga[release.cuda].min_windows) == (
            release.min_linux, release.min_windows), release.cuda


def test_update_lookup_answers_each_update_its_own_minimum() -> None:
    update = toolkit_release(Version("12.2.2"))
    assert update is not None
    assert (update.label, update.min_linux, update.min_windows) == (
        "CUDA 12.2 Update 2", "535.104.05", "537.13")
    assert [str(r.release) for r in toolkit_updates(Version("12.2"))] == [
        "12.2.0", "12.2.1", "12.2.2"]
    # Released, but not in NVIDIA's table: no row rather than a neighbour's.
    assert toolkit_release(Version("12.3.2")) is None
    assert toolkit_release(Version("11.0.0")) is None


def _document(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"sources": [{"id": "s", "title": "t", "url": "https://x.invalid", "retrieved": "d"}],
            "toolkit": list(rows)}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"release": "12.2.2", "update": 0, "min_linux": "535.104.05"}], "`source` is required"),
        ([{"release": "12.2", "update": 0, "min_linux": "535.54.03", "source": "s"}],
         "major.minor.patch"),
        ([{"release": "12.2.1", "update": 1, "min_linux": "535.86.09", "source": "s"}],
         "not its GA"),
        ([{"release": "12.2.0", "update": 0, "min_linux": "535.54.03", "source": "s"},
          {"release": "12.2.1", "update": 0, "min_linux": "535.86.09", "source": "s"}],
         "update 0 follows"),
        ([{"release": "12.2.1", "update": 0, "min_linux": "535.86.09", "source": "s"},
          {"release": "12.2.0", "update": 1, "min_linux": "535.54.03", "source": "s"}],
         "ascending"),
        ([{"release": "12.2.0", "update": 0, "min_linux": "535.54.03", "source": "other"}],
         "'other'"),
    ],
)
def test_bad_toolkit_rows_are_refused(rows: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(KnowledgeError, match=r"cuda_drivers\.toml") as raised:
        parse_toolkit_releases(_document(*rows))
    assert message in str(raised.value)


# --- nvcc targets -------------------------------------------------------------------------

# CMakeCUDAArchitecturesAll.cmake @031593de for 11.0 to 12.9; nvcc 13.0.88's own
# --list-gpu-code for 13.0 (checked against the real nvcc in tests/integration).
EXPECTED_TARGETS = {
    # CMake's table: 9.0 drops sm_20/21, 10.0 adds sm_75, 11.0 adds sm_80 and drops sm_30
    "10.0": [30, 35, 37, 50, 52, 53, 60, 61, 62, 70, 72, 75],
    "10.2": [30, 35, 37, 50, 52, 53, 60, 61, 62, 70, 72, 75],
    "11.0": [35, 37, 50, 52, 53, 60, 61, 62, 70, 72, 75, 80],
    "11.1": [35, 37, 50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86],
    "11.4": [35, 37, 50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87],
    "11.8": [35, 37, 50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90],
    "12.0": [50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90],
    "12.6": [50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90],
    "12.8": [50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90, 100, 101, 120],
    "12.9": [50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90, 100, 101, 103, 120, 121],
    "13.0": [75, 80, 86, 87, 88, 89, 90, 100, 103, 110, 120, 121],
}


@pytest.mark.parametrize(("cuda", "sm"), sorted(EXPECTED_TARGETS.items()))
def test_nvcc_targets_per_toolkit(cuda: str, sm: list[int]) -> None:
    row = targets_for(Version(cuda))
    assert row is not None
    assert list(row.sm) == sm


def test_nvcc_table_covers_every_minor_from_10_0_to_13_0() -> None:
    minors = [str(r.cuda) for r in nvcc_targets()]
    assert minors == [str(r.cuda) for r in cuda_releases()
                      if Version("10.0") <= r.cuda <= Version("13.0")]
    assert all(s.title for s in nvcc_sources())
    assert targets_for(Version("13.2")) is None  # not read anywhere: unknown, not 13.0's


def test_blackwell_needs_12_8_and_cuda_13_drops_maxwell_pascal_volta() -> None:
    assert highest_for(Version("12.6")) == 90
    assert highest_for(Version("12.8")) == 120
    assert dropped_by(Version("13.0")) == (50, 52, 53, 60, 61, 62, 70, 72, 101)
    assert dropped_by(Version("12.0")) == (35, 37)
    row = targets_for(Version("13.0"))
    assert row is not None
    assert (row.lowest, row.highest) == (75, 121)


@pytest.mark.parametrize(
    ("cuda", "capability", "reach"),
    [
        ("13.0", "6.1", "none"),          # GTX 1080 Ti: every 13.0 target is newer
        ("13.0", "7.0", "none"),          # V100
        ("13.0", "7.5", "machine-code"),  # T4
        ("12.6", "12.0", "ptx-only"),     # RTX 5090: compute_90 PTX at best
        ("12.8", "12.0", "machine-code"),
        ("12.8", "8.9", "machine-code"),
        ("11.7", "8.9", "machine-code"),  # sm_86 cubins run on 8.9 (same major)
        ("11.7", "9.0", "ptx-only"),
        ("12.9", "12.1", "machine-code"),
    ],
)
def test_nvcc_reach(cuda: str, capability: str, reach: str) -> None:
    row = targets_for(Version(cuda))
    assert row is not None
    assert nvcc_reach(row, capability) == reach


def test_bad_nvcc_rows_are_refused() -> None:
    sources = [{"id": "s", "title": "t", "url": "u", "retrieved": "d"}]
    with pytest.raises(KnowledgeError, match="ascending distinct"):
        parse_nvcc_targets({"sources": sources, "nvcc": [
            {"cuda": "12.0", "sm": [90, 80], "source": "s"}]})
    with pytest.raises(KnowledgeError, match="`source`"):
        parse_nvcc_targets({"sources": sources, "nvcc": [{"cuda": "12.0", "sm": [80]}]})
    with pytest.raises(KnowledgeError, match="ascend"):
        parse_nvcc_targets({"sources": sources, "nvcc": [
            {"cuda": "12.1", "sm": [80], "source": "s"},
            {"cuda": "12.0", "sm": [80], "source": "s"}]})


@pytest.mark.parametrize(
    ("driver", "platform", "newest"),
    [
        ("535.86.09", "linux", "12.2.1"),    # 12.2 Update 2 needs 535.104.05
        ("535.104.05", "linux", "12.2.2"),
        ("570.86.10", "linux", "12.8.0"),    # 12.8 Update 1 needs 570.124.06
        ("580.95.05", "linux", "13.0.2"),
        ("537.13", "windows", "12.2.2"),
        ("450.51.05", "linux", "11.0.2"),
    ],
)
def test_newest_toolkit_release_a_driver_meets(driver: str, platform: Any, newest: str) -> None:
    release = newest_toolkit_for_driver(DriverVersion(driver), platform)
    assert release is not None
    assert str(release.release) == newest
    assert newest_toolkit_for_driver(DriverVersion("450.36.06")) is None
