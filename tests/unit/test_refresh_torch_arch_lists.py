"""scripts/refresh_torch_arch_lists.py on build scripts shaped like PyTorch's (written for
this test: a base list, a `case ${CUDA_VERSION}` block, aarch64 and libtorch branches)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from envcheck.knowledge.torch_tables import arch_names
from tests.refresh_scripts import loaded_script

OLD_STYLE = """
if [[ ${#DESIRED_CUDA} -eq 5 ]]; then  # "${#" is a length, not a comment
    CUDA_VERSION="${DESIRED_CUDA:2:2}.${DESIRED_CUDA:4:1}"
fi
if [[ "$PACKAGE_TYPE" == "libtorch" ]]; then
    echo "libtorch build"
fi
TORCH_CUDA_ARCH_LIST="3.7;5.0;6.0;7.0"
case ${CUDA_VERSION} in
    11.8)
        TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST};7.5;8.0;8.6;9.0"
        EXTRA_CAFFE2_CMAKE_FLAGS+=("-DATEN_NO_TEST=ON")
        ;;
    11.[67])
        TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST};7.5;8.0;8.6"
        ;;
    *)
        echo "unknown cuda version $CUDA_VERSION"
        exit 1
        ;;
esac
TORCH_CUDA_ARCH_LIST="$OVERRIDE_TORCH_CUDA_ARCH_LIST"
"""

AARCH64_IF_STYLE = """
TORCH_CUDA_ARCH_LIST="5.0;6.0;7.0;7.5;8.0;8.6"
case ${CUDA_VERSION} in
    12.4)
        if [[ "$GPU_ARCH_TYPE" = "cuda-aarch64" ]]; then
            TORCH_CUDA_ARCH_LIST="9.0"
        else
            TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST};9.0+PTX"
        fi
        ;;
    12.1)
        TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST};9.0"
        ;;
esac
"""

ONE_LINE_STYLE = """
# Base for every CUDA version
TORCH_CUDA_ARCH_LIST="7.0;7.5;8.0;8.6;9.0"
case ${CUDA_VERSION} in
    12.6) TORCH_CUDA_ARCH_LIST="5.0;6.0;${TORCH_CUDA_ARCH_LIST}" ;;  # legacy cards
    12.9) TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST};10.0;12.0+PTX"
        if [[ "$PACKAGE_TYPE" == "libtorch" ]]; then
            TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST//7.0;/}"
        fi
        ;;
    13.0)
    TORCH_CUDA_ARCH_LIST="7.5;9.0;$([[ "$ARCH" == "aarch64" ]] && echo "11.0;" || echo "")12.0+PTX"
        ;;
    *) echo "unknown"; exit 1 ;;
esac
"""


@pytest.fixture(scope="module")
def refresh() -> Iterator[ModuleType]:
    with loaded_script("refresh_torch_arch_lists") as module:
        yield module


def test_base_plus_case(refresh: ModuleType) -> None:
    assert refresh.arch_lists(OLD_STYLE) == {
        "11.8": "3.7;5.0;6.0;7.0;7.5;8.0;8.6;9.0",
        "11.6": "3.7;5.0;6.0;7.0;7.5;8.0;8.6",
        "11.7": "3.7;5.0;6.0;7.0;7.5;8.0;8.6",
    }


def test_aarch64_branch_is_dropped(refresh: ModuleType) -> None:
    assert refresh.arch_lists(AARCH64_IF_STYLE) == {
        "12.4": "5.0;6.0;7.0;7.5;8.0;8.6;9.0+PTX",
        "12.1": "5.0;6.0;7.0;7.5;8.0;8.6;9.0",
    }


def test_one_line_clauses_libtorch_edits_and_inline_aarch64(refresh: ModuleType) -> None:
    assert refresh.arch_lists(ONE_LINE_STYLE) == {
        "12.6": "5.0;6.0;7.0;7.5;8.0;8.6;9.0",
        "12.9": "7.0;7.5;8.0;8.6;9.0;10.0;12.0+PTX",
        "13.0": "7.5;9.0;12.0+PTX",
    }


def test_names_agree_with_the_package(refresh: ModuleType) -> None:
    for value in refresh.arch_lists(ONE_LINE_STYLE).values():
        assert tuple(refresh.arch_names(value)) == arch_names(value)


def test_apply_sets_unrecorded_variants_and_keeps_measured_ones(refresh: ModuleType) -> None:
    text = """sources = [{ id = "s", title = "t", url = "u", retrieved = "d" }]

[[release]]
version = "9.0.0"

[[release.variant]]
name = "cu126"
sources = ["s"]
cuda = "12.6"

[[release.variant]]
name = "cu129"
sources = ["s"]
cuda = "12.9"
arch_list = ["sm_90"]
arch_from = "measured"
"""
    lists = refresh.arch_lists(ONE_LINE_STYLE)
    updated, changes = refresh.apply(text, "9.0.0", lists, "script-v9")
    assert 'arch_list = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]' in updated
    assert 'arch_from = "build-script"' in updated
    assert '"s", "script-v9"' in updated
    assert 'arch_list = ["sm_90"]' in updated  # measured: kept, reported
    assert changes[0].startswith("set      9.0.0 cu126")
    assert changes[1].startswith("differs  9.0.0 cu129")


def test_a_script_without_a_case_block_is_an_error(refresh: ModuleType) -> None:
    with pytest.raises(ValueError, match="case"):
        refresh.arch_lists('TORCH_CUDA_ARCH_LIST="8.0"\n')
