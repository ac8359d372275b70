"""parse_nvcc_version and parse_nvcc_top on recorded nvcc output."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from envcheck.errors import ParseError
from envcheck.parsers.nvcc_version import parse_nvcc_top, parse_nvcc_version

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.mark.parametrize(
    ("scenario", "release", "build"),
    [
        ("debian12-cuda13-nogpu", Version("13.0"), "V13.0.88"),
        ("nvcc-cuda11.0", Version("11.0"), "V11.0.194"),
        ("nvcc-cuda10.1", Version("10.1"), "V10.1.243"),
    ],
)
def test_recorded_nvcc_version(scenario: str, release: Version, build: str) -> None:
    text = (DATA / scenario / "nvcc-version.txt").read_text()
    assert parse_nvcc_version(text) == (release, build)


def test_synthetic_release_without_build_token() -> None:
    # Synthetic: a release line cut after the release number.
    assert parse_nvcc_version("Cuda compilation tools, release 12.4\n") == (Version("12.4"), None)


@pytest.mark.parametrize(
    "text",
    ["", "bash: nvcc: command not found\n", "nvcc: NVIDIA (R) Cuda compiler driver\n"],
)
def test_garbage_raises_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="expected `nvcc --version` output"):
        parse_nvcc_version(text)


def test_recorded_dryrun_top_is_normalised() -> None:
    text = (DATA / "debian12-cuda13-nogpu" / "nvcc-dryrun.txt").read_text()
    assert parse_nvcc_top(text) == "/usr/local/cuda-13.0"


@pytest.mark.parametrize("text", ["", "#$ _HERE_=/usr/local/cuda/bin\n", "#$ TOP=\n"])
def test_dryrun_without_top(text: str) -> None:
    assert parse_nvcc_top(text) is None
