"""Clock throttle ("clocks event") reasons, as NVML's bitmask and nvidia-smi's XML name them.

The bit values are constants of the NVML C API (nvml.h, nvmlClocksEventReason*), not
version data; the names are nvidia-smi's XML element suffixes, so both sources agree.
"""

from __future__ import annotations

THROTTLE_REASON_BITS: dict[int, str] = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}

# Reasons that mean the GPU runs slower than it should while working (gpu_idle does not).
PERFORMANCE_THROTTLES = frozenset(
    {"sw_power_cap", "hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown",
     "hw_power_brake_slowdown"}
)
THERMAL_THROTTLES = frozenset({"sw_thermal_slowdown", "hw_thermal_slowdown", "hw_slowdown"})


def throttle_names(mask: int) -> tuple[str, ...]:
    """The named reasons set in an NVML bitmask, lowest bit first; unknown bits by value."""
    names = [name for bit, name in THROTTLE_REASON_BITS.items() if mask & bit]
    unknown = mask & ~sum(THROTTLE_REASON_BITS)
    if unknown:
        names.append(f"unknown_0x{unknown:x}")
    return tuple(names)
