"""Every rule, on a healthy workstation changed one fact at a time.

Versions below are real releases; their compatibility facts come from envcheck's cited
knowledge tables, which these tests read (they are data shipped with the package)."""

from __future__ import annotations

from dataclasses import replace

from packaging.version import Version

from envcheck.findings import Finding
from envcheck.rules import run_rules
from envcheck.rules.context import Thresholds
from envcheck.snapshot import (
    CudaLibrary,
    Disk,
    DriverVersion,
    GpuProcess,
    Package,
    Snapshot,
    Toolkit,
)
from tests.snapshots import healthy, with_driver, with_gpu, with_system, with_torch


def findings(snapshot: Snapshot, thresholds: Thresholds | None = None) -> list[Finding]:
    return list(run_rules(snapshot, thresholds))


def ids(snapshot: Snapshot, severity: str | None = None) -> set[str]:
    return {f.id for f in findings(snapshot) if severity is None or f.severity == severity}


def only(snapshot: Snapshot, finding_id: str, thresholds: Thresholds | None = None) -> Finding:
    (match,) = [f for f in findings(snapshot, thresholds) if f.id == finding_id]
    return match


BUILDS = Thresholds(builds_cuda_code=True)


def test_healthy_workstation_has_nothing_to_say() -> None:
    assert findings(healthy()) == []


# --- driver -----------------------------------------------------------------------------


def test_driver_below_minor_compat_floor_is_an_error_with_a_build_that_runs() -> None:
    snapshot = with_driver(healthy(), version=DriverVersion("418.39"),
                           cuda_driver_api=Version("10.1"))
    finding = only(snapshot, "driver-too-old-for-torch-cuda")
    assert finding.severity == "error"
    assert "418.39" in finding.summary
    assert "12.4" in finding.summary


def test_minor_version_compatibility_is_not_an_error() -> None:
    # torch 1.13.1+cu117 needs CUDA 11.7's driver, but any 11.x runs on the 11.x floor:
    # a 460 driver runs it (NVIDIA's CUDA Compatibility guide).
    snapshot = with_torch(with_driver(healthy(), version=DriverVersion("460.32.03"),
                                      cuda_driver_api=Version("11.2")),
                          version=Version("1.13.1+cu117"), cuda=Version("11.7"),
                          cudnn=None)
    snapshot = replace(snapshot, packages=(), cuda_libraries=(), toolkits=())
    result = findings(snapshot)
    assert not [f for f in result if f.severity == "error"], result
    assert "driver-runs-torch-cuda-by-minor-compat" in {f.id for f in result}


def test_driver_library_mismatch_says_reboot() -> None:
    snapshot = with_driver(healthy(), status="error", version=None,
                           error_code="NVML_ERROR_LIB_RM_VERSION_MISMATCH",
                           kernel_module_version=DriverVersion("550.54.15"))
    finding = only(snapshot, "driver-library-version-mismatch")
    assert finding.category == "driver_not_loaded"
    assert "reboot" in (finding.fix or "")


def test_driver_not_loaded() -> None:
    snapshot = replace(with_driver(healthy(), status="absent", version=None,
                                   error_code="NVML_ERROR_DRIVER_NOT_LOADED"), gpus=())
    assert only(snapshot, "driver-not-loaded").severity == "error"


def test_no_driver_on_a_cpu_machine_is_not_an_error() -> None:
    snapshot = replace(with_driver(healthy(), status="absent", version=None,
                                   cuda_driver_api=None), gpus=())
    assert ids(snapshot, "error") == set()


# --- the torch build --------------------------------------------------------------------


def test_cpu_only_torch_on_a_gpu_machine() -> None:
    snapshot = with_torch(healthy(), version=Version("2.5.1+cpu"), cuda=None, cudnn=None)
    finding = only(snapshot, "cpu-only-torch-on-gpu-machine")
    assert finding.severity == "error"
    assert "1 NVIDIA GPU" in finding.summary
    assert "download.pytorch.org/whl/cu" in (finding.fix or "") or "pip install torch==" in (
        finding.fix or "")


def test_gpu_newer_than_the_build_is_not_covered() -> None:
    snapshot = with_gpu(healthy(), name="NVIDIA GeForce RTX 5090", compute_capability="12.0")
    finding = only(snapshot, "gpu-arch-not-in-torch-build")
    assert "sm_120" in finding.summary
    assert finding.evidence["compute_capability"] == "12.0"


