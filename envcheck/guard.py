"""`envcheck guard`: run a training command and watch its GPUs until it ends.

Every `interval` seconds NVML is sampled (temperature, power, memory, utilisation, throttle
reasons, processes) through one NVML session for the whole watch; a threshold exceeded for
`grace` seconds warns, and with `abort` the child gets SIGINT (a training loop can
checkpoint), SIGTERM after `kill_after` seconds, and SIGKILL after as long again. Without
NVML the command still runs, unwatched.

The outside world comes in: the NVML reader, the child (whose `wait(timeout)` is the loop's
sleep), a monotonic clock and a wall clock, the log writer and the reporter. Unit tests pass
fakes and run instantly.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from envcheck.adapters.child import Child, exit_status
from envcheck.adapters.nvml import NvmlSampler, NvmlSessions
from envcheck.errors import NvmlError
from envcheck.probes.driver import gpus_from_nvml
from envcheck.snapshot import Gpu
from envcheck.throttle import PERFORMANCE_THROTTLES

Condition = Literal["temperature", "throttle", "free_memory"]


@dataclass(frozen=True, kw_only=True)
class GuardSettings:
    interval: float = 2.0
    max_temp_c: int = 85
    max_throttle_seconds: float | None = None
    """Cumulative seconds a GPU may spend in a performance throttle (thermal, power)."""
    min_free_mib: int | None = None
    grace: float = 10.0
    """Seconds a condition must hold before it counts."""
    abort: bool = False
    kill_after: float = 30.0


@dataclass(frozen=True, kw_only=True)
class Breach:
    gpu: int
    condition: Condition
    detail: str
    """With the measured value and the threshold."""


@dataclass(frozen=True, kw_only=True)
class Sample:
    seconds: float
    """Since the child started."""
    time: str
    gpus: tuple[Gpu, ...]
    breaches: tuple[Breach, ...] = ()


@dataclass(kw_only=True)
class GpuSummary:
    index: int
    name: str
    memory_total_mib: int | None = None
    peak_temperature_c: int | None = None
    peak_memory_used_mib: int | None = None
    peak_power_w: float | None = None
    throttled_seconds: dict[str, float] = field(default_factory=dict)
    """Reason -> seconds; gpu_idle and other harmless reasons included, for the record."""

    @property
    def performance_throttled_seconds(self) -> float:
        return sum(s for r, s in self.throttled_seconds.items() if r in PERFORMANCE_THROTTLES)


@dataclass(frozen=True, kw_only=True)
class GuardResult:
    returncode: int
    """The child's raw status (negative: the signal that ended it)."""
    seconds: float
    samples: int
    watched: bool
    unwatched_reason: str | None
    gpus: tuple[GpuSummary, ...]
    warnings: tuple[Breach, ...]
    stopped_by_guard: Breach | None
    signals_sent: tuple[str, ...]

    @property
    def child_status(self) -> int:
        return exit_status(self.returncode)


class GuardReporter(Protocol):
    def sampled(self, sample: Sample) -> None: ...

    def warned(self, breach: Breach, *, seconds: float) -> None: ...

    def stopping(self, breach: Breach | None, signal_name: str) -> None: ...

    def unwatched(self, reason: str) -> None: ...


class SilentReporter:
    def sampled(self, sample: Sample) -> None:
        pass

    def warned(self, breach: Breach, *, seconds: float) -> None:
        pass

    def stopping(self, breach: Breach | None, signal_name: str) -> None:
        pass

    def unwatched(self, reason: str) -> None:
        pass


LogWriter = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True, kw_only=True)
class GuardWorld:
    nvml: NvmlSessions
    monotonic: Callable[[], float]
    wall_time: Callable[[], str]
    log: LogWriter | None = None


