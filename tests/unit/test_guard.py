"""`envcheck guard`'s loop with a fake NVML, a fake child and a fake clock: no waiting."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from envcheck.adapters.nvml import NvmlDevice, NvmlProcess, NvmlReading
from envcheck.errors import NvmlError
from envcheck.guard import Breach, GuardSettings, GuardWorld, Sample, guard

MIB = 1024 * 1024


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


class FakeChild:
    """Ends by itself at `runs_for` seconds; SIGINT/SIGTERM end it after `shutdown` seconds
    unless ignored; SIGKILL always."""

    def __init__(self, clock: FakeClock, *, runs_for: float = 1e9, shutdown: float = 0.5,
                 ignores: Sequence[int] = (), exit_code: int = 0) -> None:
        self.clock, self.ends_at, self.shutdown = clock, runs_for, shutdown
        self.ignores, self.code = set(ignores), exit_code
        self.signals: list[tuple[float, str]] = []

    @property
    def pid(self) -> int:
        return 4242

    def wait(self, timeout: float | None) -> int | None:
        target = self.ends_at if timeout is None else min(self.ends_at, self.clock.now + timeout)
        self.clock.now = max(self.clock.now, target)
        return self.code if self.clock.now >= self.ends_at else None

    def send_signal(self, signum: int) -> None:
        self.signals.append((self.clock.now, signal.Signals(signum).name))
        if signum == signal.SIGKILL:
            self.ends_at, self.code = self.clock.now, -9
        elif signum not in self.ignores:
            self.ends_at = min(self.ends_at, self.clock.now + self.shutdown)
            self.code = -signum if signum == signal.SIGTERM else 0


class ScriptedNvml:
    """Each sample returns the next reading, then stays on the last one (like the stand-in);
    counts the sessions opened and closed."""

    def __init__(self, readings: Sequence[NvmlReading]) -> None:
        self.readings, self.reads = list(readings), 0
        self.opened = self.closed = 0

    @contextlib.contextmanager
    def session(self) -> Iterator[ScriptedNvml]:
        self.opened += 1
        try:
            yield self
        finally:
            self.closed += 1

    def sample(self) -> NvmlReading:
        reading = self.readings[min(self.reads, len(self.readings) - 1)]
        self.reads += 1
        return reading


class FailingNvml(ScriptedNvml):
    def __init__(self) -> None:
        super().__init__(())

    def sample(self) -> NvmlReading:
        raise NvmlError("NVML: Driver Not Loaded", code=9, name="NVML_ERROR_DRIVER_NOT_LOADED")


def reading(temperature: int, *, used_mib: int = 4096, throttle: int = 0,
            processes: tuple[NvmlProcess, ...] = ()) -> NvmlReading:
    return NvmlReading(driver_version="550.54.15", cuda_driver_version=12040, devices=(
        NvmlDevice(index=0, name="NVIDIA GeForce RTX 4090", memory_total_bytes=24564 * MIB,
                   memory_used_bytes=used_mib * MIB, temperature_c=temperature,
                   power_mw=300_000, utilization_pct=99, throttle_mask=throttle,
                   processes=processes),))


class Recorder:
    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.warnings: list[Breach] = []
        self.stops: list[str] = []
        self.unwatched_reasons: list[str] = []

    def sampled(self, sample: Sample) -> None:
        self.samples.append(sample)

    def warned(self, breach: Breach, *, seconds: float) -> None:
        self.warnings.append(breach)

    def stopping(self, breach: Breach | None, signal_name: str) -> None:
        self.stops.append(signal_name)

    def unwatched(self, reason: str) -> None:
        self.unwatched_reasons.append(reason)


def world(clock: FakeClock, nvml: Any, log: list[dict[str, Any]]) -> GuardWorld:
    return GuardWorld(nvml=nvml, monotonic=clock.monotonic, wall_time=lambda: "T",
                      log=lambda record: log.append(dict(record)))


RAMP = [reading(t) for t in (60, 70, 80, 88, 92, 95)]


def test_a_clean_run_returns_the_child_status_and_peaks() -> None:
    clock, log = FakeClock(), []  # type: ignore[var-annotated]
    child = FakeChild(clock, runs_for=5.0, exit_code=3)
    result = guard(child, GuardSettings(interval=1.0), world(clock, ScriptedNvml(RAMP[:3]), log))
    assert result.returncode == 3
    assert result.child_status == 3
    assert result.stopped_by_guard is None
    assert result.gpus[0].peak_temperature_c == 80
    assert result.samples == 5  # at 0, 1, 2, 3 and 4 s; it ended at 5 s
    assert child.signals == []
    assert [r["gpus"][0]["temperature_c"] for r in log if "gpus" in r] == [60, 70, 80, 80, 80]
    assert log[-1] == {"event": "exit", "returncode": 3, "status": 3, "stopped_by_guard": None}


def test_a_temperature_ramp_warns_after_grace_without_abort() -> None:
    clock, log, recorder = FakeClock(), [], Recorder()  # type: ignore[var-annotated]
    child = FakeChild(clock, runs_for=10.0)
    result = guard(child, GuardSettings(interval=1.0, max_temp_c=85, grace=2.0),
                   world(clock, ScriptedNvml(RAMP), log), recorder)
    assert child.signals == []
    assert [b.condition for b in recorder.warnings] == ["temperature"]
    # 88 °C first at 3 s; the warning needs 2 s of it, so the sample at 5 s (95 °C) warns.
    assert recorder.warnings[0].detail == "GPU 0 at 95 °C (limit 85 °C)"
    assert result.returncode == 0


def test_abort_sends_sigint_at_the_right_sample() -> None:
    clock, log, recorder = FakeClock(), [], Recorder()  # type: ignore[var-annotated]
    child = FakeChild(clock, shutdown=0.5)
    result = guard(child, GuardSettings(interval=1.0, max_temp_c=85, grace=1.0, abort=True),
                   world(clock, ScriptedNvml(RAMP), log), recorder)
    # 88 °C at 3 s, still over at 4 s (grace 1 s): SIGINT then, and the child checkpoints.
    assert child.signals == [(4.0, "SIGINT")]
    assert result.stopped_by_guard is not None
    assert result.stopped_by_guard.detail == "GPU 0 at 92 °C (limit 85 °C)"
    assert result.returncode == 0
    assert recorder.stops == ["SIGINT"]
    events = [r for r in log if "event" in r]
    assert [e["event"] for e in events] == ["warning", "signal", "exit"]
    assert events[-1]["stopped_by_guard"] == "GPU 0 at 92 °C (limit 85 °C)"


def test_a_child_ignoring_sigint_gets_sigterm_then_sigkill() -> None:
    clock, log = FakeClock(), []  # type: ignore[var-annotated]
    child = FakeChild(clock, ignores=(signal.SIGINT, signal.SIGTERM))
    result = guard(child, GuardSettings(interval=1.0, grace=0.0, abort=True, kill_after=5.0),
                   world(clock, ScriptedNvml(RAMP), log))
    assert child.signals == [(3.0, "SIGINT"), (8.0, "SIGTERM"), (13.0, "SIGKILL")]
    assert result.returncode == -9
    assert result.child_status == 137
    assert result.signals_sent == ("SIGINT", "SIGTERM", "SIGKILL")


def test_a_memory_leak_in_another_process_trips_min_free() -> None:
    leak = NvmlProcess(pid=31337, name="leaky_server", used_bytes=None)
    readings = [reading(60, used_mib=used, processes=(leak,))
                for used in (4000, 10000, 16000, 21000, 23500)]
    clock, log = FakeClock(), []  # type: ignore[var-annotated]
    child = FakeChild(clock)
    result = guard(child, GuardSettings(interval=1.0, min_free_mib=2048, grace=0.0, abort=True),
                   world(clock, ScriptedNvml(readings), log))
    # Free memory drops under 2,048 MiB at the fifth sample (4 s): 24,564 - 23,500.
    assert child.signals == [(4.0, "SIGINT")]
    assert result.stopped_by_guard is not None
    assert result.stopped_by_guard.condition == "free_memory"
    assert result.stopped_by_guard.detail == "GPU 0 has 1,064 MiB free (minimum 2,048 MiB)"
    assert result.gpus[0].peak_memory_used_mib == 23500
    assert log[0]["gpus"][0]["processes"] == [
        {"pid": 31337, "name": "leaky_server", "used_mib": None}]


def test_throttle_seconds_accumulate_per_reason() -> None:
    readings = [reading(80, throttle=mask) for mask in (0x0, 0x20, 0x20, 0x60, 0x1)]
    clock, log = FakeClock(), []  # type: ignore[var-annotated]
    child = FakeChild(clock, runs_for=4.0)
    result = guard(child, GuardSettings(interval=1.0, max_throttle_seconds=2.5, grace=0.0,
                                        abort=True), world(clock, ScriptedNvml(readings), log))
    summary = result.gpus[0]
    assert summary.throttled_seconds["sw_thermal_slowdown"] == 3.0
    assert summary.throttled_seconds["hw_thermal_slowdown"] == 1.0
    assert summary.performance_throttled_seconds == 4.0
    assert result.stopped_by_guard is not None
    assert result.stopped_by_guard.condition == "throttle"


def test_without_nvml_the_command_runs_unwatched() -> None:
    clock, log, recorder = FakeClock(), [], Recorder()  # type: ignore[var-annotated]
    child = FakeChild(clock, runs_for=7.0, exit_code=0)
    result = guard(child, GuardSettings(abort=True), world(clock, FailingNvml(), log), recorder)
    assert not result.watched
    assert result.unwatched_reason == "cannot watch the GPUs: NVML: Driver Not Loaded"
    assert recorder.unwatched_reasons == [result.unwatched_reason]
    assert result.samples == 0
    assert result.returncode == 0
    assert clock.now == 7.0
    assert [r["event"] for r in log] == ["unwatched", "exit"]


def test_a_breach_that_clears_before_grace_is_forgotten() -> None:
    readings = [reading(t) for t in (90, 70, 90, 70, 90, 70)]
    clock, log, recorder = FakeClock(), [], Recorder()  # type: ignore[var-annotated]
    child = FakeChild(clock, runs_for=6.0)
    result = guard(child, GuardSettings(interval=1.0, grace=1.0, abort=True),
                   world(clock, ScriptedNvml(readings), log), recorder)
    assert recorder.warnings == []
    assert result.stopped_by_guard is None
    assert result.gpus[0].peak_temperature_c == 90


class BrokenChild(FakeChild):
    def wait(self, timeout: float | None) -> int | None:
        raise OSError("waitpid failed")


def test_one_session_for_the_whole_watch_closed_when_it_ends() -> None:
    clock, log = FakeClock(), []  # type: ignore[var-annotated]
    nvml = ScriptedNvml(RAMP)
    result = guard(FakeChild(clock, runs_for=9.5), GuardSettings(interval=1.0),
                   world(clock, nvml, log))
    assert result.samples == 10
    assert (nvml.opened, nvml.closed, nvml.reads) == (1, 1, 10)


def test_the_session_is_closed_when_the_watch_fails() -> None:
    clock, log = FakeClock(), []  # type: ignore[var-annotated]
    nvml = ScriptedNvml(RAMP)
    with pytest.raises(OSError, match="waitpid failed"):
        guard(BrokenChild(clock), GuardSettings(interval=1.0), world(clock, nvml, log))
    assert (nvml.opened, nvml.closed) == (1, 1)
    failing = FailingNvml()
    guard(FakeChild(clock, runs_for=clock.now + 3), GuardSettings(), world(clock, failing, log))
    assert (failing.opened, failing.closed) == (1, 1)
