"""The CUDA driver table, minor-version compatibility, cuDNN builds, and the refresh script.

Expected values are NVIDIA's, as cited in envcheck/knowledge/data/cuda_drivers.toml and
cudnn.toml; the tests restate the ones a rule relies on so that a bad refresh shows up here.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.version import Version

from envcheck.knowledge.cuda_tables import (
    cuda_releases,
    cuda_sources,
    cudnn_sources,
    cudnn_support,
    driver_runs_cuda,
    min_driver_for_cuda,
    minor_compat,
    minor_compat_floor,
    newest_cuda_for_driver,
    parse_cuda_releases,
    parse_cudnn_support,
    parse_minor_compat,
    toolkit_release,
)
from envcheck.knowledge.data_files import KnowledgeError
from envcheck.snapshot import DriverVersion
from tests.refresh_scripts import loaded_script

SOURCES = [{"id": "s", "title": "t", "url": "https://example.invalid/", "retrieved": "2026-11-22"}]


def one_below(driver: DriverVersion) -> DriverVersion:
    """The driver version just before `driver` in its last component ("550.54.14" -> .13)."""
    parts = [int(p) for p in driver.split(".")]
    assert parts[-1] > 0, f"no version just below {driver} in its last component"
    parts[-1] -= 1
    return DriverVersion(".".join(str(p) for p in parts))


# --- the data files load and have the documented shape ----------------------------------------


def test_every_file_cites_sources() -> None:
    for sources in (cuda_sources(), cudnn_sources()):
        assert sources
        for source in sources:
            assert source.url.startswith("https://")
            assert source.title
            assert source.retrieved


def test_cuda_releases_ascending_from_10_0_to_13() -> None:
    versions = [r.cuda for r in cuda_releases()]
    assert versions == sorted(set(versions))
    assert versions[0] == Version("10.0")
    assert versions[-1].major == 13
    # Every minor NVIDIA released from 10.0 to 12.9 (there was no 12.7), then 13.x.
    assert [str(v) for v in versions if v < Version("13")] == [
        "10.0", "10.1", "10.2", "11.0", "11.1", "11.2", "11.3", "11.4", "11.5", "11.6",
        "11.7", "11.8", "12.0", "12.1", "12.2", "12.3", "12.4", "12.5", "12.6", "12.8", "12.9",
    ]


def test_minimums_never_decrease_with_newer_cuda() -> None:
    releases = cuda_releases()
    for older, newer in pairwise(releases):
        assert older.min_linux.key <= newer.min_linux.key, (older, newer)


def test_minor_compat_for_11_12_13_and_none_for_10() -> None:
    assert [floor.major for floor in minor_compat()] == [11, 12, 13]
    assert minor_compat_floor(10) is None
    assert minor_compat_floor(11) == "450.80.02"
    assert minor_compat_floor(11, "windows") == "452.39"
    assert minor_compat_floor(12) == "525.60.13"
    assert minor_compat_floor(12, "windows") == "527.41"
    assert minor_compat_floor(13) == "580.65.06"
    assert minor_compat_floor(13, "windows") is None


# --- boundaries of the driver table ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cuda", "linux", "windows"),
    [
        ("10.0", "410.48", "411.31"),
        ("10.2", "440.33", "441.22"),
        ("11.0", "450.51.05", "451.48"),
        ("11.3", "465.19.01", "465.89"),
        ("11.8", "520.61.05", "520.06"),
        ("12.0", "525.60.13", "527.41"),
        ("12.2", "535.54.03", "536.25"),
        ("12.4", "550.54.14", "551.61"),
        ("12.8", "570.26", "570.65"),
        ("12.9", "575.51.03", "576.02"),
        ("13.0", "580.65.06", None),
        ("13.2", "595.45.04", None),
    ],
)
def test_documented_minimums(cuda: str, linux: str, windows: str | None) -> None:
    assert min_driver_for_cuda(Version(cuda)) == linux
    assert min_driver_for_cuda(Version(cuda), "windows") == windows


def test_lookup_uses_major_minor_only() -> None:
    assert min_driver_for_cuda(Version("12.4.1")) == "550.54.14"


@pytest.mark.parametrize("cuda", ["9.2", "12.7", "14.0"])
def test_cuda_missing_from_table_is_unknown(cuda: str) -> None:
    assert min_driver_for_cuda(Version(cuda)) is None
    assert driver_runs_cuda(DriverVersion("999.99"), Version(cuda)) == "unknown"


def test_exactly_the_minimum_runs_every_release() -> None:
    for release in cuda_releases():
        assert driver_runs_cuda(release.min_linux, release.cuda) == "yes", release
        if release.min_windows is not None:
            assert driver_runs_cuda(release.min_windows, release.cuda, "windows") == "yes"


def test_one_below_the_minimum_is_minor_compat_or_no_as_documented() -> None:
    for release in cuda_releases():
        below = one_below(release.min_linux)
        floor = minor_compat_floor(release.cuda.major)
        expected = "minor-compat" if floor is not None and below.key >= floor.key else "no"
        assert driver_runs_cuda(below, release.cuda) == expected, release


@pytest.mark.parametrize(
    ("driver", "cuda", "platform", "verdict"),
    [
        # A 460 driver runs a cu113 wheel: 11.3 wants 465.19.01, 11.x minor compat 450.80.02.
        ("460.32.03", "11.3", "linux", "minor-compat"),
        ("460.27.03", "11.3", "linux", "minor-compat"),
        ("465.19.01", "11.3", "linux", "yes"),
        ("450.80.02", "11.8", "linux", "minor-compat"),
        ("450.80.01", "11.8", "linux", "no"),
        # 11.0 shipped before the 11.x floor: its own GA minimum is below 450.80.02.
        ("450.51.05", "11.0", "linux", "yes"),
        ("450.36.06", "11.0", "linux", "no"),
        # CUDA 10 has no minor-version compatibility.
        ("440.33", "10.2", "linux", "yes"),
        ("418.39", "10.2", "linux", "no"),
        ("535.104.05", "12.4", "linux", "minor-compat"),
        ("525.60.13", "12.9", "linux", "minor-compat"),
        ("525.60.12", "12.0", "linux", "no"),
        ("550.54.13", "12.4", "linux", "minor-compat"),
        # A newer branch runs older releases (backward compatibility).
        ("580.65.06", "11.8", "linux", "yes"),
        ("580.95.05", "13.2", "linux", "minor-compat"),
        ("575.57.08", "13.0", "linux", "no"),
        ("551.61", "12.4", "windows", "yes"),
        ("531.14", "12.8", "windows", "minor-compat"),
        ("452.39", "11.8", "windows", "minor-compat"),
        # NVIDIA's table has no Windows driver for 13.x ("N/A").
        ("591.44", "13.1", "windows", "unknown"),
    ],
)
def test_driver_runs_cuda(driver: str, cuda: str, platform: Any, verdict: str) -> None:
    assert driver_runs_cuda(DriverVersion(driver), Version(cuda), platform) == verdict


@pytest.mark.parametrize(
    ("driver", "platform", "newest"),
    [
        ("535.104.05", "linux", "12.2"),
        ("550.54.15", "linux", "12.4"),
        ("550.54.14", "linux", "12.4"),
        ("550.54.13", "linux", "12.3"),
        ("410.48", "linux", "10.0"),
        ("470.57.02", "linux", "11.4"),
        ("580.65.06", "linux", "13.0"),
        ("551.78", "windows", "12.4"),
        # Windows minimums stop at 12.9; a 13.x-era Windows driver still gets 12.9.
        ("581.15", "windows", "12.9"),
    ],
)
def test_newest_cuda_for_driver(driver: str, platform: Any, newest: str) -> None:
    assert newest_cuda_for_driver(DriverVersion(driver), platform) == Version(newest)


def test_driver_older_than_every_release_has_no_cuda() -> None:
    assert newest_cuda_for_driver(DriverVersion("410.47")) is None


# --- validation at load -----------------------------------------------------------------------


def cuda_document(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"sources": SOURCES, "cuda": list(rows),
            "minor_compat": [{"major": 12, "min_linux": "525.60.13"}]}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"cuda": [{"cuda": "12.4", "min_linux": "550.54.14"}]}, "no `sources` list"),
        (cuda_document(), "non-empty list"),
        (cuda_document({"cuda": "12.4.1", "min_linux": "550.54.14"}), "cuda[0] ('12.4.1')"),
        (cuda_document({"cuda": "12.4", "min_linux": "550"}), "not an NVIDIA driver version"),
        (cuda_document({"cuda": "12.4"}), "`min_linux` is required"),
        (
            cuda_document({"cuda": "12.4", "min_linux": "550.54.14"},
                          {"cuda": "12.2", "min_linux": "535.54.03"}),
            "ascending",
        ),
        (
            cuda_document({"cuda": "12.4", "min_linux": "550.54.14"},
                          {"cuda": "12.4", "min_linux": "550.54.15"}),
            "ascending",
        ),
        (cuda_document({"cuda": "12.4", "min_linux": "550.54.14", "source": "x"}), "'x'"),
    ],
)
def test_bad_cuda_rows_name_file_and_entry(document: dict[str, Any], message: str) -> None:
    with pytest.raises(KnowledgeError, match=r"cuda_drivers\.toml") as raised:
        parse_cuda_releases(document)
    assert message in str(raised.value)


def test_minor_compat_major_listed_twice() -> None:
    document = cuda_document()
    document["minor_compat"] *= 2
    with pytest.raises(KnowledgeError, match=r"minor_compat\[1\].*listed twice"):
        parse_minor_compat(document)


# --- cuDNN ------------------------------------------------------------------------------------


def test_cudnn_rows_ascending_from_8_0_to_9() -> None:
    versions = [row.cudnn for row in cudnn_support()]
    assert versions == sorted(set(versions))
    assert versions[0] == Version("8.0")
    assert versions[-1].major == 9


@pytest.mark.parametrize(
    ("cudnn", "majors"),
    [("8.0", (10, 11)), ("8.9", (11, 12)), ("9.10", (11, 12)), ("9.17", (12, 13))],
)
def test_cudnn_cuda_majors(cudnn: str, majors: tuple[int, ...]) -> None:
    row = next(r for r in cudnn_support() if r.cudnn == Version(cudnn))
    assert row.cuda_majors == majors


def test_bad_cudnn_majors_are_rejected() -> None:
    document = {"sources": SOURCES, "cudnn": [{"cudnn": "9.1", "cuda_majors": [12, 11]}]}
    with pytest.raises(KnowledgeError, match=r"cudnn.toml: cudnn\[0\] \('9.1'\)"):
        parse_cudnn_support(document)


# --- scripts/refresh_cuda_tables.py -----------------------------------------------------------

# Shaped like the release notes page (Sphinx HTML): Table 2 precedes Table 3, the Linux and
# Windows headers sit in a second header row under a rowspan, cells wrap their text in <p>
# and write ">=" as "&gt;=", sometimes with a space; 13.x rows say "N/A" for Windows.
RELEASE_NOTES_FRAGMENT = """
<table class="table-no-stripes docutils align-default" id="id6">
<caption><span class="caption-number">Table 2 </span><span class="caption-text">CUDA Toolkit
and Minimum Required Driver Version for CUDA Minor Version Compatibility</span></caption>
<tbody><tr class="row-odd"><td><p>12.x</p></td><td><p>&gt;= 525</p></td>
<td><p>&lt; 580</p></td></tr></tbody></table>
<table class="table-no-stripes docutils align-default" id="id7">
<caption><span class="caption-number">Table 3 </span><span class="caption-text">CUDA Toolkit
and Corresponding Driver Versions</span><a class="headerlink" href="#id7">#</a></caption>
<thead>
<tr class="row-odd"><th class="head" rowspan="2"><p>CUDA Toolkit</p></th>
<th class="head" colspan="2"><p>Toolkit Driver Version</p></th></tr>
<tr class="row-even"><th class="head"><p>Linux x86_64 Driver Version</p></th>
<th class="head"><p>Windows x86_64 Driver Version</p></th></tr>
</thead>
<tbody>
<tr class="row-odd"><td><p>CUDA 13.0 Update 1</p></td><td><p>&gt;=580.82.07</p></td>
<td><p>N/A</p></td></tr>
<tr class="row-even"><td><p>CUDA 13.0 GA</p></td><td><p>&gt;=580.65.06</p></td>
<td><p>N/A</p></td></tr>
<tr class="row-odd"><td><p>CUDA 12.4 Update 1</p></td><td><p>&gt;=550.54.15</p></td>
<td><p>&gt;=551.78</p></td></tr>
<tr class="row-even"><td><p>CUDA 12.4 GA</p></td><td><p>&gt;=550.54.14</p></td>
<td><p>&gt;=551.61</p></td></tr>
<tr class="row-odd"><td><p>CUDA 11.0.3 Update 1</p></td><td><p>&gt;= 450.51.06</p></td>
<td><p>&gt;= 451.82</p></td></tr>
<tr class="row-even"><td><p>CUDA 11.0.2 GA</p></td><td><p>&gt;= 450.51.05</p></td>
<td><p>&gt;= 451.48</p></td></tr>
<tr class="row-odd"><td><p>CUDA 11.0.1 RC</p></td><td><p>&gt;= 450.36.06</p></td>
<td><p>&gt;= 451.22</p></td></tr>
<tr class="row-even"><td><p>CUDA 10.1 (10.1.105 general release, and updates)</p></td>
<td><p>&gt;= 418.39</p></td><td><p>&gt;= 418.96</p></td></tr>
<tr class="row-odd"><td><p>CUDA 9.2 (9.2.148 Update 1)</p></td><td><p>&gt;= 396.37</p></td>
<td><p>&gt;= 398.26</p></td></tr>
<tr class="row-even"><td><p>CUDA 9.2 (9.2.88)</p></td><td><p>&gt;= 396.26</p></td>
<td><p>&gt;= 397.44</p></td></tr>
</tbody></table>
"""


@pytest.fixture(scope="module")
def refresh() -> Iterator[ModuleType]:
    with loaded_script("refresh_cuda_tables") as module:
        yield module


def test_parse_driver_table_reads_table_3_rows(refresh: ModuleType) -> None:
    rows = refresh.parse_driver_table(RELEASE_NOTES_FRAGMENT)
    assert [(r.label, r.linux, r.windows) for r in rows[:3]] == [
        ("CUDA 13.0 Update 1", "580.82.07", None),
        ("CUDA 13.0 GA", "580.65.06", None),
        ("CUDA 12.4 Update 1", "550.54.15", "551.78"),
    ]
    assert len(rows) == 10


def test_ga_entries_keep_the_ga_row_of_each_minor(refresh: ModuleType) -> None:
    rows = refresh.parse_driver_table(RELEASE_NOTES_FRAGMENT)
    entries = refresh.ga_entries(rows, Version("10.0"))
    assert [(str(e.cuda), e.min_linux, e.min_windows) for e in entries] == [
        ("10.1", "418.39", "418.96"),
        ("11.0", "450.51.05", "451.48"),
        ("12.4", "550.54.14", "551.61"),
        ("13.0", "580.65.06", None),
    ]


def test_fragment_agrees_with_the_shipped_table(refresh: ModuleType) -> None:
    rows = refresh.parse_driver_table(RELEASE_NOTES_FRAGMENT)
    for entry in refresh.ga_entries(rows, Version("10.0")):
        assert min_driver_for_cuda(entry.cuda) == entry.min_linux
        assert min_driver_for_cuda(entry.cuda, "windows") == entry.min_windows


def test_page_without_the_table_is_an_error(refresh: ModuleType) -> None:
    with pytest.raises(ValueError, match="no table captioned"):
        refresh.parse_driver_table("<table><caption>Table 1</caption></table>")


def test_write_replaces_only_the_generated_block(refresh: ModuleType, tmp_path: Path) -> None:
    page = tmp_path / "notes.html"
    page.write_text(RELEASE_NOTES_FRAGMENT, encoding="utf-8")
    data = tmp_path / "cuda_drivers.toml"
    data.write_text(
        '# kept\n# BEGIN cuda\n[[cuda]]\ncuda = "12.4"\nmin_linux = "550.54.13"\n# END cuda\n'
        '[[minor_compat]]\nmajor = 12\nmin_linux = "525.60.13"\n',
        encoding="utf-8",
    )
    assert refresh.main([str(page), "--data", str(data), "--write"]) == 0
    text = data.read_text(encoding="utf-8")
    assert text.startswith("# kept\n# BEGIN cuda")
    assert 'min_linux = "550.54.14"' in text
    assert "550.54.13" not in text
    assert text.endswith('# END cuda\n[[minor_compat]]\nmajor = 12\nmin_linux = "525.60.13"\n')


def test_differences_report_changed_and_new_rows(refresh: ModuleType) -> None:
    rows = refresh.parse_driver_table(RELEASE_NOTES_FRAGMENT)
    entries = refresh.ga_entries(rows, Version("12.0"))
    old = {e.cuda: e for e in entries[:1]}
    old[Version("12.3")] = refresh.CudaEntry(cuda=Version("12.3"), min_linux="545.23.06",
                                             min_windows="545.84")
    report = refresh.differences(old, entries)
    assert report == [
        "new      13.0: linux >= 580.65.06, windows >= N/A",
        "absent   12.3: in the data file, not in the saved page's table",
    ]


def test_toolkit_entries_name_each_update_by_the_release_it_installs(
        refresh: ModuleType) -> None:
    rows = refresh.parse_driver_table(RELEASE_NOTES_FRAGMENT)
    entries = refresh.toolkit_entries(rows)
    assert [(str(e.release), e.update, e.min_linux, e.min_windows) for e in entries] == [
        ("11.0.2", 0, "450.51.05", "451.48"),
        ("11.0.3", 1, "450.51.06", "451.82"),
        ("12.4.0", 0, "550.54.14", "551.61"),
        ("12.4.1", 1, "550.54.15", "551.78"),
        ("13.0.0", 0, "580.65.06", None),
        ("13.0.1", 1, "580.82.07", None),
    ]


def test_fragment_updates_agree_with_the_shipped_toolkit_rows(refresh: ModuleType) -> None:
    rows = refresh.parse_driver_table(RELEASE_NOTES_FRAGMENT)
    for entry in refresh.toolkit_entries(rows):
        shipped = toolkit_release(entry.release)
        assert shipped is not None, entry.release
        assert (shipped.update, shipped.min_linux, shipped.min_windows) == (
            entry.update, entry.min_linux, entry.min_windows)


def test_write_rewrites_the_toolkit_block_too(refresh: ModuleType, tmp_path: Path) -> None:
    page = tmp_path / "notes.html"
    page.write_text(RELEASE_NOTES_FRAGMENT, encoding="utf-8")
    data = tmp_path / "cuda_drivers.toml"
    data.write_text(
        '# BEGIN cuda\n# END cuda\n# BEGIN toolkit\n[[toolkit]]\nrelease = "12.4.1"\n'
        'update = 1\nmin_linux = "1.2"\nsource = "x"\n# END toolkit\n# kept\n',
        encoding="utf-8")
    assert refresh.main([str(page), "--data", str(data), "--write", "--source", "y"]) == 0
    text = data.read_text(encoding="utf-8")
    assert 'release = "11.0.3"\nupdate = 1\nmin_linux = "450.51.06"' in text
    assert 'min_linux = "1.2"' not in text
    assert 'source = "y"' in text
    assert text.endswith("# END toolkit\n# kept\n")


def test_nvcc_listing_is_compared_with_the_targets_table(refresh: ModuleType,
                                                        tmp_path: Path) -> None:
    listing = "sm_75\nsm_80\nsm_90\nsm_90a\n"
    assert refresh.nvcc_targets_reported(listing) == [75, 80, 90]
    data = tmp_path / "nvcc_targets.toml"
    data.write_text('[[nvcc]]\ncuda = "13.0"\nsm = [75, 80]\nsource = "s"\n', encoding="utf-8")
    assert refresh.check_nvcc(listing, Version("13.0"), data) == [
        "changed  13.0: sm [75, 80] -> [75, 80, 90]"]
    assert refresh.check_nvcc(listing, Version("13.1"), data) == [
        "new      13.1: sm = [75, 80, 90]"]