def breaches(gpus: Sequence[Gpu], settings: GuardSettings,
             throttled: Mapping[int, float]) -> tuple[Breach, ...]:
    """The conditions that hold in one sample (grace not yet applied)."""
    found = []
    for gpu in gpus:
        if gpu.temperature_c is not None and gpu.temperature_c >= settings.max_temp_c:
            found.append(Breach(gpu=gpu.index, condition="temperature",
                                detail=f"GPU {gpu.index} at {gpu.temperature_c} °C "
                                f"(limit {settings.max_temp_c} °C)"))
        limit = settings.max_throttle_seconds
        if limit is not None and throttled.get(gpu.index, 0.0) > limit:
            found.append(Breach(gpu=gpu.index, condition="throttle",
                                detail=f"GPU {gpu.index} throttled for "
                                f"{throttled[gpu.index]:.0f} s (limit {limit:g} s): "
                                f"{', '.join(gpu.throttle_reasons) or 'no reason now'}"))
        if (settings.min_free_mib is not None and gpu.memory_total_mib is not None
                and gpu.memory_used_mib is not None):
            free = gpu.memory_total_mib - gpu.memory_used_mib
            if free < settings.min_free_mib:
                found.append(Breach(gpu=gpu.index, condition="free_memory",
                                    detail=f"GPU {gpu.index} has {free:,} MiB free "
                                    f"(minimum {settings.min_free_mib:,} MiB)"))
    return tuple(found)


class _Watch:
    """The state of one guard session: summaries, condition timers, escalation."""

    def __init__(self, settings: GuardSettings, child: Child, world: GuardWorld,
                 reporter: GuardReporter) -> None:
        self.settings, self.child, self.world, self.reporter = settings, child, world, reporter
        self.start = world.monotonic()
        self.summaries: dict[int, GpuSummary] = {}
        self.since: dict[tuple[int, Condition], float] = {}
        self.warned: dict[tuple[int, Condition], Breach] = {}
        self.stopped_by: Breach | None = None
        self.stop_started: float | None = None
        self.signals: list[str] = []
        self.samples = 0
        self.last_sample: float | None = None

    def now(self) -> float:
        return self.world.monotonic() - self.start

    def record(self, gpus: tuple[Gpu, ...]) -> None:
        now = self.now()
        elapsed = 0.0 if self.last_sample is None else now - self.last_sample
        self.last_sample = now
        self.samples += 1
        for gpu in gpus:
            summary = self.summaries.setdefault(gpu.index, GpuSummary(index=gpu.index,
                                                                      name=gpu.name))
            summary.memory_total_mib = gpu.memory_total_mib or summary.memory_total_mib
            summary.peak_temperature_c = _peak(summary.peak_temperature_c, gpu.temperature_c)
            summary.peak_memory_used_mib = _peak(summary.peak_memory_used_mib,
                                                 gpu.memory_used_mib)
            summary.peak_power_w = _peak(summary.peak_power_w, gpu.power_w)
            # A reason seen now is charged the time since the previous sample.
            for reason in gpu.throttle_reasons:
                summary.throttled_seconds[reason] = (
                    summary.throttled_seconds.get(reason, 0.0) + elapsed)
        throttled = {i: s.performance_throttled_seconds for i, s in self.summaries.items()}
        found = breaches(gpus, self.settings, throttled)
        sample = Sample(seconds=now, time=self.world.wall_time(), gpus=gpus, breaches=found)
        self.reporter.sampled(sample)
        self._log_sample(sample)
        self._judge(found, now)

    def _judge(self, found: tuple[Breach, ...], now: float) -> None:
        holding = {(b.gpu, b.condition): b for b in found}
        for key in list(self.since):
            if key not in holding:
                del self.since[key]
        for key, breach in holding.items():
            started = self.since.setdefault(key, now)
            if now - started < self.settings.grace:
                continue
            if key not in self.warned:
                self.warned[key] = breach
                self.reporter.warned(breach, seconds=now - started)
                self._log({"event": "warning", "gpu": breach.gpu,
                           "condition": breach.condition, "detail": breach.detail})
            if self.settings.abort and self.stopped_by is None:
                self.stopped_by = breach
                self.stop_started = now
                self.signal(signal.SIGINT, breach)

    def signal(self, signum: signal.Signals, breach: Breach | None) -> None:
        self.signals.append(signum.name)
        self.reporter.stopping(breach, signum.name)
        self._log({"event": "signal", "signal": signum.name,
                   "reason": breach.detail if breach else "interrupted"})
        self.child.send_signal(int(signum))

    def escalate(self) -> None:
        """SIGTERM `kill_after` seconds after SIGINT, SIGKILL as long after that."""
        if self.stop_started is None:
            return
        waited = self.now() - self.stop_started
        if waited >= 2 * self.settings.kill_after and "SIGKILL" not in self.signals:
            self.signal(signal.SIGKILL, self.stopped_by)
        elif waited >= self.settings.kill_after and "SIGTERM" not in self.signals:
            self.signal(signal.SIGTERM, self.stopped_by)

    def next_wait(self) -> float:
        timeout = self.settings.interval
        if self.stop_started is not None:
            waited = self.now() - self.stop_started
            for step in (self.settings.kill_after, 2 * self.settings.kill_after):
                if waited < step:
                    timeout = min(timeout, step - waited)
                    break
        return max(timeout, 0.0)

    def _log_sample(self, sample: Sample) -> None:
        self._log({"t": round(sample.seconds, 3), "time": sample.time,
                   "gpus": [gpu_record(g) for g in sample.gpus],
                   "breaches": [b.condition for b in sample.breaches]})

    def _log(self, record: Mapping[str, Any]) -> None:
        if self.world.log is not None:
            self.world.log(record)


