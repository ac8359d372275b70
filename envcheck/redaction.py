"""Credentials never leave the machine: Snapshots travel in bug reports and CI uploads.

Redaction runs on every string envcheck writes or prints, not only on the environment
variables it chose to keep, because a token can hide in a path, a URL or an error message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

REDACTED = "<redacted>"

# A password inside a URL: scheme://user:password@host -> scheme://user:<redacted>@host
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:)[^/\s@]+(?=@)")
# A bare token inside a URL's userinfo: https://TOKEN@host
_URL_TOKEN = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://)(?:gh[pousr]_|hf_|glpat-)[^/\s@]+@")
# Well-known token shapes (GitHub, Hugging Face, GitLab, AWS access keys, OpenAI-style keys).
_TOKENS = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|hf_[A-Za-z0-9]{20,}"
    r"|glpat-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{20,})\b"
)
# key=value or key: value where the key names a secret.
_SECRET_ASSIGNMENT = re.compile(
    r"(?P<head>\b[\w.-]*(?:token|secret|passw(?:or)?d|api[_-]?key|access[_-]?key)[\w.-]*"
    r"\s*[=:]\s*)(?P<value>[^\s,;'\"]+)",
    re.IGNORECASE,
)
_SECRET_NAME = re.compile(r"token|secret|passw(?:or)?d|api[_-]?key|access[_-]?key|credential",
                          re.IGNORECASE)


def redact_text(text: str) -> str:
    """Replace anything that looks like a credential in free text."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    text = _URL_TOKEN.sub(lambda m: m.group("head") + REDACTED + "@", text)
    text = _TOKENS.sub(REDACTED, text)
    return _SECRET_ASSIGNMENT.sub(lambda m: m.group("head") + REDACTED, text)


def is_secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """Values of secret-named variables go entirely; the others are scrubbed as text."""
    return {k: REDACTED if is_secret_name(k) else redact_text(v) for k, v in env.items()}


def redact_json(value: object) -> object:
    """Redact every string inside a JSON-ready value (dict keys are names, kept as they are)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_name(k) and isinstance(v, str) else redact_json(v)
                for k, v in value.items()}
    return value
