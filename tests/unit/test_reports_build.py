"""snapshot_from_report on mixtures, half reports, garbage, and fuzzed real samples."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from envcheck.errors import ExitCode, ParseError
from envcheck.reports.build import ReportSnapshot, snapshot_from_report
from envcheck.snapshot import snapshot_from_json, snapshot_to_json

DATA = Path(__file__).resolve().parent.parent / "data"
FORMATS = DATA / "report_formats"
SAMPLES = sorted(FORMATS.glob("*.txt"))


def read_text(text: str) -> ReportSnapshot:
    return snapshot_from_report(text, taken_at="2026-01-01T00:00:00Z", envcheck_version="0.1.0")


def sample(name: str) -> str:
    return (FORMATS / name).read_text()


def github_issue() -> str:
    """Real pieces arranged the way the PyTorch issue template asks for them (the headings
    and the pip freeze lines are synthetic)."""
    return (
        "### 🐛 Describe the bug\n\nCUDA is slow.\n\n### Versions\n\n"
        + sample("collect_env-1.12-yanhui86556.txt")
        + "\n\n`nvidia-smi`:\n\n```\n"
        + sample("nvidia-smi-550.127.05-a40x10.txt")
        + "```\n\n`pip freeze`:\n```text\n"
        + "numpy==1.23.3\ntorch==1.12.1+cu116\nnvidia-cudnn-cu11==8.5.0.96\n"
        + "mypkg @ git+https://github.com/example/mypkg@0123abc\n```\n"
    )


def test_mixture_of_collect_env_nvidia_smi_and_pip_freeze() -> None:
    result = read_text(github_issue())
    snapshot = result.snapshot

    assert result.recognised == ("collect_env", "nvidia-smi-table", "pip-freeze")
    # The table and collect_env disagree (the pieces come from different machines):
    # the table wins and the disagreement is said.
    assert snapshot.driver.version == "550.127.05"
    assert snapshot.driver.detail == (
        "the report shows several driver versions: 550.127.05, 515.65.01")
    assert snapshot.driver.cuda_driver_api == Version("12.4")
    assert len(snapshot.gpus) == 10
    assert snapshot.gpus[0].name == "NVIDIA A40"  # the table's full name is kept
    assert snapshot.gpus[0].memory_total_mib == 46068
    assert snapshot.torch.version == Version("1.12.1+cu116")
    assert snapshot.torch.provenance["version"] == "measured"  # collect_env over pip freeze
    packages = {p.name: p.version for p in snapshot.packages}
    assert packages["mypkg"] == ""
    assert packages["nvidia-cudnn-cu11"] == "8.5.0.96"
    assert any(lib.distribution == "nvidia-cudnn-cu11" for lib in snapshot.cuda_libraries)
    assert result.missing == ()
    assert [probe.name for probe in snapshot.probes] == [
        "report:collect_env", "report:nvidia-smi-table", "report:pip-freeze"]


def test_everything_at_once_round_trips_through_json() -> None:
    text = (
        github_issue()
        + (DATA / "a100-mig-driver535" / "nvidia-smi-q-x.xml").read_text()
        + "\n" + sample("conda-list-ninet.txt") + "\n\n"
        + sample("ldd-tensorrt-paddleseg.txt") + sample("nvidia-smi-L-rtx4070.txt")
        + sample("nvidia-smi-440.100-with-nvcc.txt") + sample("pip-list-pytorch143288.txt")
    )
    result = read_text(text)

    assert set(result.recognised) == {
        "collect_env", "nvidia-smi-table", "pip-freeze", "nvidia-smi-xml", "conda-list", "ldd",
        "nvidia-smi-L", "nvcc", "pip-list",
    }
    assert snapshot_from_json(snapshot_to_json(result.snapshot), origin="x") == result.snapshot


def test_only_nvidia_smi_leaves_torch_unknown() -> None:
    result = read_text(sample("nvidia-smi-470.63.01.txt"))
    snapshot = result.snapshot

    assert snapshot.torch.status == "unknown"
    assert snapshot.torch.detail == "not in the report"
    assert snapshot.python.status == "unknown"
    assert snapshot.packages == ()
    assert snapshot.toolkits == ()
    assert "the torch version" in result.missing
    assert "installed packages" in result.missing
    # Never "absent": a paste does not prove that something is not there.
    assert "absent" not in snapshot_to_json(snapshot)


def test_only_collect_env_lists_what_nvidia_smi_would_add() -> None:
    result = read_text(sample("collect_env-2.2-kickastone.txt"))

    assert result.missing == ("the newest CUDA version the driver supports",)


@pytest.mark.parametrize("text", [
    "",
    "   \n\n",
    "hello world\nthis is not a report\n",
    "```\n```\n",
    "| a | b |\n|---|---|\n| 1 | 2 |\n",  # a markdown table is not nvidia-smi
    "<nvidia_smi_log><gpu>",  # cut short: an error piece, no facts
])
def test_no_facts_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError) as excinfo:
        read_text(text)

    assert "no environment facts found" in str(excinfo.value)
    assert "python -m torch.utils.collect_env" in str(excinfo.value)
    assert "pip freeze" in str(excinfo.value)
    assert excinfo.value.exit_code == ExitCode.USAGE


def test_parse_error_names_the_piece_that_could_not_be_read() -> None:
    with pytest.raises(ParseError) as excinfo:
        read_text("```xml\n<nvidia_smi_log><gpu>\n```\n")

    assert "line 2" in str(excinfo.value)


def test_windows_line_endings_and_quote_markers() -> None:
    text = "".join(f"> {line}\r\n" for line in sample("collect_env-1.12-yanhui86556.txt")
                   .splitlines())
    snapshot = read_text(text).snapshot

    assert snapshot.torch.version == Version("1.12.1+cu116")
    assert snapshot.system.glibc == Version("2.35")


def _mutate(lines: list[str], operations: list[tuple[int, int, str]]) -> str:
    for kind, position, noise in operations:
        if not lines:
            break
        index = position % len(lines)
        if kind == 0:
            del lines[index]
        elif kind == 1:
            lines.insert(index, lines[index])
        elif kind == 2:
            cut = len(noise) % (len(lines[index]) + 1)
            lines[index] = lines[index][:cut] + noise + lines[index][cut:]
        else:
            lines[index] = noise
    return "\n".join(lines)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_text_returns_or_raises_parse_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        read_text(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SAMPLES + sorted(DATA.glob("*/nvidia-smi-q-x.xml"))),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000),
                       st.text(alphabet=st.sampled_from(
                           [*"|+-=:/.()0123456789 abcCWMiB%NA<>[]\t\"'#@", "\x00", "é"]),
                           max_size=20)),
             max_size=25),
)
def test_mutated_real_samples_return_or_raise_parse_error(
        path: Path, operations: list[tuple[int, int, str]]) -> None:
    text = _mutate(path.read_text().splitlines(), operations)
    with contextlib.suppress(ParseError):
        result = read_text(text)
        snapshot_to_json(result.snapshot)


def test_huge_numbers_do_not_crash() -> None:
    # Synthetic: digit runs past int()'s 4300-digit limit in every numeric slot.
    digits = "9" * 5000
    text = (
        f"PyTorch version: {digits}\nCUDA used to build PyTorch: {digits}\n"
        f"Python version: {digits}\nLibc version: glibc-{digits}\nCUDA runtime version: {digits}\n"
        f"|   0  GPU  Off  | 00000000:01:00.0 Off | N/A |\n"
        f"| N/A   {digits}C    P8    {digits}W / {digits}W |  {digits}MiB / {digits}MiB |"
        f"  {digits}%  Default |\n"
        f"numpy=={digits}\ntorch==2.0+cu{digits}\n"
        f"NVIDIA-SMI {digits}   Driver Version: {digits}   CUDA Version: {digits}\n"
        f"Nvidia driver version: {digits}\n"
        f"Cuda compilation tools, release {digits}, V{digits}\n"
        f"<nvidia_smi_log><cuda_version>{digits}</cuda_version></nvidia_smi_log>\n"
    )
    with contextlib.suppress(ParseError):
        read_text(text)
