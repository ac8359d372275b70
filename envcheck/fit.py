"""Will this run fit in GPU memory? A pure estimate, the GPUs it fits on, and the cheapest
changes that make it fit.

The formulas and their sources are in docs/fit.md; tests/unit/test_fit_measurements.py holds
the published measurements they are checked against. Bytes throughout; GiB only for display.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from envcheck.findings import Finding
from envcheck.fit_model import FitInputError, ModelShape
from envcheck.knowledge.gpu_tables import find_gpu, gpu_memory_gib, gpu_variants, split_gpu_count
from envcheck.knowledge.model import GpuModel
from envcheck.snapshot import Gpu

Method = Literal["full", "lora", "qlora", "inference"]
Precision = Literal["fp32", "bf16", "fp16"]
Optimizer = Literal["adamw", "adamw8bit", "sgd"]
Attention = Literal["sdpa", "eager"]

GIB = 1024**3
MIB = 1024**2

CUDA_CONTEXT_BYTES = 1343 * MIB
"""What the CUDA context and torch's kernels hold before any tensor: 1343 MB measured with
`torch.ones((1, 1)).to("cuda")` on a V100 (Hugging Face, "Model training anatomy"). CUDA's
lazy module loading (11.7+) usually holds less, so this errs on the safe side."""
ALLOCATOR_OVERHEAD = 0.10
"""Share of the tensors' bytes added for the caching allocator's fragmentation and the
temporary buffers of kernels (envcheck's own allowance; see docs/fit.md)."""
NF4_BITS = 4 + 0.127
"""QLoRA: 4-bit NormalFloat weights plus 0.127 bits of double-quantized constants per weight
(Dettmers et al. 2023, section 3)."""

_OPTIMIZER_BYTES: dict[Optimizer, float] = {"adamw": 8, "adamw8bit": 2, "sgd": 4}
"""Optimizer state per trained parameter (Hugging Face, "Model training anatomy")."""


@dataclass(frozen=True, kw_only=True)
class FitRequest:
    model: ModelShape
    method: Method
    batch: int
    seq: int
    precision: Precision = "bf16"
    optimizer: Optimizer = "adamw"
    grad_checkpointing: bool = False
    lora_rank: int = 16
    attention: Attention = "sdpa"
    lm_head: bool = True
    """The loss runs over a vocabulary-sized output (causal or masked LM); False for a
    classifier head."""
    sharded_over: int = 1
    """GPUs that shard weights, gradients and optimizer states (ZeRO-3 / FSDP)."""
    gradient_accumulation: int = 1
    """Informational: micro-batches per optimizer step (memory does not depend on it)."""

    def __post_init__(self) -> None:
        for name in ("batch", "seq", "lora_rank", "sharded_over", "gradient_accumulation"):
            value = getattr(self, name)
            if value <= 0:
                flag = name.replace("_", "-")
                raise FitInputError(f"--{flag} must be a positive number, got {value}")

    @property
    def training(self) -> bool:
        return self.method != "inference"


@dataclass(frozen=True, kw_only=True)
class Estimate:
    request: FitRequest
    weights: int
    gradients: int
    optimizer_states: int
    activations: int
    """Saved activations (and logits) at the requested checkpointing setting."""
    activations_without_checkpointing: int
    activations_with_checkpointing: int
    cuda_context: int
    allocator_overhead: int
    trainable_parameters: int

    @property
    def tensors(self) -> int:
        """What torch.cuda.max_memory_allocated would report at the peak."""
        return self.weights + self.gradients + self.optimizer_states + self.activations

    @property
    def total(self) -> int:
        return self.tensors + self.cuda_context + self.allocator_overhead

    def breakdown(self) -> dict[str, int]:
        return {
            "weights": self.weights, "gradients": self.gradients,
            "optimizer_states": self.optimizer_states, "activations": self.activations,
            "cuda_context": self.cuda_context, "allocator_overhead": self.allocator_overhead,
        }


def estimate(request: FitRequest) -> Estimate:
    """Peak GPU memory of one training step (or one generate call) on each GPU."""
    weights, gradients, optimizer_states, trainable = _model_states(request)
    shards = request.sharded_over
    without = _activations(request, checkpointing=False)
    with_ckpt = _activations(request, checkpointing=True) if request.training else without
    activations = with_ckpt if request.grad_checkpointing else without
    tensors = (weights + gradients + optimizer_states) // shards + activations
    return Estimate(
        request=request, weights=weights // shards, gradients=gradients // shards,
        optimizer_states=optimizer_states // shards, activations=activations,
        activations_without_checkpointing=without, activations_with_checkpointing=with_ckpt,
        cuda_context=CUDA_CONTEXT_BYTES, allocator_overhead=int(tensors * ALLOCATOR_OVERHEAD),
        trainable_parameters=trainable,
    )


def _weight_bytes(precision: Precision) -> int:
    return 4 if precision == "fp32" else 2


def lora_parameters(model: ModelShape, rank: int) -> int:
    """LoRA on every linear layer of each block (A: in x r, B: r x out), as the QLoRA paper
    found necessary to match full fine-tuning."""
    h, kv, i = model.hidden, model.kv_dim, model.intermediate
    attention = (h + h) + 2 * (h + kv) + (h + h)
    mlp = (3 if model.gated_mlp else 2) * (h + i) * model.experts
    return model.layers * rank * (attention + mlp)


def _model_states(request: FitRequest) -> tuple[int, int, int, int]:
    """(weights, gradients, optimizer states, trainable parameters), unsharded."""
    model, method = request.model, request.method
    p = model.parameters
    state = _OPTIMIZER_BYTES[request.optimizer]
    if method == "inference":
        return p * _weight_bytes(request.precision), 0, 0, 0
    if method == "full":
        # Mixed precision keeps fp32 weights plus the 16-bit copies autocast makes: 6 bytes.
        weight = 4 if request.precision == "fp32" else 6
        return p * weight, p * 4, int(p * state), p
    adapters = lora_parameters(model, request.lora_rank)
    if method == "lora":
        base = p * _weight_bytes(request.precision)
    else:  # qlora: block linears in NF4, embeddings and norms in the compute precision
        linear = model.linear_parameters
        base = int(linear * NF4_BITS / 8) + (p - linear) * _weight_bytes(request.precision)
    # PEFT keeps adapter weights in fp32 (autocast_adapter_dtype), so their grads are fp32.
    return base + adapters * 4, adapters * 4, int(adapters * state), adapters


def _layer_bytes_per_token(request: FitRequest) -> float:
    """Bytes one transformer block saves for backward, per token (docs/fit.md derives it,
    after Korthikanti et al. 2022, section 4)."""
    model = request.model
    h, kv, i = model.hidden, model.kv_dim, model.intermediate
    fp32 = request.precision == "fp32"
    autocast = request.method == "full" and not fp32
    e = 4 if fp32 else 2  # activation element
    norm_in = 4 if fp32 or autocast or model.rms_norm else 2
    drop = 1 if model.hidden_dropout > 0 else 0
    # Under autocast each linear casts its fp32 input separately and saves the 16-bit copy.
    attn_inputs = 3 * 2 if autocast else e
    mlp_inputs = (2 if model.gated_mlp else 1) * 2 if autocast else e
    attention = h * (norm_in + attn_inputs + e + drop) + e * (h + 2 * kv)
    mlp_width = (4 if model.gated_mlp else 2) * e * i * model.experts_per_token
    mlp = h * (norm_in + mlp_inputs + drop) + mlp_width
    scores = 0.0
    if request.attention == "eager":
        softmax = 4 if fp32 or autocast else e
        # With dropout: its mask and the dropped-out (or cast) copy the matmul with V saves;
        # without: only autocast's 16-bit cast of the probabilities.
        dropped = 1 + (2 if autocast else e)
        kept = dropped if model.attention_dropout > 0 else (2 if autocast else 0)
        scores = model.heads * request.seq * (softmax + kept)
    return attention + mlp + scores


def _activations(request: FitRequest, *, checkpointing: bool) -> int:
    model = request.model
    tokens = request.batch * request.seq
    e = 4 if request.precision == "fp32" else 2
    if not request.training:
        kv_cache = 2 * model.layers * model.kv_dim * e * tokens
        working = e * (2 * model.hidden + 2 * model.intermediate) * tokens
        return int(kv_cache + working + request.batch * model.vocab * 4)
    layer = _layer_bytes_per_token(request) * tokens
    if checkpointing:
        residual = 4 if request.precision == "fp32" or request.method == "full" else 2
        blocks = model.layers * residual * model.hidden * tokens + layer
    else:
        blocks = model.layers * layer
    # The head's output, its fp32 upcast for the loss, and the loss's saved log-softmax.
    logits = model.vocab * (e + 8) * tokens if request.lm_head else 0
    return int(blocks + logits)


# --- fitting on GPUs ---------------------------------------------------------------------------


MemoryOrigin = Literal["nvml", "gpu table", "--gpu-memory", "profile"]


@dataclass(frozen=True, kw_only=True)
class GpuCapacity:
    name: str
    memory_bytes: int
    used_bytes: int = 0
    """Held by other processes right now (measured GPUs only)."""
    index: int | None = None
    memory_from: MemoryOrigin = "nvml"
    """Where memory_bytes was read: NVML on this machine, envcheck's GPU table (the maker's
    specification), the user's --gpu-memory, or a project profile."""

    @property
    def available(self) -> int:
        return self.memory_bytes - self.used_bytes


@dataclass(frozen=True, kw_only=True)
class GpuFit:
    gpu: GpuCapacity
    fits: bool
    headroom: int
    """available - total; negative when it does not fit."""


@dataclass(frozen=True, kw_only=True)
class Suggestion:
    change: str
    """What to change, as the user would say it ("--grad-checkpointing")."""
    estimate: Estimate


def capacities(gpus: Sequence[Gpu]) -> tuple[GpuCapacity, ...]:
    """The GPUs of a Snapshot with a known memory size: NVML's, or when NVML gave none (an old
    driver), the GPU table's size for the reported name."""
    found: list[GpuCapacity] = []
    for g in gpus:
        if g.memory_total_mib:
            found.append(GpuCapacity(name=g.name, index=g.index,
                                     memory_bytes=g.memory_total_mib * MIB,
                                     used_bytes=(g.memory_used_mib or 0) * MIB))
            continue
        listed = gpu_memory_gib(g.name)
        if listed is not None:
            found.append(GpuCapacity(name=g.name, index=g.index,
                                     memory_bytes=int(listed * GIB), memory_from="gpu table"))
    return tuple(found)


def unsized(gpus: Sequence[Gpu]) -> tuple[Gpu, ...]:
    """The GPUs `capacities` leaves out: neither NVML nor the GPU table gives their memory."""
    return tuple(g for g in gpus if not g.memory_total_mib and gpu_memory_gib(g.name) is None)


MAX_NAMED_GPUS = 4096
"""More GPUs than one job plausibly shards over: a larger count is a typo."""


def named_capacities(written: str, memory_gib: float | None) -> tuple[GpuCapacity, ...]:
    """The GPUs --gpu names ("RTX 4090", "2x A6000"), with the table's memory for the named
    variant, or `memory_gib` when given. FitInputError when the memory is not known: an
    unknown name, or a name shared by variants of different sizes (it lists them)."""
    count, name = split_gpu_count(written)
    if not 1 <= count <= MAX_NAMED_GPUS:
        raise FitInputError(f"--gpu {written!r}: the count must be 1 to {MAX_NAMED_GPUS}")
    model = find_gpu(name)
    canonical = model.name if model is not None else name
    memory: float
    origin: MemoryOrigin
    if memory_gib is not None:
        if not 0 < memory_gib < math.inf:
            raise FitInputError(f"--gpu-memory must be a positive number of GiB, got "
                                f"{memory_gib:g}")
        memory, origin = memory_gib, "--gpu-memory"
    elif model is None:
        raise FitInputError(
            f"envcheck's GPU table does not know the GPU {name!r}",
            hint=f"Give its memory: --gpu \"{written}\" --gpu-memory GIB, or use the name "
            "nvidia-smi prints (envcheck compat gpu NAME looks one up).")
    elif model.memory_gib is None:
        raise _sizes_unknown(name, model, written)
    else:
        memory, origin = model.memory_gib, "gpu table"
    return tuple(
        GpuCapacity(name=canonical, memory_bytes=int(memory * GIB), memory_from=origin,
                    index=number if count > 1 else None)
        for number in range(count))


def _sizes_unknown(name: str, model: GpuModel, written: str) -> FitInputError:
    variants = [v for v in gpu_variants(name) if v.memory_gib is not None]
    if not variants:
        return FitInputError(
            f"envcheck's GPU table has no memory size for {model.name}",
            hint=f"Give it: --gpu \"{written}\" --gpu-memory GIB.")
    sizes = ", ".join(f"{v.name} ({v.memory_gib:g} GiB)" for v in variants)
    return FitInputError(
        f"{name!r} comes in more than one memory size: {sizes}",
        hint=f"Name the variant (--gpu \"{variants[0].name}\") or give its memory with "
        "--gpu-memory GIB.")


def fit_on(result: Estimate, gpus: Sequence[GpuCapacity]) -> tuple[GpuFit, ...]:
    return tuple(GpuFit(gpu=g, fits=result.total <= g.available,
                        headroom=g.available - result.total) for g in gpus)


def suggestions(result: Estimate, available: int) -> tuple[Suggestion, ...]:
    """Single changes that make the run fit in `available` bytes, cheapest first: the same
    training (checkpointing, accumulation), then less optimizer memory, then training less
    (LoRA, QLoRA), then more GPUs; when none fits alone, one combination."""
    request = result.request
    found: list[Suggestion] = []

    def consider(change: str, changed: FitRequest) -> bool:
        candidate = estimate(changed)
        if candidate.total <= available:
            found.append(Suggestion(change=change, estimate=candidate))
            return True
        return False

    if request.training and not request.grad_checkpointing:
        consider("--grad-checkpointing", replace(request, grad_checkpointing=True))
    smaller = _smaller_batch(request, available)
    if smaller is not None:
        found.append(smaller)
    if request.training and request.optimizer == "adamw":
        consider("--optimizer adamw8bit", replace(request, optimizer="adamw8bit"))
    if request.method == "full":
        consider("--method lora", replace(request, method="lora"))
    if request.method in ("full", "lora"):
        consider("--method qlora", replace(request, method="qlora"))
    if request.method != "qlora" and request.sharded_over == 1:
        for count in (2, 4, 8, 16, 32, 64):
            if consider(f"{count} GPUs, sharding weights, gradients and optimizer states "
                        "(FSDP or DeepSpeed ZeRO-3)", replace(request, sharded_over=count)):
                break
    if not found and request.training:
        _combined(request, available, found)
    return tuple(found)


def _smaller_batch(request: FitRequest, available: int) -> Suggestion | None:
    batch = request.batch
    while batch > 1:
        batch = max(1, batch // 2)
        steps = -(-request.batch // batch) * request.gradient_accumulation
        changed = replace(request, batch=batch, gradient_accumulation=steps)
        candidate = estimate(changed)
        if candidate.total <= available:
            change = f"--batch {batch}" + (
                f" with {steps} gradient accumulation steps (same effective batch "
                f"{batch * steps})" if request.training else "")
            return Suggestion(change=change, estimate=candidate)
    return None


def _combined(request: FitRequest, available: int, found: list[Suggestion]) -> None:
    steps: list[tuple[str, FitRequest]] = []
    changed = request
    if not changed.grad_checkpointing:
        changed = replace(changed, grad_checkpointing=True)
        steps.append(("--grad-checkpointing", changed))
    if changed.batch > 1:
        accumulation = changed.batch * changed.gradient_accumulation
        changed = replace(changed, batch=1, gradient_accumulation=accumulation)
        steps.append((f"--batch 1 with {accumulation} gradient accumulation steps", changed))
    if changed.optimizer == "adamw":
        changed = replace(changed, optimizer="adamw8bit")
        steps.append(("--optimizer adamw8bit", changed))
    if changed.method in ("full", "lora"):
        changed = replace(changed, method="qlora")
        steps.append(("--method qlora", changed))
    names: list[str] = []
    for name, step in steps:
        names.append(name)
        candidate = estimate(step)
        if candidate.total <= available:
            found.append(Suggestion(change=" ".join(names), estimate=candidate))
            return


# --- findings for the doctor -------------------------------------------------------------------


def gib(value: int) -> str:
    return f"{value / GIB:.1f} GiB"


def describe(request: FitRequest) -> str:
    r = request
    parts = [f"{r.method}", f"batch {r.batch}", f"seq {r.seq}", r.precision]
    if r.training:
        parts.append(r.optimizer)
        if r.grad_checkpointing:
            parts.append("gradient checkpointing")
    return ", ".join(parts)


def fit_findings(result: Estimate, gpus: Sequence[Gpu]) -> tuple[Finding, ...]:
    """A `memory` finding when the estimated run does not fit on a visible GPU: an error
    when it fits on none, a warning when it fits only on some. Nothing without GPUs."""
    visible = capacities(gpus)
    if not visible:
        return ()
    verdicts = fit_on(result, visible)
    fitting = [v for v in verdicts if v.fits]
    if len(fitting) == len(verdicts):
        return ()
    largest = max(verdicts, key=lambda v: v.gpu.available)
    per_gpu = "; ".join(_gpu_line(v) for v in verdicts if not v.fits)
    evidence = {"estimate_gib": f"{result.total / GIB:.2f}", "run": describe(result.request),
                **{f"gpu{v.gpu.index}_available_gib": f"{v.gpu.available / GIB:.2f}"
                   for v in verdicts}}
    if fitting:
        indexes = ",".join(str(v.gpu.index) for v in fitting)
        return (Finding(
            id="run-fits-only-some-gpus", category="memory", severity="warning",
            summary=f"The run ({describe(result.request)}) needs about {gib(result.total)} "
                    f"per GPU and does not fit on {per_gpu}",
            explanation="A run placed on a GPU without room for it stops with 'CUDA out of "
                        "memory'.",
            fix=f"CUDA_VISIBLE_DEVICES={indexes} <your training command>",
            evidence=evidence),)
    options = suggestions(result, largest.gpu.available)
    fix = (f"{options[0].change} (about {gib(options[0].estimate.total)})" if options
           else "none of checkpointing, a smaller batch, an 8-bit optimizer, QLoRA or "
                "sharding over up to 64 GPUs fits; pick a smaller model")
    return (Finding(
        id="run-does-not-fit-gpu-memory", category="memory", severity="error",
        summary=f"The run ({describe(result.request)}) needs about {gib(result.total)} per "
                f"GPU; {per_gpu}",
        explanation="Weights, gradients, optimizer states and activations together exceed the "
                    "GPU's memory, so the first training step stops with 'CUDA out of memory'. "
                    "`envcheck fit` shows the breakdown.",
        fix=fix, evidence=evidence),)


def _gpu_line(verdict: GpuFit) -> str:
    gpu = verdict.gpu
    label = f"GPU {gpu.index} ({gpu.name})" if gpu.index is not None else gpu.name
    free = f", {gib(gpu.available)} free" if gpu.used_bytes else ""
    return f"{label} has {gib(gpu.memory_bytes)}{free}, {gib(-verdict.headroom)} short"
