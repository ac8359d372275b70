"""The in-target probe's pure parts: torch/version.py and the fatbinary reader."""

from __future__ import annotations

import struct
from pathlib import Path

from envcheck.probe.envprobe import fatbin_architectures, parse_torch_version_py

TORCH_2_5_VERSION_PY = """\
from typing import Optional

__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip']
__version__ = '2.5.1+cu124'
debug = False
cuda: Optional[str] = '12.4'
git_version = 'a8d6afb511a69687bbb2b7e88a3cf67917e1697e'
hip: Optional[str] = None
"""

TORCH_1_13_VERSION_PY = """\
__version__ = '1.13.1+cu117'
debug = False
cuda = '11.7'
git_version = '49444c3e546bf240bed24a101e747422d1f8a0ee'
hip = None
"""


def test_version_py_of_a_cuda_build() -> None:
    assert parse_torch_version_py(TORCH_2_5_VERSION_PY) == {
        "version": "2.5.1+cu124", "cuda": "12.4", "hip": None,
        "git": "a8d6afb511a69687bbb2b7e88a3cf67917e1697e"}


def test_version_py_of_an_old_build_without_annotations() -> None:
    facts = parse_torch_version_py(TORCH_1_13_VERSION_PY)
    assert facts["version"] == "1.13.1+cu117"
    assert facts["cuda"] == "11.7"


def test_version_py_of_a_cpu_build() -> None:
    facts = parse_torch_version_py("__version__ = '2.13.0+cpu'\ncuda: Optional[str] = None\n")
    assert facts == {"version": "2.13.0+cpu", "cuda": None}


def _elf_with_section(name: bytes, payload: bytes) -> bytes:
    """A minimal 64-bit little-endian ELF: header, payload, shstrtab, three sections."""
    shstrtab = b"\0" + name + b"\0.shstrtab\0"
    payload_offset = 64
    strtab_offset = payload_offset + len(payload)
    shoff = strtab_offset + len(shstrtab)
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x28, shoff)
    struct.pack_into("<HHH", header, 0x3A, 64, 3, 2)
    null_section = bytes(64)
    data_section = bytearray(64)
    struct.pack_into("<I", data_section, 0, 1)
    struct.pack_into("<QQ", data_section, 24, payload_offset, len(payload))
    str_section = bytearray(64)
    struct.pack_into("<I", str_section, 0, 2 + len(name))
    struct.pack_into("<QQ", str_section, 24, strtab_offset, len(shstrtab))
    return bytes(header) + payload + shstrtab + null_section + bytes(data_section) + bytes(
        str_section)


def _entry(kind: int, arch: int, payload: int = 8) -> bytes:
    header = bytearray(64)
    struct.pack_into("<HHIQ", header, 0, kind, 0x101, 64, payload)
    struct.pack_into("<I", header, 28, arch)
    return bytes(header) + bytes(payload)


def _container(*entries: bytes) -> bytes:
    body = b"".join(entries)
    return struct.pack("<IHHQ", 0xBA55ED50, 1, 16, len(body)) + body


def test_fatbin_entries_across_containers(tmp_path: Path) -> None:
    payload = _container(_entry(2, 80), _entry(2, 90)) + _container(
        _entry(2, 120), _entry(1, 120), _entry(2, 80))
    library = tmp_path / "libfake.so"
    library.write_bytes(_elf_with_section(b".nv_fatbin", payload))
    assert fatbin_architectures(str(library)) == ["sm_80", "sm_90", "sm_120", "compute_120"]


def test_library_without_fatbin_section_has_no_archs(tmp_path: Path) -> None:
    library = tmp_path / "libplain.so"
    library.write_bytes(_elf_with_section(b".text", b"\x90" * 32))
    assert fatbin_architectures(str(library)) == []


def test_non_elf_file_has_no_archs(tmp_path: Path) -> None:
    library = tmp_path / "notelf.so"
    library.write_bytes(b"#!/bin/sh\necho hi\n")
    assert fatbin_architectures(str(library)) == []
