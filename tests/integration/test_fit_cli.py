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


def test_named_gpu_answers_with_the_tables_memory(envcheck_cli: CliRunner) -> None:
    # Issue 12's evidence line: the card's 24 GiB, from the GPU table, no --gpu-memory.
    text = envcheck_cli("fit", "7B", "--method", "qlora", "--gpu", "RTX 4090")
    assert text.returncode == 0, text.stderr
    assert "✔ NVIDIA GeForce RTX 4090: fits in 24.0 GiB (the GPU table's size)" in text.stdout
    result = envcheck_cli("fit", "7B", "--method", "qlora", "--gpu", "RTX 4090", "--json")
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert document["fits"] is True
    assert document["gpus"] == [{
        "name": "NVIDIA GeForce RTX 4090", "index": None, "memory_gib": 24.0,
        "memory_from": "gpu table", "available_gib": 24.0, "fits": True,
        "headroom_gib": document["gpus"][0]["headroom_gib"]}]
    assert document["gpus"][0]["headroom_gib"] > 0


def test_named_gpu_spellings_counts_and_variants(envcheck_cli: CliRunner) -> None:
    pair = envcheck_cli("fit", "13B", "--method", "lora", "--gpu", "2x A6000", "--json")
    assert pair.returncode == 0, pair.stderr
    assert [(g["name"], g["index"], g["memory_gib"]) for g in pair.json()["gpus"]] == [
        ("NVIDIA RTX A6000", 0, 48.0), ("NVIDIA RTX A6000", 1, 48.0)]
    laptop = envcheck_cli("fit", "7B", "--method", "qlora", "--gpu", "3070 Laptop", "--json")
    assert laptop.returncode == 3, laptop.stderr
    assert laptop.json()["gpus"][0]["name"] == "NVIDIA GeForce RTX 3070 Laptop GPU"
    assert laptop.json()["gpus"][0]["memory_gib"] == 8.0
    sizes = envcheck_cli("fit", "7B", "--gpu", "RTX 4060 Ti")
    assert sizes.returncode == 2
    assert "NVIDIA GeForce RTX 4060 Ti 16GB (16 GiB)" in sizes.stderr
    assert "NVIDIA GeForce RTX 4060 Ti 8GB (8 GiB)" in sizes.stderr
    given = envcheck_cli("fit", "7B", "--method", "qlora", "--seq", "512", "--gpu",
                         "RTX 4060 Ti", "--gpu-memory", "16", "--json")
    assert given.returncode == 0, given.stderr
    assert given.json()["gpus"][0]["memory_from"] == "--gpu-memory"
    unknown = envcheck_cli("fit", "7B", "--gpu", "Radeon RX 7900")
    assert unknown.returncode == 2
    assert "does not know the GPU 'Radeon RX 7900'" in unknown.stderr
    assert "--gpu-memory" in unknown.stderr


def test_this_machines_gpus_are_named_each(envcheck_cli: CliRunner) -> None:
    result = envcheck_cli("fit", "7B", "--method", "qlora", "--seq", "512",
                          scenario="h100x8_driver535_mig")
    lines = [line for line in result.stdout.splitlines() if line.startswith(("✔", "✘"))]
    assert len(lines) == 8, result.stdout
    assert all("(NVIDIA H100 80GB HBM3)" in line for line in lines)
    assert [line.split(" (")[0][2:] for line in lines] == [f"GPU {i}" for i in range(8)]
    single = envcheck_cli("fit", "7B", "--method", "qlora", "--json",
                          scenario="a100_driver525")
    assert single.returncode == 0, single.stderr
    (gpu,) = single.json()["gpus"]
    assert (gpu["name"], gpu["index"], gpu["memory_from"]) == (
        "NVIDIA A100-SXM4-80GB", 0, "nvml")


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


def test_no_gpu_considered_is_not_fits(envcheck_cli: CliRunner) -> None:
    # Issue 14 item 9: a gate must not pass when no GPU was looked at.
    result = envcheck_cli("fit", "350M", "--seq", "512")
    assert result.returncode == 3, result.stderr
    assert "total" in result.stdout  # the estimate is still printed
    assert "no GPU considered" in result.stdout
    assert "cannot say the run fits" in result.stdout
    document = envcheck_cli("fit", "350M", "--seq", "512", "--json",
                            scenario="no_driver")
    assert document.returncode == 3
    assert document.json()["fits"] is False
    assert document.json()["gpus"] == []
    assert "no NVIDIA GPU" in document.json()["reason"]


def test_counts_no_model_has_exit_2(envcheck_cli: CliRunner) -> None:
    negative = envcheck_cli("fit", "-5B", "--gpu", "RTX 4090")
    assert negative.returncode == 2
    assert "MODEL '-5B': a parameter count must be positive" in negative.stderr
    assert "No such option" not in negative.stderr
    huge = envcheck_cli("fit", "99999T", "--gpu", "RTX 4090")
    assert huge.returncode == 2
    assert "more than the 100T envcheck estimates" in huge.stderr
    bogus = envcheck_cli("fit", "--bogus")
    assert bogus.returncode == 2
    assert "no such option: --bogus" in bogus.stderr
