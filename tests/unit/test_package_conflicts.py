"""Packages that do not fit together, read as a maintainer reads them: the resolver's and the
import system's own statements, two distributions of one module, framework builds a platform
does not have (real lines, each cited where it was seen)."""

from __future__ import annotations

from envcheck.diagnosis import likely_causes
from envcheck.services.doctor import DoctorRequest, DoctorResult, read_report, run_doctor


def _doctor(report: str, error: str | None = None) -> DoctorResult:
    reading = read_report(report, error, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    return run_doctor(DoctorRequest(snapshot=reading.report.snapshot,
                                    error_text=reading.error_text,
                                    missing=reading.report.missing, report=reading.report))


def _verdict(result: DoctorResult, category: str) -> str | None:
    return next((c.verdict for c in result.causes if c.category == category), None)


def _first(result: DoctorResult) -> str | None:
    ranked = likely_causes(result.causes, result.findings)
    return ranked[0] if ranked else None


# https://github.com/modelscope/modelscope/issues/1050
MISSING_NAME = "cannot import name 'OfflineModeIsEnabled' from 'datasets.utils.file_utils'"


def test_a_name_missing_from_a_package_module_is_stated() -> None:
    result = _doctor("* OS: `Ubuntu 20.04`", MISSING_NAME)
    assert _verdict(result, "broken_requirements") == "confirmed"


def test_a_circular_import_is_not_a_version_mismatch() -> None:
    # The wording Python 3.8+ adds for a partially initialised module.
    error = ("ImportError: cannot import name 'Tensor' from partially initialized module "
             "'torch.tensor' (most likely due to a circular import)")
    result = _doctor("* OS: `Ubuntu 20.04`", error)
    assert _verdict(result, "broken_requirements") != "confirmed"
    error = "cannot import name 'x' from 'mypkg.utils' (most likely due to a circular import)"
    result = _doctor("* OS: `Ubuntu 20.04`", error)
    assert _verdict(result, "broken_requirements") != "confirmed"


def test_the_resolvers_no_solution_is_stated() -> None:
    # https://github.com/rdyro/torch2jax/issues/29 (uv) and
    # https://github.com/oemof/oemof-tabular/issues/133 (pip's ResolutionImpossible)
    uv = ("  \u00d7 No solution found when resolving dependencies:\n  ╰─▶ Because torch>=2.2.0,"
          "<=2.3.1 depends on nvidia-cudnn-cu12==8.9.2.26")
    pip = ("ERROR: Cannot install oemof-tabular==0.0.3 and oemof-tabular==0.0.4 because these "
           "package versions have conflicting dependencies.")
    for error in (uv, pip):
        result = _doctor("Python 3.12.7", error)
        assert _verdict(result, "broken_requirements") == "confirmed"
        assert _first(result) == "broken_requirements"


def test_a_submodule_missing_from_an_installed_package_is_stated() -> None:
    # https://github.com/open-mmlab/mmdetection/issues/3807
    report = "mmcv                      1.1.2                    pypi_0    pypi"
    result = _doctor(report, "ModuleNotFoundError: No module named 'mmcv.cnn.weight_init'")
    assert _verdict(result, "broken_requirements") == "confirmed"


# https://github.com/microsoft/onnxruntime/issues/6183
BOTH_ORT = ("- OS Platform and Distribution (e.g., Linux Ubuntu 16.04): Ubuntu 18.04\n"
            "- ONNX Runtime version: 1.6.0\n"
            "-  I had installed both onnxruntime and onnxruntime-gpu. When I tried creating a "
            "session with the model given below, CUDA provider is not being listed.")


def test_cpu_and_gpu_distributions_of_one_module_installed_together() -> None:
    result = _doctor(BOTH_ORT)
    errors = [f for f in result.findings if f.severity == "error"]
    assert [f.id for f in errors] == ["several-distributions-of-one-module"]
    assert "onnxruntime and onnxruntime-gpu" in errors[0].summary
    assert _first(result) == "broken_requirements"


def test_one_distribution_named_or_a_negated_install_is_no_conflict() -> None:
    for text in ("Ubuntu 18.04\nI installed onnxruntime-gpu 1.6.0 and it works.",
                 "Ubuntu 18.04\nI haven't installed onnxruntime, only onnxruntime-gpu.",
                 "Ubuntu 18.04\nonnxruntime and onnxruntime-gpu should not both be installed.",
                 "Ubuntu 18.04\nI installed onnxruntime-gpu and uninstalled onnxruntime.",
                 "Ubuntu 18.04\nI installed onnxruntime-gpu instead of onnxruntime."):
        result = _doctor(text)
        assert not [f for f in result.findings if f.severity == "error"], text


# https://github.com/dmlc/dgl/issues/3932
DGL = ("hi, I have a question about the GPU version of dgl. [...] it would report an error that "
       "is \"Device API GPU is not enabled. Please install the Cuda version of dgl.\" But I had "
       "already installed dgl-cu111. I tried to uninstall the CPU version of dgl\n"
       "system: Win 10\nCUDA 11.1")


def test_the_cpu_builds_message_with_the_cuda_build_installed() -> None:
    result = _doctor(DGL, "Device API GPU is not enabled. Please install the Cuda version of dgl.")
    assert _verdict(result, "broken_requirements") == "confirmed"
    assert _first(result) == "broken_requirements"
    # without the CUDA build named, the message itself says a CPU build is imported
    result = _doctor("system: Win 10\nCUDA 11.1",
                     "Device API GPU is not enabled. Please install the Cuda version of dgl.")
    assert _first(result) == "cpu_only_wheel"


# https://github.com/tensorflow/tensorflow/issues/64536 (the issue template as filled in)
TF_TEMPLATE = ("### TensorFlow version\n\ntf {version}\n\n### OS platform and distribution\n\n"
               "{os}\n\n### Python version\n\n3.11\n\n### CUDA/cuDNN version\n\n12.3\n")


def test_tensorflow_after_210_on_native_windows_has_no_gpu_build() -> None:
    result = _doctor(TF_TEMPLATE.format(version="2.16", os="win10"))
    assert result.snapshot.python.version is not None
    assert str(result.snapshot.python.version) == "3.11"
    errors = [f for f in result.findings if f.severity == "error"]
    assert [f.category for f in errors] == ["cpu_only_wheel"]
    assert "2.10 was the last release" in errors[0].summary


def test_tensorflow_210_or_linux_or_no_gpu_setup_is_not_an_error() -> None:
    for version, os_name in (("2.10", "win10"), ("2.16", "Ubuntu 22.04")):
        result = _doctor(TF_TEMPLATE.format(version=version, os=os_name))
        assert not [f for f in result.findings if f.category == "cpu_only_wheel"], version
    # nothing on the machine is set up for a GPU: a CPU TensorFlow is a choice, not an error
    text = "### TensorFlow version\n\n2.16.1\n\n### OS platform and distribution\n\nWindows 11\n"
    found = [f for f in _doctor(text).findings if f.category == "cpu_only_wheel"]
    assert [f.severity for f in found] == ["warning"]


# https://github.com/pytorch/pytorch/issues/137853: collect_env without torch, and the release
# the reporter cannot install named in the sentence above it.
NO_TORCH = ("i have upgraded to python 3.13 in my local env(macos 15.0.1), but can not install "
            "pytorch {version}\n\nPyTorch version: N/A\nIs debug build: N/A\n"
            "CUDA used to build PyTorch: N/A\nOS: macOS 15.0.1 (arm64)\n"
            "Python version: 3.13.0 (main, Oct  7 2024, 05:02:14) [Clang 16.0.0 "
            "(clang-1600.0.26.3)] (64-bit runtime)\n")


def test_the_release_a_report_cannot_install_is_judged_against_its_python() -> None:
    result = _doctor(NO_TORCH.format(version="2.4.1"))
    errors = [f for f in result.findings if f.severity == "error"]
    assert [f.id for f in errors] == ["python-not-supported-by-torch"]
    assert _first(result) == "python_unsupported"


def test_a_release_that_has_wheels_for_it_or_an_installed_torch_is_no_finding() -> None:
    assert not [f for f in _doctor(NO_TORCH.format(version="2.6.0")).findings
                if f.severity == "error"]
    installed = NO_TORCH.format(version="2.4.1").replace("PyTorch version: N/A",
                                                         "PyTorch version: 2.6.0")
    assert not [f for f in _doctor(installed).findings if f.id == "python-not-supported-by-torch"]


def test_a_pyg_extension_built_for_another_cuda_is_stated() -> None:
    # https://github.com/rusty1s/pytorch_sparse/issues/49: the message names both CUDA versions
    error = ("RuntimeError: Detected that PyTorch and torch_sparse were compiled with different "
             "CUDA versions. PyTorch has CUDA version 10.1 and torch_sparse has CUDA version "
             "10.0. Please reinstall the torch_sparse that matches your PyTorch install.")
    result = _doctor("I'm trying to run PyTorch Geometric in google colab", error)
    assert _verdict(result, "torchvision_mismatch") == "confirmed"


def test_gptq_kernels_and_flash_attn_optional_kernels_point_at_the_packages() -> None:
    # https://github.com/hiyouga/LlamaFactory/issues/3866 (auto-gptq 0.5.0's warnings) and
    # https://github.com/modelscope/ms-swift/issues/2089 (Qwen's modeling code's warning)
    result = _doctor("auto-gptq 0.5.0\nA100和T4测试都是相同的问题",
                     "CUDA extension not installed\nexllama_kernels not installed")
    assert _first(result) == "broken_requirements"
    zh_template = "GPU\uff1a4090\n\u7cfb\u7edf\uff1aubuntu 22.04"
    result = _doctor(zh_template, "import flash_attn rotary fail")
    assert _first(result) == "broken_requirements"
    # a warning, not a proof: nothing is raised as an error from it
    assert not [f for f in result.findings if f.severity == "error"]


def test_paddle_cpu_and_gpu_packages_installed_together() -> None:
    # https://github.com/PaddlePaddle/Paddle/issues/47344 ("同时安装了paddle的CPU版本和GPU版本",
    # paddlepaddle 2.3.2 and paddlepaddle-gpu 2.3.2 on CentOS 7.9)
    report = ("Package          Version\n---------------- -------\npaddlepaddle     2.3.2\n"
              "paddlepaddle-gpu 2.3.2\n")
    found = [f for f in _doctor(report).findings if f.severity == "error"]
    assert [f.id for f in found] == ["several-distributions-of-one-module"]
    assert "`paddle` module" in found[0].summary


def test_a_packages_own_version_check_is_stated() -> None:
    # https://github.com/YanWenKun/Hunyuan3D-2-WinPortable/issues/105 (transformers'
    # require_version, transformers/utils/versions.py)
    error = ("ImportError: tokenizers>=0.22.0,<=0.23.0 is required for a normal functioning of "
             "this module, but found tokenizers==0.21.4.")
    result = _doctor("Python 3.12.7", error)
    assert _verdict(result, "broken_requirements") == "confirmed"


# https://github.com/Lightning-AI/pytorch-lightning/issues/899: a conda list cut after its
# first rows, the variant selector among them, and Lightning's "no GPUs" error.
CONDA_CPU = ("```\n# Name                    Version                   Build  Channel\n"
             "_libgcc_mutex             0.1                        main  \n"
             "_pytorch_select           0.1                       {build}  \n"
             "absl-py                   0.9.0                    py37_0  \n```")
LIGHTNING = ("pytorch_lightning.utilities.debugging.MisconfigurationException: \n"
             "            You requested GPUs: [0]\n            But your machine only has: []")


def test_condas_variant_selector_says_the_cpu_build_is_installed() -> None:
    result = _doctor(CONDA_CPU.format(build="cpu_0"), LIGHTNING)
    torch = result.snapshot.torch
    assert torch.status == "ok"
    assert torch.cuda is None
    assert torch.provenance.get("cuda") == "derived"
    assert _verdict(result, "cpu_only_wheel") == "likely"
    assert _first(result) == "cpu_only_wheel"


def test_the_gpu_selector_or_no_gpu_message_is_no_cpu_build_finding() -> None:
    result = _doctor(CONDA_CPU.format(build="gpu_0"), LIGHTNING)
    assert result.snapshot.torch.status == "unknown"
    assert _verdict(result, "cpu_only_wheel") == "possible"
    # without a message that asked for CUDA, a CPU build on a machine of unknown GPUs is fine
    result = _doctor(CONDA_CPU.format(build="cpu_0"))
    assert not [f for f in result.findings if f.severity == "error"]


def test_windows_then_wsl2_is_wsl_not_native_windows() -> None:
    # synthetic (a review of false errors): TensorFlow's GPU build is there under WSL2
    from envcheck.reports.build import snapshot_from_report
    from envcheck.rules import run_rules

    text = ("- OS: Windows 11\n- I run everything inside WSL2 (Ubuntu 22.04)\n"
            "- GPU: RTX 3060, driver 552.44\n"
            "Package                      Version\n---------------------------- -------\n"
            "tensorflow                   2.15.1\n")
    report = snapshot_from_report(text, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    assert report.snapshot.system.wsl is True
    assert "tensorflow-has-no-gpu-build-on-windows" not in {
        f.id for f in run_rules(report.snapshot)}
    without = text.replace("- I run everything inside WSL2 (Ubuntu 22.04)\n", "")
    native = snapshot_from_report(without, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    assert "tensorflow-has-no-gpu-build-on-windows" in {f.id for f in run_rules(native.snapshot)}
