"""The arch list of each CUDA variant, against its source's own numbers.

Build-script rows restate the TORCH_CUDA_ARCH_LIST strings of the cited build_cuda.sh
commits; measured rows restate what torch._C._cuda_getArchFlags() returned for the wheel.
"""

from __future__ import annotations

import pytest
from packaging.version import Version

from envcheck.knowledge.nvcc_targets import highest_for
from envcheck.knowledge.torch_tables import arch_names, find_variant, torch_releases

# pytorch/builder manywheel/build_cuda.sh @009ed170: "3.7;5.0;6.0;7.0" + the 11.x case.
BUILDER_11_7 = "3.7;5.0;6.0;7.0;7.5;8.0;8.6"
BUILDER_11_8 = "3.7;5.0;6.0;7.0;7.5;8.0;8.6;9.0"
# pytorch/pytorch .ci/manywheel/build_cuda.sh @00c7a380 and @799d09f2.
SCRIPT_12_6 = "5.0;6.0;7.0;7.5;8.0;8.6;9.0"
SCRIPT_12_8 = "7.0;7.5;8.0;8.6;9.0;10.0;12.0"
SCRIPT_12_9 = "7.0;7.5;8.0;8.6;9.0;10.0;12.0+PTX"
SCRIPT_13_0 = "7.5;8.0;8.6;9.0;10.0;12.0+PTX"
# Measured from the PyPI wheels (source "wheel-arch-flags").
MEASURED_CU121 = "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90"
MEASURED_CU124 = "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90"
MEASURED_CU126 = "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90"
MEASURED_CU128 = "sm_70 sm_75 sm_80 sm_86 sm_90 sm_100 sm_120"
MEASURED_CU130 = "sm_75 sm_80 sm_86 sm_90 sm_100 sm_120"

CASES = [
    ("1.13.0+cu116", "build-script", " ".join(arch_names(BUILDER_11_7))),
    ("1.13.1+cu117", "measured", " ".join(arch_names(BUILDER_11_7))),
    ("2.0.0+cu118", "build-script", " ".join(arch_names(BUILDER_11_8))),
    ("2.0.1+cu118", "build-script", " ".join(arch_names(BUILDER_11_8))),
    *((f"{v}+cu121", "measured", MEASURED_CU121) for v in (
        "2.1.0", "2.1.1", "2.1.2", "2.2.0", "2.2.1", "2.2.2", "2.3.0", "2.3.1", "2.4.0",
        "2.4.1")),
    *((f"{v}+cu124", "measured", MEASURED_CU124) for v in ("2.5.0", "2.5.1", "2.6.0")),
    ("2.7.0+cu126", "measured", MEASURED_CU126),
    ("2.7.1+cu126", "measured", MEASURED_CU126),
    *((f"{v}+cu126", "build-script", " ".join(arch_names(SCRIPT_12_6)))
      for v in ("2.8.0", "2.9.0", "2.9.1")),
    *((f"{v}+cu128", "measured", MEASURED_CU128) for v in ("2.8.0", "2.9.0", "2.9.1", "2.10.0")),
    ("2.8.0+cu129", "build-script", " ".join(arch_names(SCRIPT_12_9))),
    ("2.9.0+cu130", "build-script", " ".join(arch_names(SCRIPT_13_0))),
    ("2.9.1+cu130", "build-script", " ".join(arch_names(SCRIPT_13_0))),
    # pytorch/pytorch#182250: get_arch_list() of the download.pytorch.org 2.11.0 wheels.
    ("2.11.0+cu126", "measured", "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90"),
    ("2.11.0+cu128", "measured", "sm_75 sm_80 sm_86 sm_90 sm_100 sm_120"),
    # RELEASE.md's CUDA Support Matrix "For Release 2.9 and 2.10" (pytorch/pytorch#175253).
    ("2.10.0+cu126", "release-matrix", "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90"),
    ("2.10.0+cu130", "release-matrix", "sm_75 sm_80 sm_86 sm_90 sm_100 sm_120"),
    # RELEASE.md's CUDA Support Matrix "For Release 2.12, 2.13 and 2.14": 12.6.3 Maxwell(5.0)
    # to Hopper(9.0); 13.2.1 Turing(7.5) to Blackwell(10.0, 12.0).
    *((f"{v}+cu126", "release-matrix", "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90")
      for v in ("2.12.0", "2.12.1", "2.13.0", "2.14.0", "2.14.1")),
    *((f"{v}+cu132", "release-matrix", "sm_75 sm_80 sm_86 sm_90 sm_100 sm_120")
      for v in ("2.12.0", "2.12.1", "2.13.0", "2.14.0", "2.14.1")),
    *((f"{v}+cu130", "measured", MEASURED_CU130) for v in (
        "2.11.0", "2.12.0", "2.12.1", "2.13.0", "2.14.0", "2.14.1")),
]


