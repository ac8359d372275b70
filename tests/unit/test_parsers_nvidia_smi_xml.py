"""parse_nvidia_smi_xml on recorded `nvidia-smi -q -x` output (tests/data/*/SOURCE.md)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from envcheck.errors import ParseError
from envcheck.parsers.nvidia_smi_xml import SmiReport, parse_nvidia_smi_xml
from envcheck.snapshot import DriverVersion, GpuProcess

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLES = sorted(path.parent.name for path in DATA.glob("*/nvidia-smi-q-x.xml"))


def parse_sample(scenario: str) -> SmiReport:
    return parse_nvidia_smi_xml((DATA / scenario / "nvidia-smi-q-x.xml").read_text())


def test_every_sample_is_covered() -> None:
    assert SAMPLES == [
        "a100-mig-driver535",
        "dual-rtx2070-driver590",
        "gridp4-vgpu-driver513",
        "gtx1070ti-telegraf-trimmed",
        "gtx1660ti-driver418",
        "rtx4090-driver535",
        "teslap100-driver510",
    ]


@pytest.mark.parametrize("scenario", SAMPLES)
def test_no_recorded_driver_reports_compute_capability(scenario: str) -> None:
    assert all(gpu.compute_capability is None for gpu in parse_sample(scenario).gpus)


def test_rtx4090_driver535_clocks_event_reasons_and_gpu_power_readings() -> None:
    report = parse_sample("rtx4090-driver535")

    assert report.driver_version == "535.86.05"
    assert report.cuda_version == Version("12.2")
    (gpu,) = report.gpus
    assert gpu.index == 0
    assert gpu.name == "NVIDIA GeForce RTX 4090"
    assert gpu.uuid == "GPU-71d1acc2-662d-2166-bf9f-65272d2fc437"
    assert gpu.memory_total_mib == 24564
    assert gpu.memory_used_mib == 2
    assert gpu.temperature_c == 40
    assert gpu.power_w == 26.84
    assert gpu.power_limit_w == 450.0  # <current_power_limit>: R535 has no enforced_power_limit
    assert gpu.utilization_pct == 0
    assert gpu.throttle_reasons == ("gpu_idle",)
    assert gpu.processes == ()
    assert gpu.mig_mode is None
    assert gpu.ecc_uncorrected is None
    assert gpu.unavailable == {"mig_mode": "N/A", "ecc_uncorrected": "N/A"}


def test_driver_version_keeps_nvidias_spelling() -> None:
    # packaging would normalise "535.86.05" to 535.86.5, a version no user has seen.
    version = parse_sample("rtx4090-driver535").driver_version
    assert version == "535.86.05"
    assert version is not None
    assert version.key == (535, 86, 5)


def test_teslap100_driver510_legacy_throttle_power_and_ecc_layout() -> None:
    report = parse_sample("teslap100-driver510")

    assert report.driver_version == "510.47.03"
    assert report.cuda_version == Version("11.6")
    (gpu,) = report.gpus
    assert gpu.name == "Tesla P100-PCIE-16GB"
    assert gpu.memory_total_mib == 16384
    assert gpu.memory_used_mib == 0
    assert gpu.temperature_c == 38
    assert gpu.power_w == 26.16
    assert gpu.power_limit_w == 250.0
    assert gpu.throttle_reasons == ("gpu_idle",)
    # volatile double_bit total is 0; the aggregate single-bit count of 3 is not uncorrected
    assert gpu.ecc_uncorrected == 0
    assert gpu.unavailable == {"mig_mode": "N/A"}


def test_gtx1660ti_driver418_unknown_board_name_and_no_doctype() -> None:
    report = parse_sample("gtx1660ti-driver418")

    assert report.driver_version == "418.43"
    assert report.cuda_version == Version("10.1")
    (gpu,) = report.gpus
    assert gpu.name == "Graphics Device"  # the 418 driver did not know the GTX 1660 Ti yet
    assert gpu.uuid == "GPU-304a277d-3545-63b8-3a36-dfde3c992989"
    assert gpu.memory_total_mib == 5912
    assert gpu.power_w == 8.93
    assert gpu.power_limit_w == 130.0
    assert gpu.throttle_reasons == ("gpu_idle",)
    assert gpu.mig_mode is None  # no <mig_mode> element before R450
    assert "mig_mode" not in gpu.unavailable


def test_a100_mig_driver535() -> None:
    report = parse_sample("a100-mig-driver535")

    assert report.driver_version == "535.54.03"
    (gpu,) = report.gpus  # attached_gpus says 4; the recorded file holds one <gpu>
    assert gpu.name == "NVIDIA A100-SXM4-80GB"
    assert gpu.mig_mode is True
    assert gpu.memory_total_mib == 81920
    assert gpu.memory_used_mib == 50
    assert gpu.temperature_c == 27
    assert gpu.power_w == 67.03
    assert gpu.power_limit_w == 500.0
    assert gpu.utilization_pct is None  # whole-GPU utilization is N/A under MIG
    assert gpu.unavailable == {"utilization_pct": "N/A"}
    assert gpu.ecc_uncorrected == 0  # sram_uncorrectable 0 + dram_uncorrectable 0
    assert gpu.throttle_reasons == ()
    assert gpu.processes == ()  # <processes /> self-closing


def test_dual_rtx2070_driver590_two_gpus_and_instant_power_draw() -> None:
    report = parse_sample("dual-rtx2070-driver590")

    assert report.driver_version == "590.44.01"
    assert report.cuda_version == Version("13.1")
    assert [gpu.index for gpu in report.gpus] == [0, 1]
    assert [gpu.name for gpu in report.gpus] == ["NVIDIA GeForce RTX 2070"] * 2
    assert [gpu.uuid for gpu in report.gpus] == [
        "GPU-12345678-aaaa-bbbb-cccc-0123456789ab",
        "GPU-12345678-aaaa-bbbb-cccc-0123456789cd",
    ]
    assert [gpu.temperature_c for gpu in report.gpus] == [14, 13]
    # R590 has no <power_draw>; the reading is <instant_power_draw>
    assert [gpu.power_w for gpu in report.gpus] == [9.23, 11.82]
    assert [gpu.power_limit_w for gpu in report.gpus] == [175.0, 175.0]
    assert [gpu.memory_total_mib for gpu in report.gpus] == [8192, 8192]
    assert all(gpu.throttle_reasons == ("gpu_idle",) for gpu in report.gpus)


def test_gridp4_vgpu_driver513_processes_without_names_or_memory() -> None:
    report = parse_sample("gridp4-vgpu-driver513")

    (gpu,) = report.gpus
    assert gpu.name == "GRID P4-1Q"
    assert len(gpu.processes) == 13
    assert gpu.processes[0] == GpuProcess(pid=1188, name=None, used_mib=None)
    assert gpu.processes[-1] == GpuProcess(pid=15104, name="C:\\Windows\\explorer.exe",
                                           used_mib=None)
    assert gpu.power_w is None
    assert gpu.power_limit_w is None
    assert gpu.throttle_reasons == ()  # <clocks_throttle_reasons>N/A</clocks_throttle_reasons>
    assert gpu.unavailable == {
        "power_w": "N/A",
        "power_limit_w": "N/A",
        "throttle_reasons": "N/A",
        "mig_mode": "N/A",
        "ecc_uncorrected": "N/A",
    }


def test_trimmed_report_without_driver_or_sections() -> None:
    report = parse_sample("gtx1070ti-telegraf-trimmed")

    assert report.driver_version is None
    assert report.cuda_version is None
    (gpu,) = report.gpus
    assert gpu.name == "GeForce GTX 1070 Ti"
    assert gpu.memory_total_mib == 4096
    assert gpu.memory_used_mib == 42
    assert gpu.temperature_c == 39
    assert gpu.power_w is None
    assert gpu.power_limit_w is None
    assert gpu.throttle_reasons == ()
    assert gpu.ecc_uncorrected is None
    assert gpu.unavailable == {"power_w": "N/A"}


# Synthetic, not recorded: no public sample with these values was found; each string is the
# smallest document that exercises one reading.
SYNTHETIC_ACTIVE_THROTTLES = """<?xml version="1.0" ?>
<nvidia_smi_log><driver_version>550.54.15</driver_version><cuda_version>12.4</cuda_version>
<gpu id="00000000:01:00.0"><product_name>SYNTHETIC</product_name>
<clocks_throttle_reasons>
<clocks_throttle_reason_hw_thermal_slowdown>Active</clocks_throttle_reason_hw_thermal_slowdown>
<clocks_throttle_reason_sw_power_cap>Active</clocks_throttle_reason_sw_power_cap>
<clocks_throttle_reason_display_clocks_setting>Active</clocks_throttle_reason_display_clocks_setting>
<clocks_throttle_reason_gpu_idle>Not Active</clocks_throttle_reason_gpu_idle>
<clocks_throttle_reason_something_new>Active</clocks_throttle_reason_something_new>
</clocks_throttle_reasons>
<processes><process_info><pid>4242</pid><type>C</type><process_name>python</process_name>
<used_memory>18432 MiB</used_memory></process_info></processes>
<temperature><gpu_temp>[Not Supported]</gpu_temp></temperature>
<fb_memory_usage><total>Unknown Error</total><used>12 GiB</used></fb_memory_usage>
</gpu></nvidia_smi_log>
"""


def test_synthetic_active_throttles_in_nvml_bit_order_then_unknown() -> None:
    (gpu,) = parse_nvidia_smi_xml(SYNTHETIC_ACTIVE_THROTTLES).gpus
    assert gpu.throttle_reasons == (
        "sw_power_cap", "hw_thermal_slowdown", "display_clock_setting", "something_new"
    )


def test_synthetic_compute_process_memory() -> None:
    (gpu,) = parse_nvidia_smi_xml(SYNTHETIC_ACTIVE_THROTTLES).gpus
    assert gpu.processes == (GpuProcess(pid=4242, name="python", used_mib=18432),)


def test_synthetic_not_supported_and_unreadable_values() -> None:
    (gpu,) = parse_nvidia_smi_xml(SYNTHETIC_ACTIVE_THROTTLES).gpus
    assert gpu.temperature_c is None
    assert gpu.memory_total_mib is None
    assert gpu.memory_used_mib is None
    assert gpu.unavailable == {
        "temperature_c": "[Not Supported]",
        "memory_total_mib": "Unknown Error",
        "memory_used_mib": "unreadable value '12 GiB'",
    }


def test_synthetic_cuda_version_not_found_is_none() -> None:
    # R530 prints <cuda_version>Not Found</cuda_version> when it cannot load libcuda.
    report = parse_nvidia_smi_xml(
        "<nvidia_smi_log><driver_version>530.30.02</driver_version>"
        "<cuda_version>Not Found</cuda_version></nvidia_smi_log>"
    )
    assert report == SmiReport(
        driver_version=DriverVersion("530.30.02"), cuda_version=None, gpus=()
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty text"),
        ("   \n", "empty text"),
        ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
         "not XML"),
        ("<nvidia_smi_log><gpu>", "not XML"),
        ('<?xml version="1.0"?><html><body/></html>', "<html> document"),
        ("<nvidia_smi_log><gpu><uuid>GPU-x</uuid></gpu></nvidia_smi_log>", "no <product_name>"),
        ('<!DOCTYPE x [<!ENTITY e "boom">]><nvidia_smi_log>&e;</nvidia_smi_log>', "not XML"),
        ('<!DOCTYPE a><!DOCTYPE b [<!ENTITY e "x">]><nvidia_smi_log/>', "DTD"),
        ("<nvidia_smi_log>\ud800</nvidia_smi_log>", "not XML"),
    ],
)
def test_garbage_raises_parse_error_saying_what_was_expected(text: str, expected: str) -> None:
    with pytest.raises(ParseError, match="expected nvidia-smi -q -x output") as caught:
        parse_nvidia_smi_xml(text)
    assert expected in caught.value.message


def test_collect_env_report_is_refused() -> None:
    with pytest.raises(ParseError):
        parse_nvidia_smi_xml("PyTorch version: 2.3.0+cu121\nIs debug build: False\n")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_only_parse_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        parse_nvidia_smi_xml(text)


@settings(max_examples=300, deadline=None)
@given(
    scenario=st.sampled_from(SAMPLES),
    cut=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    insert=st.text(alphabet="<>/&;=\"' abcNA[]0123456789.%CWMiB\n\t", max_size=12),
)
def test_mutated_samples_raise_only_parse_error(
    scenario: str, cut: tuple[float, float], insert: str
) -> None:
    text = (DATA / scenario / "nvidia-smi-q-x.xml").read_text()
    start, end = sorted(int(fraction * len(text)) for fraction in cut)
    with contextlib.suppress(ParseError):
        parse_nvidia_smi_xml(text[:start] + insert + text[end:])


XML_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, exclude_categories=["Cs"],
                           exclude_characters="<&\ufffe\uffff"),
    max_size=20,
).filter(lambda value: "]]>" not in value)


@settings(max_examples=200, deadline=None)
@given(scenario=st.sampled_from(SAMPLES), value=XML_TEXT, which=st.integers(min_value=0))
def test_samples_with_any_value_replaced_still_parse(scenario: str, value: str, which: int) -> None:
    # A well-formed report with an odd value in any leaf must parse: no value is trusted.
    text = (DATA / scenario / "nvidia-smi-q-x.xml").read_text()
    leaves = list(re.finditer(r">([^<>\n]+)</", text))
    leaf = leaves[which % len(leaves)]
    mutated = text[: leaf.start(1)] + value + text[leaf.end(1) :]
    assert len(parse_nvidia_smi_xml(mutated).gpus) == len(parse_sample(scenario).gpus)
