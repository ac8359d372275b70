"""Fingerprints to JSON and back, the way `envcheck.snapshot` does it for Snapshots."""

from __future__ import annotations

import json

from envcheck.errors import FingerprintFormatError
from envcheck.fingerprint_model import FINGERPRINT_SCHEMA, Fingerprint


def fingerprint_to_json(fingerprint: Fingerprint) -> str:
    """The Fingerprint as JSON text, with credentials redacted wherever they hide."""
    from envcheck.jsoncodec import encode
    from envcheck.redaction import redact_json

    return json.dumps(redact_json(encode(fingerprint)), indent=2) + "\n"


def fingerprint_from_json(text: str, *, origin: str) -> Fingerprint:
    """Parse a Fingerprint document; `origin` (a file name) goes into every error message."""
    from envcheck.jsoncodec import DecodeError, decode

    hint = "Give a file written by `envcheck fingerprint -o FILE`."
    if not text.strip():
        raise FingerprintFormatError(f"{origin} is empty, not a fingerprint", hint=hint)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        truncated = "" if text.rstrip().endswith("}") else " (the file looks truncated)"
        raise FingerprintFormatError(
            f"{origin} is not JSON{truncated}: {e.msg} at line {e.lineno}, column {e.colno}",
            hint=hint) from e
    if not isinstance(document, dict):
        raise FingerprintFormatError(
            f"{origin} holds a JSON {type(document).__name__}, not a fingerprint object",
            hint=hint)
    schema = document.get("schema")
    if schema != FINGERPRINT_SCHEMA:
        raise FingerprintFormatError(
            f"{origin} has schema {schema!r}; this envcheck reads {FINGERPRINT_SCHEMA!r}",
            hint="Take the fingerprint again with this version of `envcheck fingerprint`.")
    try:
        return decode(Fingerprint, document)
    except DecodeError as e:
        raise FingerprintFormatError(f"{origin} is not a valid fingerprint: {e}",
                                     hint=hint) from e
