"""Library facts read from pastes (envcheck.reports.library_facts), the framework-build and
libstdc++ tables (envcheck.knowledge.framework_builds) and the rules over them
(envcheck.rules.library_rules). The lines are real, quoted from the threads named."""

from __future__ import annotations

from typing import Any

import pytest
from packaging.version import Version

from envcheck.knowledge.data_files import KnowledgeError, read_data_file
from envcheck.knowledge.framework_builds import (
    builds_for,
    gcc_for_glibcxx,
    glibc_needed,
    glibc_of_os,
    parse_framework_builds,
    parse_glibcxx_versions,
)
from envcheck.knowledge.signatures import match_error
from envcheck.reports.library_facts import read_library_facts
from envcheck.rules.library_rules import library_findings
from envcheck.snapshot import System

# microsoft/onnxruntime#20223
ORT_1171_CUDNN9 = ("apply yolov8n.onnx with cuda12.4 cudnn9 onnxruntime-win-x64-cuda12-1.17.1\n"
                   "Loadlibrary failed with error 126 when trying to load "
                   "onnxruntime_providers_cuda.dll")
# PaddlePaddle/Paddle#11997
PADDLE_POST87 = ("版本为paddlepaddle_gpu-0.14.0.post87-cp27-cp27mu-manylinux1_x86_64.whl\n"
                 "验证了是下的版本是cudnn7 的\uff08本机安装的是cudnn5\uff09\uff0c "
                 "这块希望 加载错误的cudnn时\uff0c需要报个错误\uff0c不是简单的coredump掉。")
# PaddlePaddle/Paddle#26954
PADDLE_CUDNN73 = ("框架版本为1.8.3\uff0c查本机cudnn版本为7.6.5\uff0c"
                  "但是在运行程序时会被识别为7.3。\n"
                  "WARNING: device: 0. The installed Paddle is compiled with CUDNN 7.6, but CUDNN "
                  "version in your machine is 7.3, which may cause serious incompatible bug.")
# PaddlePaddle/Paddle#56047
PADDLE_CONDA_LIBSTDCXX = ("import paddle即报错/home/XXXXXX/anaconda3/bin/../lib/libstdc++.so.6: "
                          "version 'GLIBCXX_3.4.30' not found (required by ..")
# PaddlePaddle/PaddleOCR#11998: the message names no directory; the paste names the env's copy
PADDLEOCR_CONDA_LIBSTDCXX = (
    "Can not import paddle core libstdc++.so.6: version `GLIBCXX_3.4.30' not found\n"
    "strings /anaconda3/envs/ocr/lib/libstdc++.so.6 | grep GLIBCX\n"
    "查看了一下确实没有GLIBCXX_3.4.30\uff0c如何添加")
# jax-ml/jax#28929 (uv's install log, then LD_DEBUG=libs)
JAX_LD_DEBUG = """\
 + nvidia-cusparse-cu12==12.5.9.5
 + nvidia-nvjitlink-cu12==12.9.41
   1382674:	file=libnvJitLink.so.12 [0];  needed by /home/project/._venv/lib/python3.13/site-packages/jax_cuda12_plugin/../nvidia/cusparse/lib/libcusparse.so.12 [0]
   1382674:	find library=libnvJitLink.so.12 [0]; searching
   1382674:	 search path=/home/common_modules/cudnn/cudnn-8.9.7.29_cuda12/lib:/home/common_modules/cuda/cuda-12.1/lib64		(LD_LIBRARY_PATH)
   1382674:	  trying file=/home/common_modules/cudnn/cudnn-8.9.7.29_cuda12/lib/libnvJitLink.so.12
   1382674:	  trying file=/home/common_modules/cuda/cuda-12.1/lib64/libnvJitLink.so.12
   1382674:
   1382674:	file=libnvJitLink.so.12 [0];  generating link map
"""  # noqa: E501


def _ids(text: str) -> list[str]:
    return [f.id for f in library_findings(read_library_facts(text))]


def test_ort_package_name_gives_version_and_cuda_major() -> None:
    facts = read_library_facts(ORT_1171_CUDNN9)
    assert [(m.version, m.cuda_major) for m in facts.frameworks] == [(Version("1.17.1"), 12)]
    assert [(m.version, m.role) for m in facts.cudnn] == [(Version("9"), "unclear")]


def test_ort_117_cuda12_with_cudnn9_is_a_cudnn_mismatch() -> None:
    (finding,) = library_findings(read_library_facts(ORT_1171_CUDNN9))
    assert finding.category == "cudnn_mismatch"
    assert finding.severity == "error"
    assert finding.evidence["build_cudnn_major"] == "8"
    assert "onnxruntime.ai" in finding.evidence["source"]