def test_measured_arch_list_decides_over_the_tables() -> None:
    snapshot = with_torch(healthy(), arch_list=("sm_80", "sm_90"),
                          provenance={"arch_list": "derived"})
    # sm_80 machine code runs on 8.9 (same major, higher minor): covered.
    assert "gpu-arch-not-in-torch-build" not in ids(snapshot)
    snapshot = with_torch(healthy(), arch_list=("sm_90",), provenance={"arch_list": "derived"})
    assert "gpu-arch-not-in-torch-build" in ids(snapshot)
    snapshot = with_torch(healthy(), arch_list=("sm_75", "compute_75"),
                          provenance={"arch_list": "derived"})
    assert "gpu-arch-not-in-torch-build" not in ids(snapshot)  # PTX JIT-compiles forward


def test_torchvision_of_another_release() -> None:
    snapshot = replace(healthy(), packages=(Package(name="torch", version="2.5.1"),
                                            Package(name="torchvision", version="0.19.0")))
    finding = only(snapshot, "torchvision-not-paired-with-torch")
    assert "0.19.0" in finding.summary
    assert "torchvision==0.20.1" in (finding.fix or "")


def test_torchvision_of_another_cuda_variant() -> None:
    snapshot = with_torch(healthy(), version=Version("2.5.1+cu124"))
    snapshot = replace(snapshot, packages=(Package(name="torch", version="2.5.1+cu124"),
                                           Package(name="torchvision", version="0.20.1+cu118")))
    assert only(snapshot, "torchvision-other-cuda-variant").severity == "error"


def test_python_without_wheels() -> None:
    snapshot = replace(healthy(), python=replace(healthy().python, version=Version("3.14.0")))
    finding = only(snapshot, "python-not-supported-by-torch")
    assert "3.14" in finding.summary


def test_glibc_older_than_the_wheel_needs() -> None:
    snapshot = with_system(healthy(), glibc=Version("2.5"))
    snapshot = with_torch(snapshot, version=Version("2.14.1"), cuda=Version("13.0"),
                          cudnn=None)
    snapshot = replace(snapshot, packages=(), cuda_libraries=())
    assert "glibc-older-than-torch-wheel" in ids(snapshot, "error")


def test_torch_newer_than_the_tables_is_information_not_an_error() -> None:
    snapshot = with_torch(healthy(), version=Version("9.9.0"), cudnn=None)
    snapshot = replace(snapshot, packages=())
    result = findings(snapshot)
    assert "torch-newer-than-knowledge" in {f.id for f in result}
    assert not [f for f in result if f.severity == "error"]


def test_unknown_gpu_is_information() -> None:
    snapshot = with_gpu(healthy(), name="NVIDIA Imaginary X1", compute_capability=None)
    result = findings(snapshot)
    assert "gpu-unknown-to-knowledge" in {f.id for f in result}
    assert not [f for f in result if f.severity == "error"]


# --- toolkit and libraries --------------------------------------------------------------


def test_nvcc_of_another_major_breaks_extension_builds() -> None:
    snapshot = replace(healthy(), toolkits=(
        Toolkit(path="/usr/local/cuda-11.8", nvcc_version=Version("11.8"), sources=("PATH",)),
        Toolkit(path="/usr/local/cuda-12.4", nvcc_version=Version("12.4"),
                sources=("default",))))
    finding = only(snapshot, "nvcc-major-differs-from-torch-cuda", BUILDS)
    assert finding.severity == "error"
    assert finding.fix == "export CUDA_HOME=/usr/local/cuda-12.4"


def test_nvcc_of_another_major_is_a_warning_when_nothing_is_built() -> None:
    # A CUDA 13 toolkit next to a cu124 torch: torch runs; only an extension build would fail.
    snapshot = replace(healthy(), toolkits=(
        Toolkit(path="/usr/local/cuda-13.0", nvcc_version=Version("13.0"), sources=("PATH",)),))
    finding = only(snapshot, "nvcc-major-differs-from-torch-cuda")
    assert finding.severity == "warning"
    assert "only when something compiles CUDA code" in finding.explanation
    assert not ids(snapshot, "error")


def test_a_pasted_nvcc_banner_is_named_without_an_empty_path() -> None:
    # A report gives nvcc's banner only: no path, no way it was found (flashattn-825).
    snapshot = replace(healthy(), toolkits=(Toolkit(path="", nvcc_version=Version("10.1")),))
    finding = only(snapshot, "nvcc-major-differs-from-torch-cuda", BUILDS)
    assert finding.summary.startswith("nvcc 10.1 is CUDA 10 but torch ")
    pasted = replace(snapshot, toolkits=(Toolkit(path="", nvcc_version=Version("13.0")),),
                     gpus=(replace(snapshot.gpus[0], name="NVIDIA GeForce GTX 1080 Ti",
                                   compute_capability="6.1"),))
    assert only(pasted, "nvcc-cannot-target-gpu", BUILDS).summary.startswith(
        "nvcc 13.0 cannot compile for GPU 0 (NVIDIA GeForce GTX 1080 Ti, sm_61)")
    located = only(_with_toolkit(healthy(), "11.8"), "nvcc-major-differs-from-torch-cuda")
    assert located.summary.startswith("nvcc 11.8 (/usr/local/cuda-11.8, via PATH) is CUDA 11")


