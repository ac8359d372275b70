"""`envcheck fit` estimates against published peak-memory measurements.

Each case names its source, the exact setting and the exact figure. docs/fit.md has the same
table. Tolerances: 10% for whole-process figures read from NVML (they include the CUDA
context and the caching allocator, which the estimate models as allowances), 3% for
`torch.cuda.max_memory_allocated` figures of inference (weights dominate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from envcheck.fit import GIB, MIB, FitRequest, Optimizer, Precision, estimate
from envcheck.fit_model import ModelShape, load_model, shape_from_count

DATA = Path(__file__).resolve().parents[1] / "data" / "fit"
TRAINING_TOLERANCE = 0.10
INFERENCE_TOLERANCE = 0.03

# Hugging Face Transformers docs, "Efficient Training on a Single GPU" (perf_train_gpu_one,
# v4.18-v4.21, docs/source/en/perf_train_gpu_one.mdx): bert-large-uncased
# (AutoModelForSequenceClassification), Trainer, sequence length 512, V100 16 GB, eager
# attention, "GPU memory occupied" read with NVML (nvmlDeviceGetMemoryInfo().used // 1024**2,
# so MiB), which includes the 1343 MB that `torch.ones((1, 1)).to("cuda")` alone occupied.
HF_SINGLE_GPU = "HF perf_train_gpu_one, bert-large-uncased, seq 512, V100"


@dataclass(frozen=True)
class TrainingCase:
    label: str
    precision: Precision
    batch: int
    checkpointing: bool
    optimizer: Optimizer
    measured_mib: int


BERT_CASES = [
    TrainingCase("vanilla, batch 4", "fp32", 4, False, "adamw", 14949),
    TrainingCase("batch 1 x 4 accumulation", "fp32", 1, False, "adamw", 8681),
    TrainingCase("batch 1 x 4, gradient checkpointing", "fp32", 1, True, "adamw", 6775),
    TrainingCase("fp16=True, batch 4", "fp16", 4, False, "adamw", 13939),
    TrainingCase("batch 1 x 4, checkpointing, fp16", "fp16", 1, True, "adamw", 7275),
    TrainingCase("bnb Adam8bit, batch 4", "fp32", 4, False, "adamw8bit", 13085),
    TrainingCase("Adam8bit, batch 1 x 4, checkpointing, fp16", "fp16", 1, True, "adamw8bit",
                 5363),
]


@pytest.fixture(scope="module")
def bert_large() -> ModelShape:
    return load_model(str(DATA / "bert-large-uncased.config.json"), cwd=DATA)


def test_bert_large_parameter_count_matches_the_published_size(bert_large: ModelShape) -> None:
    # BERT paper (Devlin et al. 2019), section 3: BERT-LARGE has 340M parameters. Biases and
    # the pooler are not counted by the estimate.
    assert bert_large.parameters == pytest.approx(340e6, rel=0.03)


def test_llama_3_8b_parameter_count_is_exact() -> None:
    # meta-llama/Meta-Llama-3-8B's model card: 8.03B parameters (8,030,261,248 in safetensors).
    shape = load_model(str(DATA / "llama-3-8b.config.json"), cwd=DATA)
    assert shape.parameters == 8_030_261_248
    assert shape.kv_heads == 8
    assert shape.gated_mlp


@pytest.mark.parametrize("case", BERT_CASES, ids=lambda c: c.label)
def test_full_training_matches_hf_single_gpu_measurements(
        bert_large: ModelShape, case: TrainingCase) -> None:
    result = estimate(FitRequest(
        model=bert_large, method="full", batch=case.batch, seq=512, precision=case.precision,
        optimizer=case.optimizer, grad_checkpointing=case.checkpointing, attention="eager",
        lm_head=False))
    assert result.total / MIB == pytest.approx(case.measured_mib, rel=TRAINING_TOLERANCE), \
        f"{HF_SINGLE_GPU}: {case.label}"


def test_cuda_context_is_the_measured_one() -> None:
    # Same document: "GPU memory occupied: 1343 MB." after torch.ones((1, 1)).to("cuda").
    result = estimate(FitRequest(model=shape_from_count(10**6), method="inference", batch=1,
                                 seq=1))
    assert result.cuda_context == 1343 * MIB


def test_inference_bf16_matches_hf_octocoder_measurement() -> None:
    # Hugging Face Transformers docs, "Optimizing LLMs for Speed and Memory"
    # (llm_tutorial_optimization.md): bigcode/octocoder (15.5B parameters: "2 * 15.5 = 31 GB")
    # in bfloat16, a one-line prompt and max_new_tokens=60, torch.cuda.max_memory_allocated()
    # / 1024**3 = 29.0260648727417. max_memory_allocated counts tensors only, so the
    # comparison is against `tensors` (no CUDA context, no allocator allowance).
    result = estimate(FitRequest(model=shape_from_count(15_500_000_000), method="inference",
                                 batch=1, seq=100, precision="bf16"))
    assert result.tensors / GIB == pytest.approx(29.0260648727417, rel=INFERENCE_TOLERANCE)


def test_qlora_65b_base_weights_fit_the_48gb_gpu_the_qlora_paper_used() -> None:
    # Dettmers et al. 2023, "QLoRA", abstract: QLoRA "reduces memory usage enough to finetune a
    # 65B parameter model on a single 48GB GPU". The paper's paged optimizer moves optimizer
    # states to CPU memory when the GPU runs short, which envcheck does not model, so only the
    # quantized base (NF4 + double quantization, 4.127 bits per weight, section 3) is bounded.
    result = estimate(FitRequest(model=shape_from_count(65_000_000_000), method="qlora",
                                 batch=1, seq=512, precision="bf16", grad_checkpointing=True,
                                 lora_rank=64))
    adapters = result.trainable_parameters * 4
    assert result.weights - adapters < 48e9
    assert result.weights - adapters == pytest.approx(65e9 * 4.127 / 8, rel=0.02)


def test_16_bit_finetuning_65b_needs_more_than_780_gb() -> None:
    # Same paper, introduction: "regular 16-bit finetuning of a LLaMA 65B parameter model
    # requires more than 780 GB of GPU memory".
    result = estimate(FitRequest(model=shape_from_count(65_000_000_000), method="full",
                                 batch=1, seq=512, precision="bf16"))
    assert result.total > 780e9


def test_mixed_precision_adam_model_states_are_at_least_zero_s_16_bytes() -> None:
    # Rajbhandari et al. 2020, "ZeRO", section 3.1: mixed-precision Adam holds 2 + 2 + 12 = 16
    # bytes per parameter ("a 1.5B GPT-2 ... requires at least 24 GB"). torch autocast adds
    # the 16-bit weight copies (HF "Model training anatomy": 18 bytes), so envcheck's figure
    # is that floor plus 2 bytes.
    result = estimate(FitRequest(model=shape_from_count(1_500_000_000), method="full",
                                 batch=1, seq=1, precision="fp16"))
    states = result.weights + result.gradients + result.optimizer_states
    assert states >= 24e9
    assert states == 18 * result.request.model.parameters


def test_8bit_adam_keeps_a_quarter_of_adam_s_state() -> None:
    # bitsandbytes 8-bit optimizers (Dettmers et al. 2022): 2 bytes of state per parameter
    # instead of 8 ("can save 3/4 of memory normally used by a typical AdamW optimizer",
    # HF perf_train_gpu_one).
    model = shape_from_count(3_000_000_000)
    adam = estimate(FitRequest(model=model, method="full", batch=1, seq=1))
    eight = estimate(FitRequest(model=model, method="full", batch=1, seq=1,
                                optimizer="adamw8bit"))
    assert eight.optimizer_states * 4 == adam.optimizer_states
