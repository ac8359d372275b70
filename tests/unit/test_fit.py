"""`envcheck fit`'s core: model parsing, bad input, suggestions and the doctor's finding."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from envcheck.errors import ExitCode
from envcheck.fit import (
    GIB,
    FitRequest,
    GpuCapacity,
    estimate,
    fit_findings,
    fit_on,
    suggestions,
)
from envcheck.fit_model import FitInputError, load_model, parse_parameter_count
from envcheck.snapshot import Gpu

DATA = Path(__file__).resolve().parents[1] / "data" / "fit"
LLAMA3 = DATA / "llama-3-8b.config.json"


@pytest.mark.parametrize(("text", "count"), [
    ("7B", 7_000_000_000), ("350M", 350_000_000), ("1.5b", 1_500_000_000),
    ("125m", 125_000_000), ("7e9", 7_000_000_000), (" 70B ", 70_000_000_000),
])
def test_parameter_counts(text: str, count: int) -> None:
    assert parse_parameter_count(text) == count


@pytest.mark.parametrize("text", ["seven", "7X", "", "-7B", "0"])
def test_not_parameter_counts(text: str) -> None:
    assert parse_parameter_count(text) is None


def test_a_config_folder_is_read_like_its_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(LLAMA3.read_text())
    assert load_model(str(tmp_path), cwd=Path("/")).parameters == 8_030_261_248


def test_missing_config_fields_are_named() -> None:
    with pytest.raises(FitInputError) as caught:
        load_model(str(DATA / "missing-fields.config.json"), cwd=DATA)
    assert "num_hidden_layers" in caught.value.message
    assert "vocab_size" in caught.value.message
    assert "intermediate_size" in caught.value.message
    assert "hidden_size" not in caught.value.message
    assert caught.value.exit_code is ExitCode.USAGE


def test_unknown_model_format_is_a_usage_error() -> None:
    with pytest.raises(FitInputError, match="unknown model format"):
        load_model(str(DATA / "model.gguf"), cwd=DATA)


def test_neither_count_nor_file() -> None:
    with pytest.raises(FitInputError, match="neither a parameter count nor an existing file"):
        load_model("llama-from-the-moon", cwd=DATA)


@pytest.mark.parametrize(("batch", "seq", "rank", "flag"), [
    (-1, 512, 16, "--batch"), (1, 0, 16, "--seq"), (1, 512, -8, "--lora-rank")])
def test_non_positive_settings_are_refused(batch: int, seq: int, rank: int, flag: str) -> None:
    model = load_model("7B", cwd=DATA)
    with pytest.raises(FitInputError, match=f"{flag} must be a positive number"):
        FitRequest(model=model, method="lora", batch=batch, seq=seq, lora_rank=rank)


def _llama_qlora(batch: int = 4) -> FitRequest:
    return FitRequest(model=load_model(str(LLAMA3), cwd=DATA), method="qlora", batch=batch,
                      seq=2048, precision="bf16")


def test_checkpointing_cuts_activations_and_both_are_reported() -> None:
    result = estimate(_llama_qlora())
    assert result.activations == result.activations_without_checkpointing
    assert result.activations_with_checkpointing < result.activations_without_checkpointing / 3
    assert result.total == sum(result.breakdown().values())


def test_memory_ordering_of_methods() -> None:
    base = _llama_qlora(batch=1)
    totals = {m: estimate(replace(base, method=m)).total
              for m in ("full", "lora", "qlora", "inference")}
    assert totals["full"] > totals["lora"] > totals["qlora"] > totals["inference"]


def test_suggestions_that_fit_cheapest_first() -> None:
    result = estimate(_llama_qlora())
    found = suggestions(result, 24 * GIB)
    assert [s.change for s in found][:2] == [
        "--grad-checkpointing",
        "--batch 1 with 4 gradient accumulation steps (same effective batch 4)"]
    assert all(s.estimate.total <= 24 * GIB for s in found)


def test_more_gpus_are_suggested_for_full_training_that_shards() -> None:
    request = FitRequest(model=load_model(str(LLAMA3), cwd=DATA), method="full", batch=1,
                         seq=512, grad_checkpointing=True)
    found = suggestions(estimate(request), 80 * GIB)
    sharded = [s for s in found if "GPUs" in s.change]
    assert sharded
    assert sharded[0].change.startswith("2 GPUs")


def test_a_combination_when_no_single_change_fits() -> None:
    request = FitRequest(model=load_model("7B", cwd=DATA), method="full", batch=8, seq=2048)
    found = suggestions(estimate(request), 24 * GIB)
    assert len(found) == 1
    assert "--grad-checkpointing" in found[0].change
    assert "--method qlora" in found[0].change


def test_fit_on_reports_headroom() -> None:
    result = estimate(_llama_qlora(batch=1))
    big, small = GpuCapacity(name="big", memory_bytes=80 * GIB), GpuCapacity(
        name="small", memory_bytes=8 * GIB)
    verdicts = fit_on(result, [big, small])
    assert verdicts[0].fits
    assert verdicts[0].headroom == 80 * GIB - result.total
    assert not verdicts[1].fits


def _gpu(index: int, total_mib: int, used_mib: int = 0) -> Gpu:
    return Gpu(index=index, name="NVIDIA GeForce RTX 4090", memory_total_mib=total_mib,
               memory_used_mib=used_mib)


def test_finding_when_the_run_fits_on_no_visible_gpu() -> None:
    (finding,) = fit_findings(estimate(_llama_qlora()), [_gpu(0, 24564)])
    assert finding.id == "run-does-not-fit-gpu-memory"
    assert finding.category == "memory"
    assert finding.severity == "error"
    assert "GPU 0 (NVIDIA GeForce RTX 4090) has 24.0 GiB" in finding.summary
    assert finding.fix is not None
    assert finding.fix.startswith("--grad-checkpointing")


def test_memory_held_by_others_counts() -> None:
    result = estimate(_llama_qlora(batch=1))
    assert fit_findings(result, [_gpu(0, 81920)]) == ()
    (finding,) = fit_findings(result, [_gpu(0, 81920, used_mib=70000)])
    assert "free" in finding.summary


def test_warning_when_it_fits_on_some_gpus_only() -> None:
    result = estimate(_llama_qlora(batch=1))
    (finding,) = fit_findings(result, [_gpu(0, 8192), _gpu(1, 81920)])
    assert finding.id == "run-fits-only-some-gpus"
    assert finding.severity == "warning"
    assert finding.fix is not None
    assert finding.fix.startswith("CUDA_VISIBLE_DEVICES=1 ")


def test_no_finding_without_gpus_or_memory() -> None:
    result = estimate(_llama_qlora())
    assert fit_findings(result, []) == ()
    assert fit_findings(result, [Gpu(index=0, name="x")]) == ()
