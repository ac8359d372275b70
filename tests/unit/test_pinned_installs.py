"""Installs of packages that pin torch (envcheck.reports.pinned_installs), judged against the
driver read from the same paste; lines copied from public threads (named at each case)
unless marked synthetic."""

from __future__ import annotations

from packaging.version import Version

from envcheck.knowledge.torch_pins import parse_torch_pins, pin_for, pins_of
from envcheck.reports.build import snapshot_from_report
from envcheck.reports.pinned_installs import pinned_torch_findings, read_pinned_installs
from tests.refresh_scripts import loaded_script

# https://github.com/vllm-project/vllm/issues/14608 (the environment and the install command)
VLLM_14608 = """\
### Your current environment

I have a notebook using cuda 11.6 and nvidia Driver Version: 510.108.03.
Python 3.10 or more

### How you are installing vllm

```sh
pip install vllm==0.7.3
```
"""


def _findings(text: str) -> list[str]:
    report = snapshot_from_report(text, taken_at="2026-01-01T00:00:00Z", envcheck_version="t")
    return [f"{f.id} {f.severity}" for f in
            pinned_torch_findings(report.pinned_installs, report.snapshot)]


def test_the_table_holds_vllms_exact_torch_pins() -> None:
    # PyPI METADATA of vllm 0.7.3: "Requires-Dist: torch==2.5.1"
    pin = pin_for("vllm", Version("0.7.3"))
    assert pin is not None
    assert pin.exact == Version("2.5.1")
    assert pin.source.url.startswith("https://pypi.org/project/vllm/")
    # vllm 0.1.x required "torch>=2.0.0": no one release
    first = pins_of("vllm")[0]
    assert first.version == Version("0.1.4")
    assert first.exact is None


def test_the_command_is_read_with_its_release() -> None:
    installs = read_pinned_installs(VLLM_14608.splitlines())
    assert [(i.package, i.version, i.line) for i in installs] == [
        ("vllm", Version("0.7.3"), 9)]


def test_a_driver_older_than_the_pinned_torchs_cuda_is_an_error() -> None:
    # torch 2.5.1's PyPI build is cu124; driver 510 runs CUDA 11.x only
    assert _findings(VLLM_14608) == ["driver-too-old-for-pinned-torch error"]


def test_a_driver_new_enough_is_not_judged() -> None:
    # synthetic: the same command next to a driver of the CUDA 12 branch
    text = VLLM_14608.replace("510.108.03", "535.104.05").replace("cuda 11.6", "cuda 12.2")
    assert _findings(text) == []


def test_another_index_or_a_build_of_its_own_is_not_judged() -> None:
    # https://github.com/vllm-project/vllm/issues/14608 (barikata1984's fix): a cu118 wheel
    fix = ("pip install https://github.com/vllm-project/vllm/releases/download/v0.7.3/"
           "vllm-0.7.3+cu118-cp38-abi3-manylinux1_x86_64.whl --extra-index-url "
           "https://download.pytorch.org/whl/cu118")
    assert read_pinned_installs([fix]) == ()
    # synthetic: a local build label, and torch chosen by the same command
    assert read_pinned_installs(["pip install vllm==0.7.3+cu118"]) == ()
    assert read_pinned_installs(["pip install vllm==0.7.3 torch==2.5.1"]) == ()


def test_without_a_release_every_release_must_agree() -> None:
    # https://github.com/vllm-project/vllm/issues/3812: "pip install vllm" (no version). The
    # releases do not agree for driver 510 (0.2.1.post1 pins torch 2.0.1, a CUDA 11.7 build
    # it runs): no error, a warning that every release after it needs a newer driver.
    text = VLLM_14608.replace("vllm==0.7.3", "vllm")
    installs = read_pinned_installs(text.splitlines())
    assert [(i.package, i.version) for i in installs] == [("vllm", None)]
    assert _findings(text) == ["driver-too-old-for-newer-pinned-torch warning"]
    report = snapshot_from_report(text, taken_at="2026-01-01T00:00:00Z", envcheck_version="t")
    warning = pinned_torch_findings(report.pinned_installs, report.snapshot)[0]
    assert warning.evidence["newest_runnable"] == "0.2.1.post1"
    assert warning.evidence["first_unrunnable"] == "0.2.2"  # torch>=2.1.0: CUDA 12 builds


def test_a_driver_older_than_every_release_is_an_error_without_a_release() -> None:
    # synthetic: every torch a vllm release allows (torch>=2.0.0 and up) is a CUDA 11.7 or
    # newer build, run by minor-version compatibility from 450.80.02 on: not by driver 440
    text = VLLM_14608.replace("vllm==0.7.3", "vllm").replace("510.108.03", "440.33.01")
    assert _findings(text) == ["driver-too-old-for-pinned-torch error"]


def test_a_torch_read_from_the_paste_is_judged_by_the_torch_rules() -> None:
    # synthetic: the torch in the paste is what runs, not the one the command would bring
    text = VLLM_14608 + "\ntorch.__version__ = 2.1.0+cu118\n"
    assert _findings(text) == []


def test_a_malformed_row_is_a_knowledge_error() -> None:
    import pytest

    from envcheck.knowledge.data_files import KnowledgeError

    source = {"id": "s", "title": "t", "url": "u", "retrieved": "2026-12-03"}
    with pytest.raises(KnowledgeError, match="unknown source"):
        parse_torch_pins({"sources": [source], "pin": [
            {"package": "vllm", "version": "0.7.3", "torch": "==2.5.1", "source": "x"}]})
    with pytest.raises(KnowledgeError, match="not a version"):
        parse_torch_pins({"sources": [source], "pin": [
            {"package": "vllm", "version": "0.7.3", "torch": "=2.5.1", "source": "s"}]})


def test_the_refresh_script_reads_the_torch_requirement() -> None:
    with loaded_script("refresh_torch_pins") as script:
        # vllm 0.7.3's Requires-Dist lines (excerpt)
        lines = ["psutil", "torch==2.5.1", "torchvision==0.20.1",
                 "tensorizer>=2.9.0; extra == \"tensorizer\""]
        assert script.torch_requirement(lines) == "==2.5.1"
        assert script.torch_requirement(["psutil"]) == ""
        text = script.render({"vllm": [("0.7.3", "==2.5.1")]}, "2026-12-03")
        document = parse_torch_pins(__import__("tomllib").loads(text))
        assert [(p.version, p.exact) for p in document] == [(Version("0.7.3"), Version("2.5.1"))]
