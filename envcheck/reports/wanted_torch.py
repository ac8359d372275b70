"""The torch release a report asks for when none is installed: collect_env's "PyTorch version:
N/A" next to "can not install pytorch 2.4.1". The rules that judge a release against the
machine (its Python, its glibc) can then judge the one being installed."""

from __future__ import annotations

from dataclasses import replace

from envcheck.knowledge.torch_tables import find_release
from envcheck.reports.readings import NumberedFacts, Reading, ReadingGroup
from envcheck.snapshot import Snapshot, Torch
from envcheck.versions import version_or_none


def wanted_torch_reading(snapshot: Snapshot, items: NumberedFacts) -> ReadingGroup | None:
    """One reading, when torch is measured absent and the text names exactly one torch
    release it tries to install: the machine is judged with that release."""
    if snapshot.torch.status != "absent":
        return None
    wanted = {(package.version, line) for kind, line, facts in items
              if kind == "package-mention" for package in facts.requested
              if package.name == "torch"}
    versions = {version for version, _ in wanted}
    if len(versions) != 1:
        return None
    text, line = min(wanted, key=lambda pair: pair[1])
    version = version_or_none(text)
    if version is None or find_release(version) is None:
        return None
    torch = Torch(status="ok", version=version, provenance={"version": "derived"},
                  detail=f"from the report: the release the text tries to install (line {line})")
    says = f"taking torch {version}, which line {line} tries to install, as the release to judge"
    return ReadingGroup(kind="reading", subject=f"the torch release to install (line {line})",
                        readings=(Reading(snapshot=replace(snapshot, torch=torch), says=says),),
                        categories=("python_unsupported", "glibc"))
