from __future__ import annotations

import json

import pytest
from packaging.version import Version

from envcheck.errors import SnapshotFormatError
from envcheck.jsoncodec import DecodeError, decode, encode
from envcheck.snapshot import (
    CudaLibrary,
    Disk,
    Driver,
    DriverVersion,
    Gpu,
    GpuProcess,
    Package,
    ProbeRun,
    PythonEnv,
    Snapshot,
    System,
    Toolkit,
    Torch,
    snapshot_from_json,
    snapshot_to_json,
)


def full_snapshot() -> Snapshot:
    return Snapshot(
        envcheck_version="0.1.0",
        taken_at="2026-11-22T12:00:00+00:00",
        source="host",
        system=System(os="Debian GNU/Linux 12 (bookworm)", kernel="6.1.0", glibc=Version("2.36"),
                      arch="x86_64", in_container=False, wsl=False,
                      disks=(Disk(path="/work", role="cwd", total_gib=100.0, free_gib=42.5),),
                      env={"CUDA_VISIBLE_DEVICES": "0"}),
        driver=Driver(status="ok", version=DriverVersion("550.54.15"),
                      cuda_driver_api=Version("12.4"), source="nvml"),
        gpus=(Gpu(index=0, name="NVIDIA GeForce RTX 4090", compute_capability="8.9",
                  memory_total_mib=24564, power_w=35.5, throttle_reasons=("gpu_idle",),
                  processes=(GpuProcess(pid=1, name="python", used_mib=10),),
                  unavailable={"mig_mode": "not supported on this GPU"}),),
        toolkits=(Toolkit(path="/usr/local/cuda-13.0", nvcc_version=Version("13.0"),
                          sources=("PATH", "default")),),
        cuda_libraries=(CudaLibrary(name="cudnn", version="9.1.0.70", path="/x/libcudnn.so.9",
                                    origin="pip", found_via=("wheel",),
                                    distribution="nvidia-cudnn-cu12"),),
        python=PythonEnv(status="ok", executable="/v/bin/python", version=Version("3.11.7"),
                         kind="venv"),
        torch=Torch(status="ok", version=Version("2.5.1+cu124"), cuda=Version("12.4"),
                    arch_list=("sm_80", "sm_90"), cuda_available=True,
                    provenance={"version": "derived", "cuda_available": "measured"}),
        packages=(Package(name="torch", version="2.5.1+cu124"),),
        probes=(ProbeRun(name="driver", status="ok", seconds=0.01),),
    )


def test_round_trip_is_lossless() -> None:
    snapshot = full_snapshot()
    text = snapshot_to_json(snapshot)
    assert snapshot_from_json(text, origin="x") == snapshot
    assert snapshot_to_json(snapshot_from_json(text, origin="x")) == text


def test_public_keys_have_their_contract_names() -> None:
    document = json.loads(snapshot_to_json(full_snapshot()))
    assert document["schema"] == "envcheck.snapshot/1"
    assert document["driver"]["cuda_driver_api"] == "12.4"
    assert document["gpus"][0]["compute_capability"] == "8.9"
    assert document["toolkits"][0]["nvcc_version"] == "13.0"
    assert document["torch"]["arch_list"] == ["sm_80", "sm_90"]
    assert document["python"]["version"] == "3.11.7"


def test_other_schema_is_refused_with_both_names() -> None:
    document = encode(full_snapshot())
    assert isinstance(document, dict)
    document["schema"] = "envcheck.snapshot/2"
    with pytest.raises(SnapshotFormatError, match=r"snapshot/2.*snapshot/1"):
        snapshot_from_json(json.dumps(document), origin="old.json")


def test_truncated_file_names_the_file() -> None:
    text = snapshot_to_json(full_snapshot())
    with pytest.raises(SnapshotFormatError, match=r"cut\.json is not JSON"):
        snapshot_from_json(text[: len(text) // 2], origin="cut.json")


def test_bad_value_names_its_path() -> None:
    document = json.loads(snapshot_to_json(full_snapshot()))
    document["gpus"][0]["memory_total_mib"] = "lots"
    with pytest.raises(SnapshotFormatError, match=r"gpus\[0\]\.memory_total_mib"):
        snapshot_from_json(json.dumps(document), origin="bad.json")


def test_literal_outside_its_set_is_refused() -> None:
    with pytest.raises(DecodeError, match="expected one of"):
        decode(Driver, {"status": "maybe"})


def test_driver_versions_keep_nvidias_spelling() -> None:
    driver = decode(Driver, {"status": "ok", "version": "535.104.05"})
    assert driver.version == "535.104.05"
    assert driver.version is not None
    assert driver.version.key == (535, 104, 5)
    with pytest.raises(DecodeError, match="not an NVIDIA driver version"):
        decode(Driver, {"status": "ok", "version": "latest"})


def test_bool_is_not_an_int() -> None:
    with pytest.raises(DecodeError, match="expected int"):
        decode(GpuProcess, {"pid": True, "name": None, "used_mib": None})


def test_every_field_is_documented() -> None:
    import dataclasses
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "snapshot.md").read_text()
    records = [Snapshot, System, Driver, Gpu, GpuProcess, Toolkit, CudaLibrary, PythonEnv,
               Torch, Package, ProbeRun, Disk]
    missing = [f"{record.__name__}.{field.name}" for record in records
               for field in dataclasses.fields(record) if f"`{field.name}`" not in doc]
    assert missing == []


def test_version_or_none_refuses_text_past_its_bound() -> None:
    from envcheck.versions import version_or_none

    assert version_or_none("2.5.1+cu124") == Version("2.5.1+cu124")
    assert version_or_none("garbage") is None
    assert version_or_none(None) is None
    assert version_or_none("1" * 50, max_length=40) is None
    assert version_or_none("1" * 40, max_length=40) == Version("1" * 40)
