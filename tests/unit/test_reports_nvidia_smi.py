"""nvidia-smi tables, -L lines and -q -x XML inside pasted reports."""

from __future__ import annotations

from pathlib import Path

from packaging.version import Version

from envcheck.reports.build import ReportSnapshot, snapshot_from_report
from envcheck.reports.nvidia_smi_table import TRUNCATED, parse_nvidia_smi_table
from envcheck.snapshot import GpuProcess

DATA = Path(__file__).resolve().parent.parent / "data"
FORMATS = DATA / "report_formats"


def read_text(text: str) -> ReportSnapshot:
    return snapshot_from_report(text, taken_at="t", envcheck_version="v")


def read(name: str) -> ReportSnapshot:
    return read_text((FORMATS / name).read_text())


def test_r440_table_processes_without_gi_ci_and_nvcc_after_it() -> None:
    result = read("nvidia-smi-440.100-with-nvcc.txt")
    snapshot = result.snapshot

    assert result.recognised == ("nvidia-smi-table", "nvcc")
    assert snapshot.driver.version == "440.100"
    assert snapshot.driver.cuda_driver_api == Version("10.2")
    (gpu,) = snapshot.gpus
    assert gpu.name == "GeForce RTX 207..."
    assert gpu.unavailable == {"name": TRUNCATED}
    assert gpu.temperature_c == 48
    assert gpu.power_w == 6.0
    assert gpu.power_limit_w is None  # "6W /  N/A"
    assert gpu.memory_used_mib == 246
    assert gpu.memory_total_mib == 7973
    assert gpu.utilization_pct == 6
    assert gpu.processes[0] == GpuProcess(pid=1357, name="/usr/lib/xorg/Xorg", used_mib=18)
    assert [p.pid for p in gpu.processes] == [1357, 1417, 1811, 1968]
    (toolkit,) = snapshot.toolkits
    assert (toolkit.nvcc_version, toolkit.nvcc_build) == (Version("10.2"), "V10.2.89")
    assert snapshot.torch.status == "unknown"
    assert snapshot.torch.detail == "not in the report"
    assert "the torch version" in result.missing
    assert "torch's CUDA build" in result.missing
    assert "the NVIDIA driver version" not in result.missing


def test_r470_table_with_gi_ci_columns() -> None:
    (gpu,) = read("nvidia-smi-470.63.01.txt").snapshot.gpus

    assert gpu.name == "NVIDIA GeForce ..."
    assert gpu.memory_total_mib == 16116
    assert gpu.power_w == 21.0
    assert len(gpu.processes) == 6
    assert gpu.processes[1] == GpuProcess(pid=8090, name="/usr/lib/xorg/Xorg", used_mib=155)


def test_r550_wide_table_ten_gpus_no_processes() -> None:
    snapshot = read("nvidia-smi-550.127.05-a40x10.txt").snapshot

    assert snapshot.driver.version == "550.127.05"
    assert snapshot.driver.cuda_driver_api == Version("12.4")
    assert [gpu.index for gpu in snapshot.gpus] == list(range(10))
    assert all(gpu.name == "NVIDIA A40" and gpu.unavailable == {} for gpu in snapshot.gpus)
    assert snapshot.gpus[2].temperature_c == 27
    assert snapshot.gpus[2].power_w == 15.0
    assert snapshot.gpus[2].power_limit_w == 300.0
    assert snapshot.gpus[9].memory_total_mib == 46068
    assert all(gpu.processes == () for gpu in snapshot.gpus)


def test_nvidia_smi_l_gives_full_name_and_uuid() -> None:
    result = read("nvidia-smi-L-rtx4070.txt")

    (gpu,) = result.snapshot.gpus
    assert result.recognised == ("nvidia-smi-L",)
    assert gpu.name == "NVIDIA GeForce RTX 4070 Laptop GPU"
    assert gpu.uuid == "GPU-1b724e78-eef5-4163-d43c-e4da15d41176"
    assert result.snapshot.driver.status == "unknown"
    assert "the NVIDIA driver version" in result.missing


