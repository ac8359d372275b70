"""`envcheck fit`: will this run fit in GPU memory?"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from envcheck.cli.app import app
from envcheck.errors import UsageError

if TYPE_CHECKING:
    from envcheck.fit import Estimate, GpuCapacity, GpuFit, Suggestion


class MethodChoice(str, Enum):
    full = "full"
    lora = "lora"
    qlora = "qlora"
    inference = "inference"


class PrecisionChoice(str, Enum):
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


class OptimizerChoice(str, Enum):
    adamw = "adamw"
    adamw8bit = "adamw8bit"
    sgd = "sgd"


class AttentionChoice(str, Enum):
    sdpa = "sdpa"
    eager = "eager"


class HeadChoice(str, Enum):
    lm = "lm"
    classifier = "classifier"


@dataclass(frozen=True, kw_only=True)
class _Considered:
    gpus: tuple[GpuCapacity, ...]
    origin: str
    """Where the GPUs came from: "--gpu NAME", "profile NAME", "this machine"."""
    left_out: str | None = None
    """Why GPUs of this machine were not considered (no driver, memory unknown)."""


def _gpus(profile: str | None, gpu: str | None, gpu_memory: float | None,
          project: Path | None) -> _Considered:
    """The GPUs to fit on, and where they came from."""
    if profile is not None and gpu is not None:
        raise UsageError("--profile and --gpu are two sources of GPUs; give one")
    if gpu_memory is not None and gpu is None:
        raise UsageError("--gpu-memory goes with --gpu NAME")
    if gpu is not None:
        from envcheck.fit import named_capacities

        return _Considered(gpus=named_capacities(gpu, gpu_memory), origin=f"--gpu {gpu}")
    if profile is not None:
        return _Considered(gpus=_profile_gpus(profile, project), origin=f"profile {profile}")
    return _machine_gpus()


def _machine_gpus() -> _Considered:
    """This machine's GPUs, as `envcheck inspect` reads them (NVML first)."""
    from envcheck.cli.real_host import build_host
    from envcheck.fit import capacities, unsized
    from envcheck.probes.driver import probe_driver

    facts = probe_driver(build_host())
    found = capacities(facts.gpus)
    left_out = None
    if not facts.gpus:
        detail = facts.driver.detail or f"driver {facts.driver.status}"
        left_out = f"this machine has no NVIDIA GPU that NVML reports ({detail})"
    elif unsized(facts.gpus):
        names = ", ".join(f"GPU {g.index} ({g.name})" for g in unsized(facts.gpus))
        left_out = (f"{names} of this machine: NVML gave no memory size and envcheck's GPU "
                    "table has none for that name")
    return _Considered(gpus=found, origin="this machine", left_out=left_out)


def _profile_gpus(name: str, project: Path | None) -> tuple[GpuCapacity, ...]:
    from envcheck.fit import MIB, GpuCapacity
    from envcheck.project import load_project

    loaded = load_project((project or Path.cwd()).resolve())
    found = loaded.profiles.get(name)
    if found is None:
        known = ", ".join(sorted(loaded.profiles)) or "none"
        raise UsageError(f"no profile {name!r} in {loaded.pyproject} (profiles: {known})")
    gpus: list[GpuCapacity] = []
    for gpu in found.gpus:
        if not gpu.memory_mib:
            raise UsageError(f"profile {name!r} does not record the memory of its GPU "
                             f"{gpu.name or '?'}",
                             hint="Use --gpu NAME --gpu-memory GIB instead.")
        for _ in range(gpu.count):
            gpus.append(GpuCapacity(name=gpu.name or "GPU", index=len(gpus),
                                    memory_bytes=gpu.memory_mib * MIB, memory_from="profile"))
    return tuple(gpus)