def _peak(current: Any, value: Any) -> Any:
    if value is None:
        return current
    return value if current is None or value > current else current


def gpu_record(gpu: Gpu) -> dict[str, Any]:
    return {
        "index": gpu.index, "name": gpu.name, "temperature_c": gpu.temperature_c,
        "power_w": gpu.power_w, "memory_used_mib": gpu.memory_used_mib,
        "memory_total_mib": gpu.memory_total_mib, "utilization_pct": gpu.utilization_pct,
        "throttle_reasons": list(gpu.throttle_reasons),
        "processes": [{"pid": p.pid, "name": p.name, "used_mib": p.used_mib}
                      for p in gpu.processes],
    }


def read_gpus(nvml: NvmlSampler) -> tuple[Gpu, ...]:
    return gpus_from_nvml(nvml.sample())


def guard(child: Child, settings: GuardSettings, world: GuardWorld,
          reporter: GuardReporter | None = None) -> GuardResult:
    """Watch `child` (already started) until it ends; see the module docstring."""
    reporter = reporter or SilentReporter()
    watch = _Watch(settings, child, world, reporter)
    unwatched: str | None = None
    # One session for the watch, shut down however the watch ends (exit, signal, error).
    with world.nvml.session() as nvml:
        try:
            first = read_gpus(nvml)
        except NvmlError as e:
            unwatched = f"cannot watch the GPUs: {e.message}"
        else:
            if not first:
                unwatched = "cannot watch the GPUs: NVML reports none"
            else:
                watch.record(first)
        if unwatched is not None:
            reporter.unwatched(unwatched)
            watch._log({"event": "unwatched", "reason": unwatched})
        returncode = _run(watch, nvml, watched=unwatched is None)
    watch._log({"event": "exit", "returncode": returncode, "status": exit_status(returncode),
                "stopped_by_guard": watch.stopped_by.detail if watch.stopped_by else None})
    return GuardResult(
        returncode=returncode, seconds=watch.now(), samples=watch.samples,
        watched=unwatched is None, unwatched_reason=unwatched,
        gpus=tuple(watch.summaries[i] for i in sorted(watch.summaries)),
        warnings=tuple(watch.warned.values()), stopped_by_guard=watch.stopped_by,
        signals_sent=tuple(watch.signals),
    )


def _run(watch: _Watch, nvml: NvmlSampler, *, watched: bool) -> int:
    while True:
        try:
            code = _step(watch, nvml, watched=watched)
        except KeyboardInterrupt:
            # The terminal sent SIGINT to the child too (same process group): wait for it
            # to finish its own shutdown, escalating if it does not.
            if watch.stop_started is None:
                watch.stop_started = watch.now()
                watch.signals.append("SIGINT")
            continue
        if code is not None:
            return code


def _step(watch: _Watch, nvml: NvmlSampler, *, watched: bool) -> int | None:
    """Wait one interval (less when an escalation is due); then escalate and sample."""
    stopping = watch.stop_started is not None
    code = watch.child.wait(watch.next_wait() if watched or stopping else None)
    if code is not None:
        return code
    watch.escalate()
    if watched:
        try:
            watch.record(read_gpus(nvml))
        except NvmlError as e:
            watch._log({"event": "nvml_error", "detail": e.message})
    return None