@pytest.mark.parametrize(("build", "source", "arch_list"), CASES)
def test_arch_list_matches_its_source(build: str, source: str, arch_list: str) -> None:
    found = find_variant(Version(build))
    assert found is not None, build
    variant = found[1]
    assert variant.arch_source == source
    assert " ".join(variant.arch_list) == arch_list


def test_measured_cu128_agrees_with_the_build_scripts_12_8_case() -> None:
    assert " ".join(arch_names(SCRIPT_12_8)) == MEASURED_CU128


def test_arch_names_converts_torch_cuda_arch_list() -> None:
    assert arch_names("12.0+PTX;8.6 7.5") == ("sm_75", "sm_86", "sm_120", "compute_120")
    with pytest.raises(ValueError, match="sm_90"):
        arch_names("sm_90")


def test_no_recorded_list_goes_beyond_its_toolkit() -> None:
    checked = 0
    for release in torch_releases():
        for variant in release.variants:
            if variant.cuda is None or not variant.arch_list:
                continue
            bound = highest_for(variant.cuda)
            if bound is None:
                continue
            numbers = [int(a.split("_")[1]) for a in variant.arch_list]
            assert max(numbers) <= bound, (release.version, variant.name)
            checked += 1
    assert checked > 20


def test_unread_variants_are_bounded_not_empty_claims() -> None:
    found = find_variant(Version("2.6.0+cu126"))
    assert found is not None
    variant = found[1]
    assert variant.arch_source == "bounded"
    assert variant.arch_list == ()
    assert variant.cuda is not None
    assert highest_for(variant.cuda) == 90


def test_nccl_pins_recorded_from_the_wheels_metadata() -> None:
    # tests/data/pypi/torch-2.5.1.METADATA and torch-2.14.1.METADATA: nvidia-nccl-cu12==2.21.5
    # and nvidia-nccl-cu13==2.30.7; releases whose METADATA was not read stay unknown.
    for build, nccl in (("2.5.1", "2.21.5"), ("2.14.1", "2.30.7")):
        found = find_variant(Version(build))
        assert found is not None
        assert found[1].nccl == Version(nccl)
    found = find_variant(Version("2.6.0"))
    assert found is not None
    assert found[1].nccl is None


@pytest.mark.parametrize(
    ("build", "cudnn", "nccl"),
    [
        # RELEASE.md's compatibility matrix (the copy with the 2.12 row) and PRs #187075,
        # #194367: cuDNN per CUDA build, NCCL from 2.10 on.
        ("2.4.1+cu118", "9.1.0.70", None),
        ("2.6.0+cu126", "9.5.1.17", None),
        ("2.7.1+cu128", "9.7.1.26", None),
        ("2.9.1+cu130", "9.13.0.50", None),
        ("2.10.0+cu130", "9.15.1.9", "2.28.9"),
        ("2.11.0+cu128", "9.17.1.4", "2.28.9"),
        ("2.12.1+cu126", "9.10.2.21", "2.29.3"),
        ("2.13.0+cu132", "9.20.0.48", "2.29.7"),
        ("2.14.1+cu126", "9.10.2.21", "2.29.3"),
        # The PyPI wheel's own pin wins where RELEASE.md says otherwise (9.17.1.4 there).
        ("2.11.0+cu130", "9.19.0.56", "2.28.9"),
    ],
)
def test_cudnn_and_nccl_per_variant(build: str, cudnn: str, nccl: str | None) -> None:
    found = find_variant(Version(build))
    assert found is not None, build
    variant = found[1]
    assert variant.cudnn == Version(cudnn)
    assert variant.nccl == (Version(nccl) if nccl else None)