def test_nvcc_of_another_minor_is_a_warning_for_builds_and_info_otherwise() -> None:
    snapshot = replace(healthy(), toolkits=(
        Toolkit(path="/usr/local/cuda-12.1", nvcc_version=Version("12.1"), sources=("PATH",)),))
    assert only(snapshot, "nvcc-minor-differs-from-torch-cuda", BUILDS).severity == "warning"
    assert only(snapshot, "nvcc-minor-differs-from-torch-cuda").severity == "info"


def _with_toolkit(snapshot: Snapshot, nvcc: str) -> Snapshot:
    return replace(snapshot, toolkits=(
        Toolkit(path=f"/usr/local/cuda-{nvcc}", nvcc_version=Version(nvcc), sources=("PATH",)),))


def test_nvcc_13_cannot_build_for_pascal_whatever_torch_is() -> None:
    pascal = with_gpu(healthy(), name="NVIDIA GeForce GTX 1080 Ti", compute_capability="6.1")
    snapshot = _with_toolkit(pascal, "13.0")
    finding = only(snapshot, "nvcc-cannot-target-gpu", BUILDS)
    assert finding.severity == "error"
    assert "sm_61" in finding.summary
    assert "sm_75 to sm_121" in finding.summary
    # Without a build it is a warning, and torch (cu124, sm_60 code) is not blamed.
    assert only(snapshot, "nvcc-cannot-target-gpu").severity == "warning"
    assert "error" not in {f.severity for f in findings(snapshot)}
    # The same GPU with a CUDA 12.x toolkit: nvcc 12.4 targets sm_61.
    assert "nvcc-cannot-target-gpu" not in ids(_with_toolkit(pascal, "12.4"))


def test_nvcc_12_6_reaches_blackwell_only_through_ptx() -> None:
    blackwell = with_gpu(healthy(), name="NVIDIA GeForce RTX 5090", compute_capability="12.0")
    finding = only(_with_toolkit(blackwell, "12.6"), "nvcc-only-ptx-for-gpu", BUILDS)
    assert finding.severity == "warning"
    assert "nvcc-only-ptx-for-gpu" not in ids(_with_toolkit(blackwell, "12.8"))


def test_unknown_toolkit_minor_is_not_judged() -> None:
    pascal = with_gpu(healthy(), name="NVIDIA GeForce GTX 1080 Ti", compute_capability="6.1")
    result = ids(_with_toolkit(pascal, "13.2"))
    assert "nvcc-cannot-target-gpu" not in result


def test_ld_library_path_shadowing_the_wheel() -> None:
    older = CudaLibrary(name="nvjitlink", version="12.1.105",
                        path="/usr/local/cuda-12.1/lib64/libnvJitLink.so.12.1.105",
                        origin="system", found_via=("LD_LIBRARY_PATH",))
    snapshot = replace(healthy(), cuda_libraries=(*healthy().cuda_libraries, older))
    finding = only(snapshot, "ld-library-path-shadows-wheel-library")
    assert "12.1.105" in finding.summary
    assert "/usr/local/cuda-12.1/lib64" in (finding.fix or "")


def test_two_system_cudnns_without_a_wheel() -> None:
    libraries = (
        CudaLibrary(name="cudnn", version="8.9.2", path="/usr/lib/libcudnn.so.8.9.2",
                    origin="system", found_via=("ldconfig",)),
        CudaLibrary(name="cudnn", version="8.6.0", path="/opt/cudnn/libcudnn.so.8.6.0",
                    origin="system", found_via=("LD_LIBRARY_PATH",)),
    )
    snapshot = replace(healthy(), cuda_libraries=libraries)
    assert only(snapshot, "several-system-copies-of-cuda-library").severity == "warning"


def test_cudnn_of_another_major() -> None:
    snapshot = with_torch(healthy(), cudnn=Version("8.9.7.29"))
    assert "cudnn-major-differs-from-torch-build" in ids(snapshot, "error")


# --- containers, health, disk, requirements ---------------------------------------------


def _container(**env: str) -> Snapshot:
    snapshot = with_system(healthy(), in_container=True, nvidia_devices=(), env=env,
                           disks=(Disk(path="/dev/shm", role="shm", total_gib=0.0625,
                                       free_gib=0.0625),))
    return replace(with_driver(snapshot, status="absent", version=None), gpus=())


def test_container_without_gpu() -> None:
    finding = only(_container(), "container-sees-no-gpu")
    assert finding.severity == "error"
    assert "--gpus all" in (finding.fix or "")


