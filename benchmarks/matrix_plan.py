"""Median time to plan a 10 targets x 20 runners CI matrix (`plan_matrix`), lockfiles parsed.

The 10 targets reuse the example project's three real uv lockfiles (examples/trainer:
torch 2.7.1 cu126, 2.10.0 cu128, 2.14.1 cu130) in turn; the 20 runners are 20 profiles whose
drivers are the Linux minimums of envcheck's CUDA table and whose GPUs are taken in turn from
its GPU table, so every rule has real facts to judge. Target: under 1 s. Results go to
docs/benchmarks.md.

Usage: python -m benchmarks.matrix_plan [--runs N]
"""

from __future__ import annotations

import argparse
import itertools
import platform
import statistics
import time
from pathlib import Path

from benchmarks.report import write_section
from envcheck.knowledge.cuda_tables import cuda_releases
from envcheck.knowledge.gpu_tables import gpu_models
from envcheck.lockfile import parse_lockfile
from envcheck.project import load_project
from envcheck.project_model import Profile, ProfileGpu, Project, Target
from envcheck.services.matrix import TargetLock, plan_matrix

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "trainer"
TARGETS = 10
RUNNERS = 20


def build_project() -> tuple[Project, dict[str, str]]:
    """The synthetic project, and each target's lockfile text."""
    example = load_project(EXAMPLE)
    bases = list(example.targets.values())
    texts = {t.name: (EXAMPLE / "lockfiles" / f"{t.name}.txt").read_text() for t in bases}
    drivers = [release.min_linux for release in cuda_releases()][-RUNNERS:]
    drivers = list(itertools.islice(itertools.cycle(drivers), RUNNERS))
    gpus = [model for model in gpu_models() if float(model.compute_capability) >= 5.0]
    profiles = {
        f"box-{i:02d}": Profile(name=f"box-{i:02d}", driver=driver,
                                gpus=(ProfileGpu(name=gpus[i * 7 % len(gpus)].name,
                                                 compute_capability=gpus[i * 7 % len(gpus)]
                                                 .compute_capability, count=1 + i % 4),))
        for i, driver in enumerate(drivers)}
    targets: dict[str, Target] = {}
    lock_texts: dict[str, str] = {}
    for i in range(TARGETS):
        base = bases[i % len(bases)]
        name = f"t{i:02d}-{base.name}"
        targets[name] = Target(name=name, python=base.python, platform=base.platform,
                               cuda=base.cuda, torch=base.torch)
        lock_texts[name] = texts[base.name]
    project = Project(root=EXAMPLE, pyproject=EXAMPLE / "pyproject.toml", targets=targets,
                      profiles=profiles, runners={f"gpu-{p}": p for p in profiles})
    return project, lock_texts


def plan_once(project: Project, lock_texts: dict[str, str]) -> int:
    locks = {name: TargetLock(lock=parse_lockfile(text, origin=name), text=text)
             for name, text in lock_texts.items()}
    return len(plan_matrix(project, locks).included)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    project, lock_texts = build_project()
    included = plan_once(project, lock_texts)  # warm up: the knowledge tables load once
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        plan_once(project, lock_texts)
        times.append(time.perf_counter() - start)
    median_ms = statistics.median(times) * 1000
    verdict = "meets" if median_ms < 1000 else "MISSES"
    cells = len(project.targets) * len(project.runners)
    body = (
        "## Planning the CI matrix (`plan_matrix`)\n\n"
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.system()}.\n\n"
        "| matrix | runs | median | target |\n| --- | --- | --- | --- |\n"
        f"| {len(project.targets)} targets x {len(project.runners)} runners ({cells} cells, "
        f"{included} can run), lockfiles parsed | {args.runs} | {median_ms:.1f} ms "
        f"| < 1 s ({verdict}) |\n"
    )
    print(body)
    write_section("matrix_plan", body)


if __name__ == "__main__":
    main()
