"""torchvision against torch releases older than the torch tables (1.0 to 1.12): a conda solve
that paired pytorch 1.9.0 with torchvision 0.2.2 leaves torchvision.ops missing."""

from __future__ import annotations

from collections.abc import Iterator

from envcheck.findings import Finding
from envcheck.knowledge.companion_pairs import pair_for
from envcheck.rules.context import Thresholds
from envcheck.rules.facts import package, public_version, torch_build
from envcheck.rules.registry import Rule
from envcheck.snapshot import Snapshot
from envcheck.versions import version_or_none


def check_older_companions(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    build = torch_build(snapshot)
    if build is None or build.release is not None:
        return  # companions-paired judges the releases the torch tables know
    pair = pair_for(public_version(build.version))
    installed = package(snapshot, "torchvision")
    version = version_or_none(installed.version) if installed else None
    if pair is None or version is None or pair.accepts(public_version(version)):
        return
    wanted = " or ".join(str(v) for v in pair.torchvision)
    yield Finding(
        id="torchvision-not-paired-with-older-torch",
        category="torchvision_mismatch",
        severity="error",
        summary=f"torchvision {version} is not the release line built for torch "
                f"{build.version} (that is torchvision {wanted})",
        explanation="torchvision's compiled operators and Python API are made for one torch "
                    "release: with another, torchvision.ops or its C++ ops are missing "
                    f"('module torchvision has no attribute ops'). Source: {pair.source}",
        fix=f"pip install 'torchvision=={pair.torchvision[-1]}.*'   # or with conda: "
            f"conda install pytorch={build.version} torchvision={pair.torchvision[-1]} "
            "-c pytorch",
        evidence={"torchvision": str(version), "torch": str(build.version)},
    )


def _knows_older_companions(snapshot: Snapshot) -> bool:
    build = torch_build(snapshot)
    if build is None or build.release is not None:
        return True  # not this rule's release range
    return pair_for(public_version(build.version)) is not None and package(
        snapshot, "torchvision") is not None


RULES = (
    Rule(id="companions-paired-older-torch", category="torchvision_mismatch",
         check=check_older_companions, knows=_knows_older_companions,
         needs="torch's release and the installed torchvision"),
)
