"""Parse `nvidia-smi -q -x` output into `Gpu` records.

The XML changes shape between driver branches, so each reading tries the element names the
recorded samples in tests/data use:

- R418-R530 put throttle reasons under `clocks_throttle_reasons`, R535+ under
  `clocks_event_reasons`; a vGPU guest prints the parent as "N/A" with no children.
- R418-R530 report power under `power_readings` (`power_draw`, `enforced_power_limit`);
  R535 moved it to `gpu_power_readings` (`power_draw`, `current_power_limit`), and R590
  replaced `power_draw` there with `instant_power_draw` and `average_power_draw`.
- Older drivers count volatile ECC errors as `single_bit`/`double_bit` blocks with a `total`;
  newer ones as `sram_uncorrectable` + `dram_uncorrectable`, and R590 splits SRAM into
  `sram_uncorrectable_parity` + `sram_uncorrectable_secded`.
- No recorded driver (418 to 590) prints the compute capability in `-q -x`; it stays None
  unless a `compute_cap` element is present.

A value nvidia-smi could not read ("N/A", "[Not Supported]", "Unknown Error", "Requested
functionality has been deprecated") becomes None, and the text goes into `Gpu.unavailable`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from packaging.version import Version

from envcheck.errors import ParseError
from envcheck.snapshot import DriverVersion, Gpu, GpuProcess
from envcheck.throttle import THROTTLE_REASON_BITS
from envcheck.versions import version_or_none

_EXPECTED = "nvidia-smi -q -x output (an XML document whose root element is <nvidia_smi_log>)"
_HINT = "Paste the complete output of `nvidia-smi -q -x`."

# The DTD is external and never needed; an internal subset could define entities, so any
# DOCTYPE is removed before parsing and a remaining one is refused.
_DOCTYPE = re.compile(r"<!DOCTYPE[^>\[]*(?:\[[^\]]*\])?\s*>")
_QUANTITY = re.compile(r"(-?\d+(?:\.\d+)?)\s*(\S+)")
_INTEGER = re.compile(r"-?\d+")

_THROTTLE_PREFIXES = ("clocks_event_reason_", "clocks_throttle_reason_")
# nvidia-smi says "display_clocks_setting" where NVML's constant says "display_clock_setting".
_THROTTLE_ALIASES = {"display_clocks_setting": "display_clock_setting"}
_THROTTLE_ORDER = {name: position for position, name in enumerate(THROTTLE_REASON_BITS.values())}


@dataclass(frozen=True, kw_only=True)
class SmiReport:
    driver_version: DriverVersion | None
    cuda_version: Version | None
    """<cuda_version>: the newest CUDA version the driver supports (the driver API version)."""
    gpus: tuple[Gpu, ...]


def parse_nvidia_smi_xml(text: str) -> SmiReport:
    """Parse `nvidia-smi -q -x` text; raise ParseError when it is not that."""
    root = _parse_root(text)
    gpus = tuple(
        _GpuReader(element).read(index) for index, element in enumerate(root.findall("gpu"))
    )
    return SmiReport(
        driver_version=_driver_version(_text(root.find("driver_version"))),
        cuda_version=_version(_text(root.find("cuda_version"))),
        gpus=gpus,
    )


def _parse_root(text: str) -> Element:
    if not text.strip():
        raise ParseError(f"expected {_EXPECTED}, got empty text", hint=_HINT)
    stripped = _DOCTYPE.sub("", text, count=1)
    if "<!DOCTYPE" in stripped or "<!ENTITY" in stripped:
        raise ParseError(
            f"expected {_EXPECTED}, got a document with its own DTD declarations", hint=_HINT
        )
    try:
        root = ET.fromstring(stripped)
    # ValueError: text the parser cannot encode (lone surrogates).
    except (ET.ParseError, ValueError) as e:
        raise ParseError(f"expected {_EXPECTED}, got text that is not XML ({e})",
                         hint=_HINT) from e
    if root.tag != "nvidia_smi_log":
        raise ParseError(f"expected {_EXPECTED}, got a <{root.tag[:80]}> document", hint=_HINT)
    return root


class _GpuReader:
    """Reads one <gpu> element, noting each field nvidia-smi could not read."""

    def __init__(self, element: Element) -> None:
        self._gpu = element
        self._unavailable: dict[str, str] = {}

    def read(self, index: int) -> Gpu:
        return Gpu(
            index=index,
            name=self._name(index),
            uuid=self._string("uuid", "uuid"),
            compute_capability=self._string("compute_capability", "compute_cap"),
            memory_total_mib=self._integer("memory_total_mib", "fb_memory_usage/total", "MiB"),
            memory_used_mib=self._integer("memory_used_mib", "fb_memory_usage/used", "MiB"),
            temperature_c=self._integer("temperature_c", "temperature/gpu_temp", "C"),
            power_w=self._real(
                "power_w",
                "gpu_power_readings/power_draw",
                "gpu_power_readings/instant_power_draw",
                "power_readings/power_draw",
            ),
            power_limit_w=self._real(
                "power_limit_w",
                "power_readings/enforced_power_limit",
                "gpu_power_readings/enforced_power_limit",
                "gpu_power_readings/current_power_limit",
                "power_readings/power_limit",
            ),
            utilization_pct=self._integer("utilization_pct", "utilization/gpu_util", "%"),
            throttle_reasons=self._throttle_reasons(),
            processes=self._processes(),
            mig_mode=self._mig_mode(),
            ecc_uncorrected=self._ecc_uncorrected(),
            unavailable=dict(self._unavailable),
        )

    def _name(self, index: int) -> str:
        element = self._gpu.find("product_name")
        if element is None:
            raise ParseError(
                f"expected {_EXPECTED}, got a <gpu> (number {index}) with no <product_name>",
                hint=_HINT,
            )
        name = _text(element)
        if _is_marker(name):
            self._unavailable["name"] = name
        return name

    def _string(self, field: str, path: str) -> str | None:
        value = _text(self._gpu.find(path))
        if not value:
            return None
        if _is_marker(value):
            self._unavailable[field] = value
            return None
        return value

    def _integer(self, field: str, path: str, unit: str) -> int | None:
        element = self._gpu.find(path)
        if element is None:
            return None
        value = _text(element)
        quantity = _QUANTITY.fullmatch(value)
        if quantity and quantity.group(2) == unit and _INTEGER.fullmatch(quantity.group(1)):
            return int(quantity.group(1))
        self._note_unreadable(field, value)
        return None

    def _real(self, field: str, *paths: str) -> float | None:
        """The first of `paths` that holds a reading in watts; later paths are fallbacks."""
        first_marker = None
        for path in paths:
            element = self._gpu.find(path)
            if element is None:
                continue
            value = _text(element)
            quantity = _QUANTITY.fullmatch(value)
            if quantity and quantity.group(2) == "W":
                return float(quantity.group(1))
            if not _is_marker(value):
                self._note_unreadable(field, value)
                return None
            first_marker = first_marker or value
        if first_marker:
            self._unavailable[field] = first_marker
        return None

    def _throttle_reasons(self) -> tuple[str, ...]:
        parent = self._gpu.find("clocks_event_reasons")
        if parent is None:
            parent = self._gpu.find("clocks_throttle_reasons")
        if parent is None:
            return ()
        if len(parent) == 0:
            value = _text(parent)
            if value:
                self._unavailable["throttle_reasons"] = value
            return ()
        active = [_throttle_name(child.tag) for child in parent if _text(child) == "Active"]
        unknown_last = len(_THROTTLE_ORDER)
        return tuple(sorted(active, key=lambda name: _THROTTLE_ORDER.get(name, unknown_last)))

    def _processes(self) -> tuple[GpuProcess, ...]:
        processes = []
        for info in self._gpu.findall("processes/process_info"):
            pid = _text(info.find("pid"))
            if not _INTEGER.fullmatch(pid):
                continue
            name = _text(info.find("process_name"))
            used = _QUANTITY.fullmatch(_text(info.find("used_memory")))
            used_mib = (
                int(used.group(1))
                if used and used.group(2) == "MiB" and _INTEGER.fullmatch(used.group(1))
                else None
            )
            processes.append(GpuProcess(pid=int(pid), name=name or None, used_mib=used_mib))
        return tuple(processes)

    def _mig_mode(self) -> bool | None:
        element = self._gpu.find("mig_mode/current_mig")
        if element is None:
            return None
        value = _text(element)
        if value in ("Enabled", "Disabled"):
            return value == "Enabled"
        self._note_unreadable("mig_mode", value)
        return None

    def _ecc_uncorrected(self) -> int | None:
        volatile = self._gpu.find("ecc_errors/volatile")
        if volatile is None:
            return None
        counters = [child for child in volatile if "uncorrectable" in child.tag]
        double_bit_total = volatile.find("double_bit/total")
        if double_bit_total is not None:
            counters.append(double_bit_total)
        values = [_text(counter) for counter in counters]
        counts = [int(value) for value in values if _INTEGER.fullmatch(value)]
        if counts:
            return sum(counts)
        if values:
            self._note_unreadable("ecc_uncorrected", values[0])
        return None

    def _note_unreadable(self, field: str, value: str) -> None:
        self._unavailable[field] = value if _is_marker(value) else f"unreadable value {value!r}"


def _throttle_name(tag: str) -> str:
    for prefix in _THROTTLE_PREFIXES:
        if tag.startswith(prefix):
            tag = tag[len(prefix):]
            break
    return _THROTTLE_ALIASES.get(tag, tag)


def _text(element: Element | None) -> str:
    if element is None or element.text is None:
        return ""
    return element.text.strip()


def _is_marker(value: str) -> bool:
    """nvidia-smi's ways of saying it has no value: "N/A", "[Not Supported]", "Unknown Error"..."""
    bare = value.strip("[]")
    return bare in {"N/A", "Not Supported", "Unknown Error", "Insufficient Permissions",
                    "Not Found", "GPU requires reset"} or bare.startswith("Requested functionality")


def _driver_version(value: str) -> DriverVersion | None:
    try:
        return DriverVersion(value.strip())
    except ValueError:
        return None


def _version(text: str | None) -> Version | None:
    return version_or_none(text)
