"""The arch list the table records for torch 2.14.1's cu130 build, against the real wheel
from the machine's mirror (installed without its dependencies, so torch is not imported):
the TORCH_CUDA_ARCH_LIST string compiled into libtorch_python.so, which
torch._C._cuda_getArchFlags() returns and torch.cuda.get_arch_list() splits."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.version import Version

from envcheck.knowledge.torch_tables import find_variant

_FLAGS = re.compile(rb"(?:sm|compute)_\d+(?: (?:sm|compute)_\d+)+")


def test_table_arch_list_is_what_the_wheel_was_built_with(torch_cuda_python: Path) -> None:
    site = next(torch_cuda_python.parent.parent.glob("lib/python3*/site-packages"))
    metadata = next(site.glob("torch-*.dist-info")) / "METADATA"
    version = re.search(r"^Version: (\S+)$", metadata.read_text(), re.M)
    assert version is not None
    library = (site / "torch" / "lib" / "libtorch_python.so").read_bytes()
    flags = {m.group(0).decode() for m in _FLAGS.finditer(library)}
    assert len(flags) == 1, flags
    found = find_variant(Version(version.group(1)))
    assert found is not None, version.group(1)
    _release, variant = found
    assert variant.arch_source == "measured"
    assert " ".join(variant.arch_list) == flags.pop()
