"""parse_proc_driver_version on recorded /proc/driver/nvidia/version files."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envcheck.errors import ParseError
from envcheck.parsers.proc_driver_version import parse_proc_driver_version
from envcheck.snapshot import DriverVersion

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("proc-open-565-x86_64", DriverVersion("565.57.01")),
        ("proc-open-525-arch", DriverVersion("525.60.11")),
        ("proc-open-jetson-aarch64", DriverVersion("35.3.1")),
        ("proc-proprietary-580-mismatch", DriverVersion("580.173.02")),
    ],
)
def test_recorded_files(scenario: str, expected: DriverVersion) -> None:
    text = (DATA / scenario / "proc-driver-nvidia-version.txt").read_text()
    assert parse_proc_driver_version(text) == expected


# Synthetic, not recorded: shapes quoted in code comments and test strings of other projects,
# for which no complete recorded file was found.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC"
            " 2024\n",
            DriverVersion("550.54.15"),
        ),
        ("NVRM version: NVIDIA UNIX aarch64 Kernel Module  550.120  Fri Sep 13 11:01:10 UTC 2024\n",
         DriverVersion("550.120")),
        ("NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  550.54.15  Release Build\n",
         DriverVersion("550.54.15")),
        ("NVRM version: NVIDIA UNIX Kernel Module for aarch64  34.1.1  Release Build  (b@h)\n",
         DriverVersion("34.1.1")),
        ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15", DriverVersion("550.54.15")),
    ],
)
def test_synthetic_shapes(text: str, expected: DriverVersion) -> None:
    assert parse_proc_driver_version(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "cat: /proc/driver/nvidia/version: No such file or directory\n",
        "GCC version:  gcc version 13.3.0\n",
        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64 malformed\n",
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15beta  Tue\n",
    ],
)
def test_garbage_raises_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="expected /proc/driver/nvidia/version"):
        parse_proc_driver_version(text)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_only_parse_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        parse_proc_driver_version(text)


@settings(max_examples=200, deadline=None)
@given(
    scenario=st.sampled_from(
        ["proc-open-565-x86_64", "proc-open-525-arch", "proc-open-jetson-aarch64",
         "proc-proprietary-580-mismatch"]
    ),
    cut=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    insert=st.text(max_size=8),
)
def test_mutated_files_raise_only_parse_error(
    scenario: str, cut: tuple[float, float], insert: str
) -> None:
    text = (DATA / scenario / "proc-driver-nvidia-version.txt").read_text()
    start, end = sorted(int(fraction * len(text)) for fraction in cut)
    with contextlib.suppress(ParseError):
        parse_proc_driver_version(text[:start] + insert + text[end:])
