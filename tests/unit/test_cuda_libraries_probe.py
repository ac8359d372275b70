from __future__ import annotations

from pathlib import Path

from envcheck.probes.cuda_libraries import identify_libraries, loader_libraries
from envcheck.probes.python_env import RawLibrary
from tests.fakes import FakeRunner, make_host, ok, write_tree

LDCONFIG = """3 libs found in cache `/etc/ld.so.cache'
\tlibcudnn.so.8 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.8
\tlibcudart.so.12 (libc6,x86-64) => /usr/local/cuda-12.4/lib64/libcudart.so.12
\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1
"""  # synthetic, in ldconfig -p's shape


def test_two_cudnns_are_two_entries_and_symlinks_merge(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "/usr/lib/x86_64-linux-gnu/libcudnn.so.8.9.7": "elf",
        "/opt/extra/libcudnn.so.9.1.0": "elf",
        "/usr/local/cuda-12.4/lib64/libcudart.so.12.4.127": "elf",
    })
    (tmp_path / "usr/lib/x86_64-linux-gnu/libcudnn.so.8").symlink_to("libcudnn.so.8.9.7")
    (tmp_path / "opt/extra/libcudnn.so.9").symlink_to("libcudnn.so.9.1.0")
    (tmp_path / "usr/local/cuda-12.4/lib64/libcudart.so.12").symlink_to(
        "libcudart.so.12.4.127")
    runner = FakeRunner({("ldconfig", "-p"): ok(LDCONFIG)})
    host = make_host(tmp_path, runner=runner,
                     env={"PATH": "/usr/bin",
                          "LD_LIBRARY_PATH": "/opt/extra:/usr/lib/x86_64-linux-gnu"})
    raw, problem = loader_libraries(host)
    assert problem is None
    libraries = identify_libraries(host, raw)
    cudnns = [lib for lib in libraries if lib.name == "cudnn"]
    assert [(lib.version, lib.found_via) for lib in cudnns] == [
        ("9.1.0", ("LD_LIBRARY_PATH",)),
        ("8.9.7", ("ldconfig", "LD_LIBRARY_PATH")),
    ]
    (cudart,) = [lib for lib in libraries if lib.name == "cudart"]
    assert cudart.version == "12.4.127"
    assert cudart.origin == "system"


def test_without_ldconfig_only_ld_library_path_counts(tmp_path: Path) -> None:
    write_tree(tmp_path, {"/opt/nccl/libnccl.so.2.21.5": "elf"})
    host = make_host(tmp_path, env={"LD_LIBRARY_PATH": "/opt/nccl"})
    raw, problem = loader_libraries(host)
    assert problem is None
    assert [lib.path for lib in raw] == ["/opt/nccl/libnccl.so.2.21.5"]


def test_conda_copies_are_conda(tmp_path: Path) -> None:
    raw = [RawLibrary(path="/conda/lib/libcudart.so.11.8.89", via="conda-meta",
                      distribution="cudatoolkit", distribution_version="11.8.0")]
    (library,) = identify_libraries(make_host(tmp_path), raw)
    assert (library.name, library.origin, library.version) == ("cudart", "conda", "11.8.89")
