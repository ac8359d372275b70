"""`envcheck compat` queries and `--plan`, against the cited tables."""

from __future__ import annotations

from dataclasses import replace

import pytest
from packaging.version import Version

from envcheck.errors import UsageError
from envcheck.knowledge.cuda_tables import min_driver_for_cuda, minor_compat_floor
from envcheck.knowledge.torch_tables import find_release, newest_release
from envcheck.plan import apply_plan, resolve_plan
from envcheck.rules import run_rules
from envcheck.rules.facts import recommend_cuda_build
from envcheck.services.compat import compat_cuda, compat_driver, compat_gpu, compat_torch
from envcheck.snapshot import DriverVersion, Snapshot
from tests.snapshots import healthy, with_driver, with_gpu


def test_compat_cuda_accepts_versions_and_variant_names() -> None:
    document = compat_cuda("12.4")
    assert document == compat_cuda("cu124")
    assert document["cuda"] == "12.4"
    assert document["min_driver"]["linux"] == min_driver_for_cuda(Version("12.4"))
    assert document["minor_compat_min_driver"]["linux"] == minor_compat_floor(12)


def test_compat_cuda_update_answers_its_own_row() -> None:
    # NVIDIA's table: CUDA 12.2 Update 2 >= 535.104.05 (Linux), >= 537.13 (Windows).
    update = compat_cuda("12.2.2")
    assert update["label"] == "CUDA 12.2 Update 2"
    assert update["min_driver"] == {"linux": "535.104.05", "windows": "537.13"}
    assert update["updates_differ"] is False
    # The minor answers its GA row and says the updates need more.
    ga = compat_cuda("12.2")
    assert (ga["label"], ga["release"]) == ("CUDA 12.2 GA", "12.2.0")
    assert ga["min_driver"] == {"linux": "535.54.03", "windows": "536.25"}
    assert ga["updates_differ"] is True
    assert [(u["release"], u["min_driver"]["linux"]) for u in ga["updates"]] == [
        ("12.2.0", "535.54.03"), ("12.2.1", "535.86.09"), ("12.2.2", "535.104.05")]
    # Updates that share the GA minimum do not "differ" (12.1 Update 1: 530.30.02 too).
    assert compat_cuda("12.1")["updates_differ"] is False
    assert compat_cuda("12.2.0")["min_driver"] == ga["min_driver"]
    assert compat_cuda("11.0")["release"] == "11.0.2"
    # A released update the table does not list is not answered with a neighbour's row.
    with pytest.raises(UsageError, match=r"12\.3\.2 is not in NVIDIA's driver table") as caught:
        compat_cuda("12.3.2")
    assert "12.3.1 (CUDA 12.3 Update 1)" in (caught.value.hint or "")


def test_compat_cuda_says_what_nvcc_targets() -> None:
    targets = compat_cuda("13.0")["nvcc_targets"]
    assert (targets["lowest"], targets["highest"]) == ("sm_75", "sm_121")
    assert "sm_61" in targets["dropped"]
    assert compat_cuda("12.8")["nvcc_targets"]["highest"] == "sm_120"
    assert compat_cuda("13.2")["nvcc_targets"] is None


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
    rows = {row["torch"]: {v["variant"]: v["status"] for v in row["variants"]}
            for row in document["torch"]}
    # Every CUDA variant is listed with what is known, not only the measured one.
    assert rows["2.5.1"] == {"cu118": "unknown", "cu121": "unknown", "cu124": "has-code"}
    assert rows["2.8.0"] == {"cu126": "has-code", "cu128": "has-code", "cu129": "has-code"}
    blackwell = {row["torch"]: {v["variant"]: v["status"] for v in row["variants"]}
                 for row in compat_gpu("RTX 5090")["torch"]}
    assert blackwell["2.6.0"] == {"cu118": "cannot-have-code", "cu124": "no-code",
                                  "cu126": "cannot-have-code"}
    assert blackwell["2.7.1"]["cu128"] == "unknown"
    assert blackwell["2.8.0"]["cu129"] == "has-code"
    with pytest.raises(UsageError, match="no GPU called"):
        compat_gpu("Voodoo 2")


def test_compat_torch() -> None:
    document = compat_torch("2.5.1")
    release = find_release(Version("2.5.1"))
    assert release is not None
    assert document["pypi_default"] == release.pypi_default == "cu124"
    assert document["torchvision"] == "0.20.1"
    assert "3.11" in document["python"]
    assert document["arch_list"]["cu124"] == {
        "status": "measured", "arch_list": ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86",
                                            "sm_90"]}
    # Not read anywhere: no empty list, but what bounds it.
    assert document["arch_list"]["cu118"] == {"status": "bounded", "arch_list": None,
                                              "at_most": "sm_90"}
    assert document["cudnn"]["cu124"] is not None
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


def _host(gpu: str, capability: str, driver: str) -> Snapshot:
    """A host with one GPU and no packages besides torch (the plan replaces torch only)."""
    host = with_driver(with_gpu(healthy(), name=gpu, compute_capability=capability),
                       version=DriverVersion(driver))
    return replace(host, packages=())


def test_plan_of_a_cu126_build_on_an_rtx_5090_is_arch_not_in_wheel() -> None:
    # 2.6.0+cu126's arch list is not recorded, but nvcc 12.6 stops at sm_90: no sm_120 code.
    host = _host("NVIDIA GeForce RTX 5090", "12.0", "570.124.06")
    result = run_rules(apply_plan(host, resolve_plan("torch==2.6.0+cu126")))
    (finding,) = [f for f in result if f.category == "arch_not_in_wheel"]
    assert finding.severity == "error"
    assert finding.id == "gpu-arch-beyond-torch-build-toolkit"
    assert "sm_120" in finding.summary
    assert "CUDA 12.6" in finding.summary
    # The fix is a build that has sm_120 code and runs on driver 570.
    assert finding.fix is not None
    assert "/whl/cu128" in finding.fix


def test_plan_of_a_build_that_runs_has_no_error() -> None:
    host = _host("NVIDIA GeForce RTX 5090", "12.0", "570.124.06")
    result = run_rules(apply_plan(host, resolve_plan("torch==2.8.0+cu128")))
    assert not [f for f in result if f.severity == "error"]
    pascal = _host("NVIDIA GeForce GTX 1080 Ti", "6.1", "580.95.05")
    result = run_rules(apply_plan(pascal, resolve_plan("torch==2.6.0+cu126")))
    assert not [f for f in result if f.severity == "error"]


def test_one_answer_for_the_newest_build_a_driver_runs() -> None:
    # compat driver and the doctor's fix come from the same function.
    document = compat_driver("535.104.05")
    newest = document["newest_build"]
    host = _host("NVIDIA A100-SXM4-80GB", "8.0", "535.104.05")
    recommended = recommend_cuda_build(host)
    assert recommended is not None
    assert (newest["torch"], newest["variant"]) == (
        str(recommended[0].version), recommended[1].name)
    planned = apply_plan(host, resolve_plan(f"torch=={newest_release().version}"))
    (too_old,) = [f for f in run_rules(planned) if f.id == "driver-too-old-for-torch-cuda"]
    assert too_old.fix is not None
    assert f"torch=={newest['torch']} " in too_old.fix
    assert f"/whl/{newest['variant']}" in too_old.fix
