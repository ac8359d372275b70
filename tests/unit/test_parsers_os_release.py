"""parse_os_release and parse_meminfo on recorded files."""

from __future__ import annotations

from pathlib import Path

from envcheck.parsers.os_release import parse_meminfo, parse_os_release

DATA = Path(__file__).resolve().parent.parent / "data"


def test_recorded_debian12_os_release() -> None:
    fields = parse_os_release((DATA / "debian12-cuda13-nogpu" / "os-release.txt").read_text())

    assert fields["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"
    assert fields["ID"] == "debian"
    assert fields["VERSION_ID"] == "12"
    assert fields["VERSION_CODENAME"] == "bookworm"
    assert fields["HOME_URL"] == "https://www.debian.org/"


def test_synthetic_quoting_per_os_release_5() -> None:
    # Synthetic: the quoting rules of os-release(5), one per line.
    text = (
        "# a comment\n"
        "\n"
        "NAME='Single Quoted'\n"
        'PRETTY_NAME="Say \\"hi\\" \\$HOME \\\\ `x`"\n'
        "ID=ubuntu\n"
        "ID_LIKE=debian\n"
        'EMPTY=""\n'
        "BROKEN=\"unterminated\n"
        "not an assignment\n"
        "1BAD=x\n"
    )
    assert parse_os_release(text) == {
        "NAME": "Single Quoted",
        "PRETTY_NAME": 'Say "hi" $HOME \\ `x`',
        "ID": "ubuntu",
        "ID_LIKE": "debian",
        "EMPTY": "",
        "BROKEN": '"unterminated',
    }


def test_recorded_meminfo_in_mib() -> None:
    text = (DATA / "debian12-cuda13-nogpu" / "meminfo.txt").read_text()
    # MemTotal: 24684096 kB, MemAvailable: 24118512 kB in the recorded file
    assert parse_meminfo(text) == (24684096 // 1024, 24118512 // 1024)


def test_meminfo_without_available_or_garbage() -> None:
    # Synthetic: kernels before 3.14 have no MemAvailable line.
    assert parse_meminfo("MemTotal:        2048000 kB\nMemFree:  100 kB\n") == (2000, None)
    assert parse_meminfo("") == (None, None)