def test_ort_with_the_cudnn_it_was_built_for_is_fine() -> None:
    assert _ids("onnxruntime-win-x64-cuda12-1.17.1 with cuDNN 8.9.7") == []
    assert _ids("pip install onnxruntime-gpu==1.19.0, I have cudnn 9.1") == []


def test_an_ort_wheel_without_its_cuda_flavour_decides_only_when_both_agree() -> None:
    # 1.18.0: the CUDA 11.8 and the CUDA 12 builds both use cuDNN 8
    assert _ids("onnxruntime-gpu==1.18.0 and cudnn 9.1") == ["framework-build-needs-other-cudnn"]
    # 1.19: CUDA 12 needs cuDNN 9, CUDA 11.8 cuDNN 8: the wheel name does not say which
    assert _ids("onnxruntime-gpu==1.19.0 and cudnn 8.9") == []


def test_a_version_pip_could_not_find_is_not_installed() -> None:
    facts = read_library_facts("ERROR: No matching distribution found for onnxruntime-gpu==1.18.0")
    assert facts.frameworks == ()


def test_paddle_post87_wheel_with_the_machines_cudnn5() -> None:
    facts = read_library_facts(PADDLE_POST87)
    assert [(m.tag, m.version) for m in facts.frameworks] == [("post87", Version("0.14.0"))]
    assert [(str(m.version), m.role) for m in facts.cudnn] == [("7", "unclear"),
                                                              ("5", "machine")]
    (finding,) = library_findings(facts)
    assert finding.id == "framework-build-needs-other-cudnn"
    assert finding.evidence["machine_cudnn"] == "5"


@pytest.mark.parametrize("text", [
    # paddle-6132: the cuDNN of a build, not of the machine
    "The test fails when using cuda 8.0 and cudnn 7 to build.",
    # jax-6517: a requirement
    "But this version only supports the cudnn 8.1.0 not cudnn 8.0.5",
    "The installed Paddle is compiled with CUDNN 7.6",
    # advice, as a maintainer writes it (microsoft/onnxruntime#20223)
    "Use cuDNN 8.x with ORT 1.17.x, or try cudnn 9 with a later release",
])
def test_build_and_requirement_mentions_are_not_the_machines(text: str) -> None:
    assert {m.role for m in read_library_facts(text).cudnn} == {"build"}


@pytest.mark.parametrize("text", [
    "cuDNN version: /usr/local/cuda-9.0/targets/x86_64-linux/lib/libcudnn.so.7",
    "找不到cudnn64_7.dll\uff0c只有cudnn64_8.dll",
    "/home/common_modules/cudnn/cudnn-8.9.7.29_cuda12/lib",
    "nvidia-cudnn-cu12==9.10.1.4",
    "torch.backends.cudnn.version()` returned `7501`",
    "paddle_manylinux_devel:cuda8.0_cudnn7",
])
def test_file_names_and_fields_are_not_cudnn_mentions(text: str) -> None:
    assert read_library_facts(text).cudnn == ()


def test_paddle_loading_another_cudnn_than_the_installed_one() -> None:
    facts = read_library_facts(PADDLE_CUDNN73)
    assert [(str(c.compiled), str(c.loaded)) for c in facts.loaded_cudnn] == [("7.6", "7.3")]
    (finding,) = library_findings(facts)
    assert finding.id == "loaded-cudnn-is-not-the-installed-one"
    assert finding.category == "lib_shadowing"


def test_paddle_loading_the_installed_cudnn_is_fine() -> None:
    assert _ids("我安装的cudnn 7.3.1\nThe installed Paddle is compiled with CUDNN 7.6, but "
                "CUDNN version in your machine is 7.3") == []


def test_conda_libstdcxx_named_by_the_loader() -> None:
    (finding,) = library_findings(read_library_facts(PADDLE_CONDA_LIBSTDCXX))
    assert finding.id == "conda-libstdcxx-shadows-system"
    assert finding.evidence["gcc"] == "12.1.0"


def test_conda_libstdcxx_named_elsewhere_in_the_paste() -> None:
    (finding,) = library_findings(read_library_facts(PADDLEOCR_CONDA_LIBSTDCXX))
    assert finding.evidence["library"] == "/anaconda3/envs/ocr/lib/libstdc++.so.6"


def test_a_libstdcxx_failure_without_any_path_decides_nothing() -> None:
    assert _ids("libstdc++.so.6: version `GLIBCXX_3.4.30' not found") == []


def test_the_systems_libstdcxx_too_old_is_the_os() -> None:
    # MISP/MISP#2981, CentOS 7.4 (GCC 4.8.5's libstdc++)
    (finding,) = library_findings(read_library_facts(
        "ImportError: /lib64/libstdc++.so.6: version `GLIBCXX_3.4.20' not found (required by "
        "/usr/lib64/python2.7/site-packages/_pylief.so)"))
    assert (finding.id, finding.category, finding.evidence["gcc"]) == (
        "system-libstdcxx-too-old", "glibc", "4.9.0")


