"""Fingerprints to JSON and back, the way `envcheck.snapshot` does it for Snapshots."""

from __future__ import annotations

import json
import math
import re

from envcheck.errors import FingerprintFormatError
from envcheck.fingerprint_model import FINGERPRINT_SCHEMA, Fingerprint, WorkloadStats

# What envcheck writes: "sha256:" and 64 lowercase hex digits (envcheck/probe/behaviour.py,
# envcheck/services/fingerprint.py).
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


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
    except RecursionError as e:
        raise FingerprintFormatError(
            f"{origin} nests JSON arrays or objects deeper than Python can read; no "
            "fingerprint does", hint=hint) from e
    except json.JSONDecodeError as e:
        # Replacement characters: the caller decoded bytes that were not UTF-8.
        binary = "\x00" in text or text.count("\ufffd") > 8
        truncated = (" (the file looks binary)" if binary else "" if text.rstrip().endswith("}")
                     else " (the file looks truncated)")
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
        fingerprint = decode(Fingerprint, document)
    except DecodeError as e:
        raise FingerprintFormatError(f"{origin} is not a valid fingerprint: {e}",
                                     hint=hint) from e
    problem = fingerprint_problem(fingerprint)
    if problem is not None:
        raise FingerprintFormatError(
            f"{origin} is not a valid fingerprint: {problem}; the file was edited or is "
            "corrupt", hint="Take the fingerprint again with `envcheck fingerprint -o FILE`.")
    return fingerprint


def fingerprint_problem(fingerprint: Fingerprint) -> str | None:
    """What the types cannot say: digests in the form envcheck writes them, and statistics
    that could come from one output (each sample is an output value, so none is larger in
    magnitude than max_abs)."""
    if fingerprint.packages_sha256 is not None and not _DIGEST.fullmatch(
            fingerprint.packages_sha256):
        return (f"packages_sha256 {fingerprint.packages_sha256[:80]!r} is not "
                "\"sha256:\" and 64 hex digits")
    for i, workload in enumerate(fingerprint.behaviour):
        where = f"behaviour[{i}] ({workload.name[:40]})"
        if workload.digest is not None and not _DIGEST.fullmatch(workload.digest):
            return f"{where}.digest {workload.digest[:80]!r} is not \"sha256:\" and 64 hex digits"
        if workload.stats is not None:
            problem = _stats_problem(workload.stats)
            if problem is not None:
                return f"{where}.stats: {problem}"
    return None


def _stats_problem(stats: WorkloadStats) -> str | None:
    values = (stats.sum, stats.max_abs, *stats.samples)
    if any(math.isnan(v) for v in values):
        return None  # an output with NaN in it: nothing to cross-check
    if stats.max_abs < 0:
        return f"max_abs is {stats.max_abs:g}, a magnitude cannot be negative"
    larger = [v for v in stats.samples if abs(v) > stats.max_abs]
    if larger:
        return (f"sample {larger[0]:g} is larger in magnitude than max_abs "
                f"{stats.max_abs:g}")
    return None
