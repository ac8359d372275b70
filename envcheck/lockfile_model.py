"""A hashed lockfile: requirements format that pip and uv install as is, with a header that
records what it was resolved from, so that staleness is a comparison, not a guess."""

from __future__ import annotations

from dataclasses import dataclass

LOCK_SCHEMA = "envcheck.lock/1"


@dataclass(frozen=True, kw_only=True)
class LockHeader:
    schema: str
    target: str
    python: str
    platform: str
    cuda: str
    resolver: str
    """"uv" or "pip-tools"."""
    resolver_version: str
    inputs_sha256: str
    """Hash of everything the resolution depended on (target, requirements, indexes)."""
    indexes: tuple[str, ...] = ()
    """Index URLs used, credentials redacted."""


@dataclass(frozen=True, kw_only=True)
class LockedPackage:
    name: str
    version: str
    """As pinned, local label included ("2.7.1+cu128")."""
    hashes: tuple[str, ...]
    """"sha256:<hex>" for every artifact the target platform can install."""
    marker: str | None = None


@dataclass(frozen=True, kw_only=True)
class Lockfile:
    header: LockHeader
    packages: tuple[LockedPackage, ...]