def test_ld_debug_shows_ld_library_path_ahead_of_the_wheel() -> None:
    facts = read_library_facts(JAX_LD_DEBUG)
    (loaded,) = facts.loaded
    assert loaded.path == "/home/common_modules/cuda/cuda-12.1/lib64/libnvJitLink.so.12"
    assert loaded.via_ld_library_path
    (finding,) = library_findings(facts)
    assert finding.id == "ld-library-path-shadows-wheel-library"
    assert finding.evidence["wheel"] == "nvidia-nvjitlink-cu12==12.9.41"


def test_ld_debug_loading_the_wheels_own_copy_is_fine() -> None:
    text = JAX_LD_DEBUG.replace(
        "trying file=/home/common_modules/cuda/cuda-12.1/lib64/libnvJitLink.so.12",
        "trying file=/home/project/._venv/lib/python3.13/site-packages/nvidia/nvjitlink/lib/"
        "libnvJitLink.so.12")
    assert _ids(text) == []


def test_shipped_tables_load_and_answer() -> None:
    (row,) = builds_for("paddlepaddle-gpu", Version("0.14.0"), tag="post87")
    assert (row.cuda, row.cudnn_major) == ("8.0", 7)
    assert builds_for("paddlepaddle-gpu", Version("2.5.1"), tag="post120") == ()
    glibcxx = gcc_for_glibcxx(Version("3.4.30"))
    assert glibcxx is not None
    assert glibcxx.gcc == Version("12.1.0")
    assert "gcc.gnu.org" in glibcxx.source.url


def _document(name: str) -> dict[str, Any]:
    return dict(read_data_file(name))


def test_a_row_naming_an_unknown_source_is_rejected() -> None:
    document = _document("framework_builds.toml")
    document["build"] = [{**document["build"][0], "source": "nowhere"}]
    with pytest.raises(KnowledgeError, match=r"build\[0\].*nowhere"):
        parse_framework_builds(document)


def test_glibcxx_rows_must_ascend() -> None:
    document = _document("libstdcxx_abi.toml")
    document["glibcxx"] = list(reversed(document["glibcxx"]))
    with pytest.raises(KnowledgeError, match="ascend"):
        parse_glibcxx_versions(document)


# QwenAudio/CosyVoice#969: pip on CentOS 7.9 finds no onnxruntime-gpu 1.18.0
COSYVOICE_CENTOS7 = "ERROR: No matching distribution found for onnxruntime-gpu==1.18.0"


def test_pip_finding_no_wheel_of_a_release_that_needs_a_newer_glibc() -> None:
    facts = read_library_facts(COSYVOICE_CENTOS7)
    assert facts.unresolved == (("onnxruntime-gpu", Version("1.18.0")),)
    system = System(os="CentOS Linux release 7.9.2009 (Core)")
    (finding,) = library_findings(facts, system)
    assert (finding.id, finding.category) == ("wheel-needs-newer-glibc", "glibc")
    assert (finding.evidence["wheel_glibc"], finding.evidence["system_glibc"]) == ("2.28", "2.17")


def test_a_glibc_the_report_gives_wins_over_the_os_table() -> None:
    system = System(os="CentOS Linux release 7.9.2009 (Core)", glibc=Version("2.28"))
    assert library_findings(read_library_facts(COSYVOICE_CENTOS7), system) == ()


def test_an_os_the_table_does_not_know_decides_nothing() -> None:
    system = System(os="Ubuntu 24.04")
    assert library_findings(read_library_facts(COSYVOICE_CENTOS7), system) == ()


def test_os_and_wheel_glibc_tables() -> None:
    centos7 = glibc_of_os("CentOS", 7)
    assert centos7 is not None
    assert centos7.glibc == Version("2.17")
    needed = glibc_needed("onnxruntime-gpu", Version("1.18.1"))
    assert needed is not None
    assert needed.glibc == Version("2.27")
    assert glibc_needed("onnxruntime-gpu", Version("1.16.3")) is None


@pytest.mark.parametrize("text", [
    "import fluid提示找不到libcudart.so.9.0",  # PaddlePaddle/Paddle#17603
    "it cannot find libcudart.so.10.1 although CUDA is installed",
])
def test_libcudart_not_found_in_words_points_at_the_library_path(text: str) -> None:
    (match,) = match_error(text)
    assert match.signature.categories[0] == "lib_shadowing"