def test_full_name_from_l_replaces_the_truncated_table_name() -> None:
    table = (FORMATS / "nvidia-smi-470.63.01.txt").read_text()
    # Synthetic -L line for the same GPU (the table's name is cut at "NVIDIA GeForce ...").
    listed = ("GPU 0: NVIDIA GeForce RTX 3080 Laptop GPU "
              "(UUID: GPU-00000000-1111-2222-3333-444444444444)")
    (gpu,) = read_text(table + "\n" + listed + "\n").snapshot.gpus

    assert gpu.name == "NVIDIA GeForce RTX 3080 Laptop GPU"
    assert gpu.unavailable == {}
    assert gpu.uuid == "GPU-00000000-1111-2222-3333-444444444444"
    assert gpu.memory_total_mib == 16116  # metrics stay from the table


def test_xml_in_a_quoted_fenced_paste() -> None:
    xml = (DATA / "rtx4090-driver535" / "nvidia-smi-q-x.xml").read_text()
    quoted = "> nvidia-smi -q -x:\n> ```xml\n" + "".join(
        f"> {line}\n" for line in xml.splitlines()) + "> ```\n"
    result = read_text(quoted)

    assert result.recognised == ("nvidia-smi-xml",)
    assert result.snapshot.driver.version == "535.86.05"
    assert result.snapshot.driver.cuda_driver_api == Version("12.2")
    (gpu,) = result.snapshot.gpus
    assert gpu.name == "NVIDIA GeForce RTX 4090"
    assert gpu.uuid == "GPU-71d1acc2-662d-2166-bf9f-65272d2fc437"


def test_truncated_xml_is_an_error_probe_not_a_crash() -> None:
    xml = (DATA / "rtx4090-driver535" / "nvidia-smi-q-x.xml").read_text()
    cut = xml[: len(xml) // 2]
    table = (FORMATS / "nvidia-smi-470.63.01.txt").read_text()
    result = read_text("```\n" + cut + "\n```\n" + table)

    assert result.recognised == ("nvidia-smi-table",)
    (xml_probe,) = [p for p in result.snapshot.probes if p.name == "report:nvidia-smi-xml"]
    assert xml_probe.status == "error"
    assert "not XML" in (xml_probe.detail or "")


def test_pre_r410_header_without_cuda_version() -> None:
    # Synthetic rows in the R396 layout (no "CUDA Version" in the header).
    lines = (
        "+-----------------------------------------------------------------------------+",
        "| NVIDIA-SMI 396.45                 Driver Version: 396.45                    |",
        "|===============================+======================+======================|",
        "|   0  GeForce GTX 108...  Off  | 00000000:03:00.0  On |                  N/A |",
        "|  0%   59C    P5    26W / 250W |    672MiB / 11170MiB |      3%      Default |",
        "+-------------------------------+----------------------+----------------------+",
    )
    table = parse_nvidia_smi_table(lines)

    assert table.driver_version == "396.45"
    assert table.cuda_version is None
    (gpu,) = table.gpus
    assert (gpu.temperature_c, gpu.power_w, gpu.power_limit_w) == (59, 26.0, 250.0)


def test_windows_wddm_row_and_header_only_line() -> None:
    # Synthetic: the WDDM row shape of pytorch/pytorch#68611 and the bare header line of
    # pytorch/pytorch#85332 ("nvidia-smi:NVIDIA-SMI 450.51.05    Driver Version: ...").
    text = (
        "nvidia-smi:NVIDIA-SMI 450.51.05    Driver Version: 450.51.05    CUDA Version: 11.0\n"
        "\n"
        "|   0  GeForce GTX 105... WDDM  | 00000000:01:00.0 Off |                  N/A |\n"
        "| N/A   61C    P8    N/A /  N/A |     78MiB /  4096MiB |      0%      Default |\n"
    )
    snapshot = read_text(text).snapshot

    assert snapshot.driver.version == "450.51.05"
    assert snapshot.driver.cuda_driver_api == Version("11.0")
    (gpu,) = snapshot.gpus
    assert gpu.temperature_c == 61
    assert gpu.power_w is None
    assert gpu.memory_total_mib == 4096
