"""`envcheck fit` as a user runs it: this machine's GPUs (the stand-in NVML), --gpu, --profile,
--json, and bad input."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import CliRunner

DATA = Path(__file__).resolve().parents[1] / "data" / "fit"
LLAMA3 = str(DATA / "llama-3-8b.config.json")


def test_json_contract_on_this_machines_gpu(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("fit", LLAMA3, "--method", "qlora", "--batch", "4", "--seq", "2048",
                          "--json", scenario="rtx4090_driver550")
    assert result.returncode == 3, result.stderr
    document = result.json()
    assert set(document) >= {"total_gib", "breakdown", "gpus", "suggestions"}
    assert set(document["breakdown"]) == {"weights", "gradients", "optimizer_states",
                                          "activations", "cuda_context", "allocator_overhead"}
    (gpu,) = document["gpus"]
    assert gpu["name"] == "NVIDIA GeForce RTX 4090"
    assert gpu["memory_gib"] == 23.99
    assert gpu["fits"] is False
    assert gpu["headroom_gib"] < 0
    assert document["suggestions"][0]["change"] == "--grad-checkpointing"
    assert document["suggestions"][0]["total_gib"] < gpu["available_gib"]


def test_fits_with_checkpointing(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("fit", LLAMA3, "--method", "qlora", "--batch", "4", "--seq", "2048",
                          "--grad-checkpointing", scenario="rtx4090_driver550")
    assert result.returncode == 0, result.stderr
    assert "✔ GPU 0 (NVIDIA GeForce RTX 4090): fits" in result.stdout
    for part in ("weights", "gradients", "optimizer states", "activations", "CUDA context",
                 "allocator overhead", "total"):
        assert part in result.stdout


def test_named_gpu_needs_its_memory(envcheck_cli: CliRunner) -> None:
    refused = envcheck_cli("fit", "7B", "--gpu", "RTX 4090")
    assert refused.returncode == 2
    assert "--gpu-memory" in refused.stderr
    result = envcheck_cli("fit", "7B", "--method", "qlora", "--seq", "512", "--gpu",
                          "RTX 4090", "--gpu-memory", "24", "--json")
    assert result.returncode == 0, result.stderr
    assert result.json()["gpus"][0]["name"] == "NVIDIA GeForce RTX 4090"


def test_profile_gpus(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1.0"\n\n'
        '[tool.envcheck.profiles.box]\ndriver = "550.54.15"\n'
        'gpus = [{ name = "NVIDIA GeForce RTX 3060", memory_mib = 12288, count = 2 }]\n')
    result = envcheck_cli("fit", "7B", "--method", "full", "--seq", "512", "--profile", "box",
                          "--json", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    document = result.json()
    assert [g["memory_gib"] for g in document["gpus"]] == [12.0, 12.0]
    assert document["gpus_from"] == "profile box"


def test_bad_input_exits_2_with_the_reason(envcheck_cli: CliRunner) -> None:
    missing = envcheck_cli("fit", str(DATA / "missing-fields.config.json"), "--gpu", "x",
                           "--gpu-memory", "24")
    assert missing.returncode == 2
    assert "lacks num_hidden_layers, vocab_size, intermediate_size" in missing.stderr
    unknown = envcheck_cli("fit", str(DATA / "model.gguf"))
    assert unknown.returncode == 2
    assert "unknown model format" in unknown.stderr
    negative = envcheck_cli("fit", "7B", "--batch", "-2")
    assert negative.returncode == 2
    assert "--batch must be a positive number, got -2" in negative.stderr


def test_without_a_gpu_it_still_estimates(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("fit", "350M", "--seq", "512")
    assert result.returncode == 0, result.stderr
    assert "no GPU with a known memory size" in result.stdout