# PaddlePaddle/Paddle#17603: the export the reporter ran, and the title
PADDLE_LIBCUDART90 = (
    "已安装cuda-9.0\uff0c同时添加了环境变量:\n"
    "`export LD_LIBRARY_PATH=/home/work/cuda-9.0/lib64/:/home/work/cudnn/cudnn_v7/cuda/lib64/:"
    "${PWD}/nccl_2.3.7-1+cuda9.0_x86_64/lib:$LD_LIBRARY_PATH`\n"
    "import fluid提示找不到libcudart.so.9.0")


def test_ld_library_path_naming_the_right_cuda_that_the_loader_did_not_search() -> None:
    facts = read_library_facts(PADDLE_LIBCUDART90)
    assert facts.missing_libraries == ("libcudart.so.9.0",)
    assert facts.ld_library_path == ("/home/work/cuda-9.0/lib64",
                                     "/home/work/cudnn/cudnn_v7/cuda/lib64")
    (finding,) = library_findings(facts)
    assert (finding.id, finding.severity) == ("ld-library-path-not-in-effect", "warning")
    assert finding.evidence["directory"] == "/home/work/cuda-9.0/lib64"


@pytest.mark.parametrize("text", [
    # another CUDA on the path: a different cause (the wrong toolkit), not this one
    "export LD_LIBRARY_PATH=/usr/local/cuda-10.2/lib64\n"
    "ImportError: libcudart.so.9.0: cannot open shared object file: No such file or directory",
    # CUDA 11+: the soname carries the major only
    "export LD_LIBRARY_PATH=/usr/local/cuda-12.1/lib64\n"
    "ImportError: libcudart.so.11.0: cannot open shared object file: No such file or directory",
    # no LD_LIBRARY_PATH in the paste
    "ImportError: libcudart.so.11.0: cannot open shared object file: No such file or directory",
])
def test_no_ld_library_path_finding_without_a_matching_directory(text: str) -> None:
    assert _ids(text) == []


def test_cuda_11_soname_matches_any_cuda_11_directory() -> None:
    assert _ids("LD_LIBRARY_PATH=/opt/cuda-11.8/lib64:/usr/lib\n"
                "libcudart.so.11.0: cannot open shared object file") == [
        "ld-library-path-not-in-effect"]


# microsoft/onnxruntime#21769 (onnxruntime-gpu 1.19.0 on Windows)
ORT_REQUIRES_CUDNN9 = (
    "[W:onnxruntime:Default, onnxruntime_pybind_state.cc:965 onnxruntime::python::"
    "CreateExecutionProviderInstance] Failed to create CUDAExecutionProvider. Require cuDNN 9.* "
    "and CUDA 12.*, and the latest MSVC runtime. Please install all dependencies as mentioned "
    "in the GPU requirements page")


def test_ort_stating_its_cudnn_against_the_machines() -> None:
    facts = read_library_facts(ORT_REQUIRES_CUDNN9 + "\nI have CUDA 11.7 and cuDNN 8.5")
    (requirement,) = facts.stated_requirements
    assert (requirement.cudnn_major, requirement.cuda_major) == (9, 12)
    (finding,) = library_findings(facts)
    assert (finding.id, finding.category) == ("framework-says-it-needs-other-cudnn",
                                              "cudnn_mismatch")


def test_ort_stating_the_cudnn_the_machine_has_decides_nothing() -> None:
    assert _ids(ORT_REQUIRES_CUDNN9 + "\nI have cuDNN 9.1") == []
    assert _ids(ORT_REQUIRES_CUDNN9) == []


def test_a_missing_cxxabi_label_is_read_like_glibcxx() -> None:
    # coder/code-server#766, CentOS 7
    (finding,) = library_findings(read_library_facts(
        "./code-server: /lib64/libstdc++.so.6: version `CXXABI_1.3.9' not found (required by "
        "./code-server)"))
    assert (finding.id, finding.evidence["glibcxx"], finding.evidence["gcc"]) == (
        "system-libstdcxx-too-old", "CXXABI_1.3.9", "5.1.0")


def test_an_ort_wheels_local_cuda_label_picks_its_build() -> None:
    # a file name as published on huggingface.co/hanamizuki-ai/onnxruntime-gpu-releases
    (mention,) = read_library_facts(
        "onnxruntime_gpu-1.17.0+cu121-cp310-cp310-win_amd64.whl").frameworks
    assert (mention.version, mention.cuda_major) == (Version("1.17.0"), 12)


@pytest.mark.parametrize("text", [
    "/" * 200_000 + " libstdc++.so.6",
    "/a" * 100_000 + "libstdc++.so.6: version `GLIBCXX_3.4.30' not found",
    "LD_LIBRARY_PATH=" + "/a:" * 100_000,
])
def test_long_path_like_lines_are_read_in_linear_time(text: str) -> None:
    # a path is looked for back from the library's name, at most 300 characters: a quadratic
    # search from every '/' of a 200 000-character line would not return
    read_library_facts(text)
