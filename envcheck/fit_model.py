"""The shape of a model for `envcheck fit`: from a parameter count ("7B") or a Hugging Face
config.json, read locally.

A config gives the exact shape (hidden size, layers, heads, KV heads, MLP width, vocabulary);
a bare count gets an assumed Llama-like shape, and the estimate says so.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcheck.adapters.filesystem import read_input_text
from envcheck.errors import UsageError


class FitInputError(UsageError):
    """A model, a config.json or a setting `envcheck fit` cannot estimate from."""


# Families whose MLP is gated (SwiGLU / GeGLU: gate, up and down projections) and whose
# norm is an RMSNorm that upcasts to fp32; from each family's modeling code in transformers.
GATED_MLP_TYPES = frozenset({
    "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma",
    "gemma2", "gemma3_text", "phi3", "olmo", "olmo2", "granite", "cohere", "deepseek_v2",
    "deepseek_v3", "internlm2", "yi", "baichuan", "smollm3",
})
# Families with learned absolute position embeddings (a [max_positions, hidden] table).
LEARNED_POSITION_TYPES = frozenset({
    "bert", "roberta", "gpt2", "gpt_bigcode", "opt", "distilbert", "electra", "xlm-roberta",
})

_SUFFIX = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_COUNT = re.compile(r"(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmbgt]?)", re.IGNORECASE)
_SIGNED_COUNT = re.compile(r"([+-]?)\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmbgt]?)", re.IGNORECASE)

MAX_PARAMETERS = 100 * 10**12
"""The largest count `fit` estimates (100T). The largest published models have a few trillion
parameters; a count far past that is a typo (99999T), and its estimate would be noise."""

ASSUMED_VOCAB = 32_000
"""Vocabulary assumed for a bare parameter count (Llama 2's)."""


@dataclass(frozen=True, kw_only=True)
class ModelShape:
    parameters: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    gated_mlp: bool
    rms_norm: bool
    tied_embeddings: bool
    hidden_dropout: float = 0.0
    attention_dropout: float = 0.0
    experts: int = 1
    experts_per_token: int = 1
    source: str
    """The config file, or "parameter count" when the shape is assumed."""
    assumed: bool = False

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    @property
    def linear_parameters(self) -> int:
        """Weights of the transformer blocks' linear layers (what QLoRA quantizes)."""
        return self.layers * (self.attention_linear + self.mlp_linear * self.experts)

    @property
    def attention_linear(self) -> int:
        return 2 * self.hidden * self.hidden + 2 * self.hidden * self.kv_dim

    @property
    def mlp_linear(self) -> int:
        return (3 if self.gated_mlp else 2) * self.hidden * self.intermediate


def parse_parameter_count(text: str) -> int | None:
    """"7B" -> 7e9, "350M" -> 3.5e8, "1.5b", "125m", "7e9"; None when it is not a count."""
    match = _COUNT.fullmatch(text.strip())
    if match is None:
        return None
    value = float(match.group(1)) * _SUFFIX[match.group(2).lower()]
    return int(value) if 1 <= value < math.inf else None


def _checked_count(spec: str) -> int | None:
    """The count MODEL gives, None when MODEL is no count; FitInputError for a count that
    cannot be a model's (negative, zero, past MAX_PARAMETERS)."""
    match = _SIGNED_COUNT.fullmatch(spec.strip())
    if match is None:
        return None
    sign, number, suffix = match.groups()
    value = float(number) * _SUFFIX[suffix.lower()]
    if sign == "-" or value < 1:
        raise FitInputError(f"MODEL {spec.strip()!r}: a parameter count must be positive",
                            hint="Give a count like 7B or 350M.")
    if value > MAX_PARAMETERS:
        raise FitInputError(
            f"MODEL {spec.strip()!r} is {value:.5g} parameters, more than the 100T envcheck "
            "estimates (the largest published models have a few trillion)",
            hint="Check the suffix: K, M, B (or G) and T are thousands, millions, billions "
            "and trillions.")
    return int(value)


def shape_from_count(parameters: int) -> ModelShape:
    """A Llama-like shape with `parameters` weights: hidden = 128 x layers (Llama 2 7B and 13B
    have 4096/32 and 5120/40) and 12 x layers x hidden^2 block weights."""
    layers = max(1, round((parameters / (12 * 128 * 128)) ** (1 / 3)))
    hidden = max(64, int(math.sqrt(parameters / (12 * layers))) // 64 * 64)
    heads = max(1, hidden // 128)
    return ModelShape(
        parameters=parameters, hidden=hidden, layers=layers, heads=heads, kv_heads=heads,
        intermediate=int(hidden * 8 / 3) // 64 * 64, vocab=ASSUMED_VOCAB, gated_mlp=True,
        rms_norm=True, tied_embeddings=False, source="parameter count", assumed=True,
    )


def load_model(spec: str, *, cwd: Path) -> ModelShape:
    """MODEL as the user wrote it: a parameter count or a path to a config.json (or a folder
    holding one)."""
    count = _checked_count(spec)
    if count is not None:
        return shape_from_count(count)
    path = Path(spec)
    path = path if path.is_absolute() else cwd / path
    if path.is_dir():
        path = path / "config.json"
    if not path.exists():
        raise FitInputError(
            f"MODEL {spec!r} is neither a parameter count nor an existing file",
            hint="Give a count like 7B or 350M, or the path of a Hugging Face config.json "
            "(downloaded with the model; envcheck never fetches it).")
    try:
        text = read_input_text(path, errors="strict")  # bounded: /dev/zero never ends
    except (OSError, UnicodeDecodeError) as e:
        raise FitInputError(f"cannot read {path}: {e}") from e
    try:
        document = json.loads(text)
    except RecursionError as e:
        raise FitInputError(f"{path} nests JSON deeper than Python can read: not a "
                            "config.json") from e
    except json.JSONDecodeError as e:
        raise FitInputError(
            f"{path} is not JSON ({e.msg} at line {e.lineno}): an unknown model format",
            hint="envcheck fit reads a Hugging Face config.json; for other formats give the "
            "parameter count (7B).") from e
    if not isinstance(document, dict):
        raise FitInputError(f"{path} holds a JSON {type(document).__name__}, not a "
                            "config.json object")
    return shape_from_config(document, origin=str(path))


_HIDDEN = ("hidden_size", "n_embd", "d_model", "dim")
_LAYERS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
_HEADS = ("num_attention_heads", "n_head", "num_heads", "n_heads")
_INTERMEDIATE = ("intermediate_size", "n_inner", "ffn_dim", "d_ff", "ffn_hidden_size")
_VOCAB = ("vocab_size", "padded_vocab_size")


def _first(config: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if config.get(name) is not None:
            return config[name]
    return None


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value > 0 and float(value).is_integer() else None


def _probability(config: Mapping[str, Any], *names: str) -> float:
    value = _first(config, names)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def shape_from_config(document: Mapping[str, Any], *, origin: str) -> ModelShape:
    """The shape a Hugging Face config.json describes; FitInputError names missing fields."""
    config: Mapping[str, Any] = document
    text_config = document.get("text_config")
    if _first(document, _HIDDEN) is None and isinstance(text_config, dict):
        config = text_config  # multimodal configs nest the language model
    model_type = str(config.get("model_type") or document.get("model_type") or "")
    values = {
        "hidden_size": _positive_int(_first(config, _HIDDEN)),
        "num_hidden_layers": _positive_int(_first(config, _LAYERS)),
        "num_attention_heads": _positive_int(_first(config, _HEADS)),
        "vocab_size": _positive_int(_first(config, _VOCAB)),
    }
    missing = [name for name, value in values.items() if value is None]
    hidden = values["hidden_size"]
    raw_intermediate = _first(config, _INTERMEDIATE)
    intermediate = _positive_int(raw_intermediate)
    if intermediate is None and hidden is not None and "n_inner" in config:
        intermediate = 4 * hidden  # GPT-2 style: n_inner null means 4 x n_embd
    if intermediate is None:
        missing.append("intermediate_size")
    if missing:
        raise FitInputError(
            f"{origin} lacks {', '.join(missing)} (or gives a non-positive value)",
            hint="envcheck fit needs the hidden size, layers, attention heads, MLP size and "
            "vocabulary of a Hugging Face config.json; or give the parameter count (7B).")
    assert hidden is not None
    assert intermediate is not None
    layers = values["num_hidden_layers"] or 0
    heads = values["num_attention_heads"] or 0
    vocab = values["vocab_size"] or 0
    kv_heads = _positive_int(config.get("num_key_value_heads")) or heads
    if config.get("multi_query") is True:
        kv_heads = 1
    if hidden % heads:
        raise FitInputError(f"{origin}: hidden_size {hidden} is not divisible by "
                            f"num_attention_heads {heads}")
    gated = model_type in GATED_MLP_TYPES or config.get("hidden_act") in {"silu", "swiglu"}
    experts = _positive_int(
        _first(config, ("num_local_experts", "num_experts", "n_routed_experts"))) or 1
    per_token = _positive_int(_first(config, ("num_experts_per_tok", "moe_top_k"))) or 1
    tied = config.get("tie_word_embeddings", document.get("tie_word_embeddings", True))
    shape = ModelShape(
        parameters=0, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads,
        intermediate=intermediate, vocab=vocab, gated_mlp=gated,
        rms_norm=gated or "rms_norm_eps" in config, tied_embeddings=bool(tied),
        hidden_dropout=_probability(config, "hidden_dropout_prob", "resid_pdrop",
                                    "hidden_dropout", "dropout"),
        attention_dropout=_probability(config, "attention_probs_dropout_prob", "attn_pdrop",
                                       "attention_dropout"),
        experts=experts, experts_per_token=min(per_token, experts), source=origin,
    )
    positions = _positive_int(config.get("max_position_embeddings")) or 0
    learned = positions * hidden if model_type in LEARNED_POSITION_TYPES else 0
    embeddings = vocab * hidden * (1 if shape.tied_embeddings else 2) + learned
    norms = (2 * layers + 1) * hidden
    return _with_parameters(shape, shape.linear_parameters + embeddings + norms)


def _with_parameters(shape: ModelShape, parameters: int) -> ModelShape:
    from dataclasses import replace

    return replace(shape, parameters=parameters)
