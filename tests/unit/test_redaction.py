from __future__ import annotations

import pytest

from envcheck.redaction import redact_env, redact_json, redact_text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("https://user:hunter2@pypi.example.com/simple", "hunter2"),
        ("git+https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r", "ghp_abcdef"),
        ("token hf_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123 in a path", "hf_ABCDEF"),
        ("AWS key AKIAIOSFODNN7EXAMPLE leaked", "AKIAIOSFODNN7EXAMPLE"),
        ("--password=swordfish", "swordfish"),
        ("api_key: 0123456789abcdef", "0123456789abcdef"),
    ],
)
def test_credentials_are_removed(text: str, secret: str) -> None:
    assert secret not in redact_text(text)
    assert "<redacted>" in redact_text(text)


def test_plain_values_survive() -> None:
    for text in ("/usr/local/cuda/lib64:/opt/lib", "expandable_segments:True", "eth0",
                 "https://download.pytorch.org/whl/cu124"):
        assert redact_text(text) == text


def test_secret_named_variables_lose_their_whole_value() -> None:
    assert redact_env({"NCCL_IB_TOKEN": "abc", "NCCL_DEBUG": "INFO"}) == {
        "NCCL_IB_TOKEN": "<redacted>", "NCCL_DEBUG": "INFO"}


def test_json_values_are_scrubbed_everywhere() -> None:
    document = {"a": ["https://u:p4ss@h/x"], "b": {"api_token": "xyz", "n": 3}}
    assert redact_json(document) == {
        "a": ["https://u:<redacted>@h/x"], "b": {"api_token": "<redacted>", "n": 3}}