# "-5B" is a (bad) MODEL, not an option: unknown options reach MODEL and are refused there.
@app.command(context_settings={"ignore_unknown_options": True})
def fit(
    model: Annotated[str, typer.Argument(
        metavar="MODEL", help="A parameter count (7B, 350M) or a Hugging Face config.json "
        "(or its folder), read locally.")],
    method: Annotated[MethodChoice, typer.Option(
        "--method", help="full, lora, qlora or inference.")] = MethodChoice.full,
    batch: Annotated[int, typer.Option("--batch", metavar="N", help="Micro-batch size per GPU.")
                     ] = 1,
    seq: Annotated[int, typer.Option("--seq", metavar="N", help="Sequence length in tokens.")
                   ] = 2048,
    precision: Annotated[PrecisionChoice, typer.Option(
        "--precision", help="fp32, or bf16/fp16 (mixed precision for full training; the "
        "weights' dtype otherwise).")] = PrecisionChoice.bf16,
    optimizer: Annotated[OptimizerChoice, typer.Option(
        "--optimizer", help="adamw, adamw8bit (bitsandbytes) or sgd (with momentum).")
    ] = OptimizerChoice.adamw,
    grad_checkpointing: Annotated[bool, typer.Option(
        "--grad-checkpointing", help="Recompute activations in backward.")] = False,
    lora_rank: Annotated[int, typer.Option("--lora-rank", metavar="R")] = 16,
    attention: Annotated[AttentionChoice, typer.Option(
        "--attention", help="sdpa (fused; no seq x seq scores kept) or eager.")
    ] = AttentionChoice.sdpa,
    head: Annotated[HeadChoice, typer.Option(
        "--head", help="lm (vocabulary-sized logits) or classifier.")] = HeadChoice.lm,
    profile: Annotated[str | None, typer.Option(
        "--profile", metavar="NAME", help="Fit on a profile's GPUs ([tool.envcheck.profiles]).")
    ] = None,
    project: Annotated[Path | None, typer.Option(
        "--project", metavar="DIR", help="The project folder (default: the current one).")
    ] = None,
    gpu: Annotated[str | None, typer.Option(
        "--gpu", metavar="NAME", help="Fit on this GPU model instead of this machine's "
        "(\"RTX 4090\", \"2x A6000\", \"A100-SXM4-80GB\"); its memory comes from envcheck's "
        "GPU table.")] = None,
    gpu_memory: Annotated[float | None, typer.Option(
        "--gpu-memory", metavar="GIB", help="The memory of one --gpu, for a GPU the table "
        "does not size.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Estimate a run's GPU memory (weights, gradients, optimizer, activations, CUDA context)
    and check it against each GPU; when it does not fit, the cheapest changes that do.
    Exit 0 when it fits on every GPU considered, 3 when not, or when no GPU was considered."""
    from envcheck.errors import ExitCode
    from envcheck.fit import FitRequest, estimate, fit_on, suggestions
    from envcheck.fit_model import load_model

    if model.startswith("--"):
        raise UsageError(f"no such option: {model}", hint="See envcheck fit --help.")
    shape = load_model(model, cwd=Path.cwd())
    request = FitRequest(
        model=shape, method=method.value, batch=batch, seq=seq, precision=precision.value,
        optimizer=optimizer.value, grad_checkpointing=grad_checkpointing, lora_rank=lora_rank,
        attention=attention.value, lm_head=head is HeadChoice.lm)
    result = estimate(request)
    considered = _gpus(profile, gpu, gpu_memory, project)
    verdicts = fit_on(result, considered.gpus)
    tight = [v for v in verdicts if not v.fits]
    options = (suggestions(result, max(v.gpu.available for v in tight)) if tight else ())
    if json_output:
        sys.stdout.write(json.dumps(_document(result, verdicts, options, considered),
                                    indent=2) + "\n")
    else:
        _render(result, verdicts, options, considered)
    # No GPU considered is no "fits": a gate (`envcheck fit ... && train`) must not pass.
    if tight or not verdicts:
        raise typer.Exit(int(ExitCode.FINDINGS))


def _round(value: int) -> float:
    from envcheck.fit import GIB

    return round(value / GIB, 2)


def _no_gpu_reason(considered: _Considered) -> str:
    why = considered.left_out or f"{considered.origin} gave none with a known memory size"
    return f"no GPU considered: {why}. envcheck cannot say the run fits"


def _document(result: Estimate, verdicts: tuple[GpuFit, ...], options: tuple[Suggestion, ...],
              considered: _Considered) -> dict[str, object]:
    shape = result.request.model
    return {
        "fits": bool(verdicts) and all(v.fits for v in verdicts),
        "reason": None if verdicts else _no_gpu_reason(considered),
        "total_gib": _round(result.total),
        "breakdown": {name: _round(value) for name, value in result.breakdown().items()},
        "activations_gib": {"without_checkpointing": _round(
            result.activations_without_checkpointing),
            "with_checkpointing": _round(result.activations_with_checkpointing)},
        "model": {"parameters": shape.parameters,
                  "trainable_parameters": result.trainable_parameters,
                  "source": shape.source, "shape_assumed": shape.assumed},
        "gpus_from": considered.origin,
        "gpus_left_out": considered.left_out,
        "gpus": [{"name": v.gpu.name, "index": v.gpu.index,
                  "memory_gib": _round(v.gpu.memory_bytes), "memory_from": v.gpu.memory_from,
                  "available_gib": _round(v.gpu.available), "fits": v.fits,
                  "headroom_gib": _round(v.headroom)} for v in verdicts],
        "suggestions": [{"change": s.change, "total_gib": _round(s.estimate.total)}
                        for s in options],
    }


def _render(result: Estimate, verdicts: tuple[GpuFit, ...], options: tuple[Suggestion, ...],
            considered: _Considered) -> None:
    from rich.table import Table

    from envcheck.cli.console import output_console
    from envcheck.fit import describe, gib

    console = output_console()
    shape = result.request.model
    assumed = " (shape assumed from the count: give a config.json for exact activations)" \
        if shape.assumed else ""
    console.print(f"envcheck fit: {shape.parameters / 1e9:.2f}B parameters, "
                  f"{describe(result.request)}{assumed}")
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(justify="left")
    table.add_column(justify="right")
    ckpt = "with" if result.request.grad_checkpointing else "without"
    rows = [("weights", result.weights), ("gradients", result.gradients),
            ("optimizer states", result.optimizer_states),
            (f"activations ({ckpt} checkpointing)", result.activations),
            ("CUDA context", result.cuda_context),
            ("allocator overhead", result.allocator_overhead)]
    for label, value in rows:
        table.add_row(label, gib(value))
    table.add_row("[bold]total[/bold]", f"[bold]{gib(result.total)}[/bold]")
    console.print(table)
    if result.request.training:
        console.print(f"  activations: {gib(result.activations_without_checkpointing)} without "
                      f"gradient checkpointing, {gib(result.activations_with_checkpointing)} "
                      "with it")
    if not verdicts:
        console.print(f"[red]✘[/red] {_no_gpu_reason(considered)}; name one with --gpu NAME "
                      "(for example --gpu \"RTX 4090\") or --profile NAME")
    elif considered.left_out:
        console.print(f"not considered: {considered.left_out}")
    for v in verdicts:
        label = f"GPU {v.gpu.index} ({v.gpu.name})" if v.gpu.index is not None else v.gpu.name
        room = gib(v.gpu.available) + (" free" if v.gpu.used_bytes else "") + (
            " (the GPU table's size)" if v.gpu.memory_from == "gpu table" else "")
        if v.fits:
            console.print(f"[green]✔[/green] {label}: fits in {room}, "
                          f"{gib(v.headroom)} headroom")
        else:
            console.print(f"[red]✘[/red] {label}: does not fit in {room}, "
                          f"{gib(-v.headroom)} short")
    if options:
        console.print("changes that fit, cheapest first:")
        for s in options:
            console.print(f"  {s.change}  → {gib(s.estimate.total)}")
    elif any(not v.fits for v in verdicts):
        console.print("no change within checkpointing, batch, 8-bit optimizer, QLoRA or "
                      "sharding over up to 64 GPUs fits: pick a smaller model")