def test_container_without_compute_capability() -> None:
    snapshot = _container(NVIDIA_DRIVER_CAPABILITIES="utility", NVIDIA_VISIBLE_DEVICES="all")
    assert "container-lacks-compute-capability" in ids(snapshot, "error")


def test_small_shm_with_several_gpus_in_a_container() -> None:
    snapshot = with_system(healthy(), in_container=True, disks=(
        Disk(path="/dev/shm", role="shm", total_gib=0.0625, free_gib=0.0625),))
    snapshot = replace(snapshot, gpus=(snapshot.gpus[0], replace(snapshot.gpus[0], index=1)))
    finding = only(snapshot, "small-shm-in-container")
    assert finding.severity == "error"
    assert "64 MiB" in finding.summary


def test_hot_throttling_gpu_shared_with_another_process() -> None:
    snapshot = with_gpu(healthy(), temperature_c=91,
                        throttle_reasons=("sw_thermal_slowdown", "hw_thermal_slowdown"),
                        memory_used_mib=22410,
                        processes=(GpuProcess(pid=31337, name="python3", used_mib=22000),))
    assert {"gpu-hot", "gpu-thermal-throttling",
            "gpu-memory-held-by-other-processes"} <= ids(snapshot, "warning")
    assert "31337" in only(snapshot, "gpu-memory-held-by-other-processes").summary


def test_temperature_threshold_is_a_boundary() -> None:
    assert "gpu-hot" in ids(with_gpu(healthy(), temperature_c=85))
    assert "gpu-hot" not in ids(with_gpu(healthy(), temperature_c=84))
    hotter = Thresholds(max_temp_c=95)
    assert "gpu-hot" not in {f.id for f in findings(with_gpu(healthy(), temperature_c=91),
                                                     hotter)}


def test_uncorrected_ecc_errors() -> None:
    assert "gpu-uncorrected-ecc-errors" in ids(with_gpu(healthy(), ecc_uncorrected=3), "error")


def test_allocator_advice_only_on_small_cards_without_it() -> None:
    plain = with_system(healthy(), env={})
    small = with_gpu(plain, name="NVIDIA GeForce RTX 4060", compute_capability="8.9",
                     memory_total_mib=8188)
    assert "allocator-advice-for-small-cards" in ids(small, "info")
    assert "allocator-advice-for-small-cards" not in ids(plain)  # 24 GiB is not tight


def test_low_disk_space_boundaries() -> None:
    def disk(free: float) -> Snapshot:
        return with_system(healthy(), disks=(
            Disk(path="/run", role="cwd", total_gib=100.0, free_gib=free),))
    assert only(disk(3.0), "low-disk-space").severity == "error"
    assert only(disk(10.0), "low-disk-space").severity == "warning"
    assert "low-disk-space" not in ids(disk(20.0))


def test_broken_requirements() -> None:
    snapshot = replace(healthy(), packages=(
        Package(name="torch", version="2.5.1", requires=("filelock", "sympy==1.13.1")),
        Package(name="sympy", version="1.12"),
        Package(name="torchvision", version="0.20.1"),
        Package(name="thing", version="1.0", requires=("numpy>=2; python_version >= '3.9'",
                                                      "pywin32; sys_platform == 'win32'")),
    ))
    found = {(f.id, f.evidence.get("package"), f.evidence.get("requirements"))
             for f in findings(snapshot)}
    assert found == {
        ("requirement-missing", "torch", "filelock"),
        ("requirement-version-conflict", "torch", "sympy==1.13.1"),
        ("requirement-missing", "thing", 'numpy>=2; python_version >= "3.9"'),
    }
    conflict = only(snapshot, "requirement-version-conflict")
    assert "sympy==1.13.1 (1.12 installed)" in conflict.summary
    missing = [f for f in findings(snapshot) if f.id == "requirement-missing"]
    assert "pip install 'numpy>=2'" in {f.fix for f in missing}


def test_a_python_that_could_not_be_inspected_is_said() -> None:
    from envcheck.snapshot import PythonEnv, Torch

    snapshot = replace(healthy(), python=PythonEnv(status="error", detail="/x does not exist"),
                       torch=Torch(status="error", detail="the target Python could not be "
                                                          "inspected"), packages=())
    finding = only(snapshot, "python-not-inspected")
    assert finding.severity == "warning"
    assert "/x does not exist" in finding.summary
    assert "torch-unusable" not in ids(snapshot)


def test_torch_that_crashes_on_import_is_an_error() -> None:
    snapshot = with_torch(healthy(), status="error",
                          detail="importing torch failed: python killed by SIGSEGV")
    assert "SIGSEGV" in only(snapshot, "torch-unusable").summary
