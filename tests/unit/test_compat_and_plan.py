"""`envcheck compat` queries and `--plan`, against the cited tables."""

from __future__ import annotations

import pytest
from packaging.version import Version

from envcheck.errors import UsageError
from envcheck.knowledge.cuda_tables import min_driver_for_cuda, minor_compat_floor
from envcheck.knowledge.torch_tables import find_release, newest_release
from envcheck.plan import apply_plan, resolve_plan
from envcheck.rules import run_rules
from envcheck.services.compat import compat_cuda, compat_driver, compat_gpu, compat_torch
from tests.snapshots import healthy, with_driver


def test_compat_cuda_accepts_versions_and_variant_names() -> None:
    document = compat_cuda("12.4")
    assert document == compat_cuda("cu124") == compat_cuda("12.4.1")
    assert document["cuda"] == "12.4"
    assert document["min_driver"]["linux"] == min_driver_for_cuda(Version("12.4"))
    assert document["minor_compat_min_driver"]["linux"] == minor_compat_floor(12)


def test_compat_cuda_unknown_release_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match="not in envcheck's driver table") as caught:
        compat_cuda("7.5")
    assert "12.4" in (caught.value.hint or "")
    with pytest.raises(UsageError, match="not a CUDA version"):
        compat_cuda("twelve")


def test_compat_driver_newest_cuda_and_runnable_builds() -> None:
    document = compat_driver("535.104.05")
    assert document["newest_cuda"] == "12.2"
    rows = {row["torch"]: row["variants"] for row in document["torch"]}
    assert "cu124" in rows["2.5.1"]  # 12.x builds run on 535 by minor-version compatibility
    newest = newest_release()
    assert not [v for v in rows[str(newest.version)] if v.startswith("cu13")]
    with pytest.raises(UsageError, match="not an NVIDIA driver version"):
        compat_driver("latest")


def test_compat_gpu() -> None:
    document = compat_gpu("RTX 4090")
    assert document["compute_capability"] == "8.9"
    assert document["architecture"] == "Ada Lovelace"
    rows = {row["torch"]: row["variants"] for row in document["torch"]}
    assert rows["2.5.1"] == ["cu124"]
    with pytest.raises(UsageError, match="no GPU called"):
        compat_gpu("Voodoo 2")


def test_compat_torch() -> None:
    document = compat_torch("2.5.1")
    release = find_release(Version("2.5.1"))
    assert release is not None
    assert document["pypi_default"] == release.pypi_default == "cu124"
    assert document["torchvision"] == "0.20.1"
    assert "3.11" in document["python"]
    assert "sm_90" in document["arch_list"]["cu124"]
    assert compat_torch("torch==2.5.1") == document
    with pytest.raises(UsageError, match="not in envcheck's knowledge"):
        compat_torch("0.1.2")


def test_plan_forms() -> None:
    assert resolve_plan("torch==2.5.1").label == "torch==2.5.1+cu124"
    assert resolve_plan("2.5.1+cu124").variant.name == "cu124"
    newest_cu124 = resolve_plan("cu124").release.version
    assert newest_cu124 >= Version("2.5.1")
    for bad, message in (("torch==2.5.1+cu999", "has no cu999 build"),
                         ("torch>=2", "not understood"),
                         ("torch==0.0.1", "not in envcheck's knowledge"),
                         ("cu999", "no torch release")):
        with pytest.raises(UsageError, match=message):
            resolve_plan(bad)


def test_plan_is_judged_by_the_same_rules() -> None:
    plan = resolve_plan(f"torch=={newest_release().version}")
    old_driver = with_driver(healthy(), version=min_driver_for_cuda(Version("12.4")))
    planned = apply_plan(old_driver, plan)
    assert planned.torch.version is not None
    assert planned.torch.provenance["arch_list"] == "derived"
    assert all(lib.origin != "pip" for lib in planned.cuda_libraries)
    ids = {f.id for f in run_rules(planned)}
    assert "driver-too-old-for-torch-cuda" in ids
