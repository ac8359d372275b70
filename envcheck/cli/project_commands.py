"""`envcheck target ...` and `envcheck profile ...`: the project's targets and machines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from envcheck.cli.app import app, read_text_input
from envcheck.cli.project_dir import PROJECT_HELP, project_root
from envcheck.cli.real_host import build_host

if TYPE_CHECKING:
    from envcheck.project_model import Profile, ProfileGpu, Project, Target

target_app = typer.Typer(help="What to build: [tool.envcheck.targets] in pyproject.toml.",
                         no_args_is_help=True, rich_markup_mode=None)
profile_app = typer.Typer(help="The machines targets must run on: "
                          "[tool.envcheck.profiles] in pyproject.toml.",
                          no_args_is_help=True, rich_markup_mode=None)
app.add_typer(target_app, name="target")
app.add_typer(profile_app, name="profile")

ProjectOption = Annotated[Path | None, typer.Option(
    "--project", metavar="DIR", file_okay=False,
    help=PROJECT_HELP)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _root(project: Path | None) -> Path:
    return project_root(project)


def _print_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def _target_line(target: Target) -> str:
    parts = [f"python {target.python}", target.platform, target.cuda,
             f"torch {target.torch}" if target.torch else "no torch"]
    if target.requirements:
        parts.append(f"requirements {target.requirements}")
    if target.base_image:
        parts.append(f"base image {target.base_image}")
    if target.profiles:
        parts.append(f"runs on {', '.join(target.profiles)}")
    return f"{target.name}: {', '.join(parts)}"


def _gpu_text(gpu: ProfileGpu) -> str:
    details = [text for text in (gpu.compute_capability and f"sm {gpu.compute_capability}",
                                 gpu.memory_mib and f"{gpu.memory_mib:,} MiB") if text]
    name = gpu.name or "GPU"
    return f"{gpu.count} x {name}" + (f" ({', '.join(details)})" if details else "")


def _profile_line(profile: Profile) -> str:
    driver = f"driver {profile.driver}"
    if profile.cuda_driver_api is not None:
        driver += f" (CUDA ≤ {profile.cuda_driver_api})"
    gpus = ", ".join(_gpu_text(gpu) for gpu in profile.gpus) or "no GPUs listed"
    return f"{profile.name}: {driver}, {gpus}, {profile.runtime}"


def _targets_json(project: Project) -> dict[str, Any]:
    from envcheck.jsoncodec import encode

    return {"pyproject": str(project.pyproject),
            "targets": [encode(target) for target in project.targets.values()]}


def _profiles_json(project: Project) -> dict[str, Any]:
    from envcheck.jsoncodec import encode

    return {"pyproject": str(project.pyproject),
            "profiles": [encode(profile) for profile in project.profiles.values()],
            "runners": dict(project.runners)}


@target_app.command("add")
def target_add(
    name: Annotated[str, typer.Argument(help="The target's name, e.g. cu128 or cloud.")],
    python: Annotated[str, typer.Option("--python", metavar="X.Y",
                                        help='The CPython minor to build for, e.g. "3.11".')],
    cuda: Annotated[str, typer.Option("--cuda", metavar="VARIANT",
                                      help="The torch variant: cu126, cu128, cu130, ... or cpu.")],
    torch: Annotated[str | None, typer.Option(
        "--torch", metavar="SPEC", help="A torch specifier, e.g. '>=2.7,<2.8' (default: the "
        "target has no torch).")] = None,
    platform: Annotated[str, typer.Option(
        "--platform", help="linux/x86_64 or linux/aarch64.")] = "linux/x86_64",
    requirements: Annotated[str | None, typer.Option(
        "--requirements", metavar="FILE", help="A requirements.in-style file, relative to the "
        "project folder (default: [project].dependencies).")] = None,
    base_image: Annotated[str | None, typer.Option(
        "--base-image", metavar="REF", help="The image to build on.")] = None,
    profiles: Annotated[list[str] | None, typer.Option(
        "--profile", metavar="PROFILE", help="A profile it must run on (repeatable).")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Overwrite a target of that name.")] = False,
    project: ProjectOption = None,
) -> None:
    """Add a target to pyproject.toml (nothing else in the file changes)."""
    from envcheck.project import PLATFORMS, ProjectError
    from envcheck.project_model import Target
    from envcheck.services.project import add_target_to_project

    chosen = next((known for known in PLATFORMS if known == platform), None)
    if chosen is None:
        raise ProjectError(f"--platform {platform}: expected one of {', '.join(PLATFORMS)}")
    target = Target(name=name, python=python, platform=chosen, cuda=cuda, torch=torch,
                    requirements=requirements, base_image=base_image,
                    profiles=tuple(profiles or ()))
    change = add_target_to_project(_root(project), target, replace=replace)
    verb = "Replaced" if change.replaced else "Added"
    typer.echo(f"{verb} target in {change.project.pyproject}:\n  "
               f"{_target_line(change.project.targets[name])}")


@target_app.command("list")
def target_list(json_output: JsonFlag = False, project: ProjectOption = None) -> None:
    """Show the project's targets."""
    from envcheck.project import load_project

    loaded = load_project(_root(project))
    if json_output:
        _print_json(_targets_json(loaded))
        return
    if not loaded.targets:
        typer.echo(f"No targets in {loaded.pyproject}; add one with "
                   "`envcheck target add NAME --python 3.11 --cuda cu128`.")
        return
    for target in loaded.targets.values():
        typer.echo(_target_line(target))


@target_app.command("remove")
def target_remove(name: str, project: ProjectOption = None) -> None:
    """Remove a target from pyproject.toml (with the comment block above it)."""
    from envcheck.services.project import remove_target_from_project

    change = remove_target_from_project(_root(project), name)
    typer.echo(f"Removed target {name} from {change.project.pyproject}")


@profile_app.command("save")
def profile_save(
    name: Annotated[str, typer.Argument(help="The profile's name, e.g. workstation or h100.")],
    snapshot_file: Annotated[str | None, typer.Option(
        "--snapshot", metavar="FILE", help="Describe the machine a saved Snapshot comes from "
        "(`envcheck inspect --json` run there) instead of this one; - reads standard input.",
    )] = None,
    runtime: Annotated[str, typer.Option(
        "--runtime", help="How containers run there: docker, docker+nvidia, podman or none.",
    )] = "docker+nvidia",
    project: ProjectOption = None,
) -> None:
    """Save this machine (or a Snapshot's) as a profile; an existing one is replaced."""
    from envcheck.project import RUNTIMES, ProjectError
    from envcheck.project_edit import profile_from_snapshot
    from envcheck.services.project import save_profile

    chosen = next((known for known in RUNTIMES if known == runtime), None)
    if chosen is None:
        raise ProjectError(f"--runtime {runtime}: expected one of {', '.join(RUNTIMES)}")
    if snapshot_file is not None:
        from envcheck.snapshot import snapshot_from_json

        snapshot = snapshot_from_json(read_text_input(snapshot_file, "--snapshot"),
                                      origin=snapshot_file)
    else:
        from envcheck.services.inspect import InspectRequest, inspect_environment

        snapshot = inspect_environment(build_host(), InspectRequest())
    change = save_profile(_root(project), profile_from_snapshot(name, snapshot, chosen))
    verb = "Replaced" if change.replaced else "Saved"
    typer.echo(f"{verb} profile in {change.project.pyproject}:\n  "
               f"{_profile_line(change.project.profiles[name])}")


@profile_app.command("list")
def profile_list(json_output: JsonFlag = False, project: ProjectOption = None) -> None:
    """Show the project's profiles (and which CI runner labels use them)."""
    from envcheck.project import load_project

    loaded = load_project(_root(project))
    if json_output:
        _print_json(_profiles_json(loaded))
        return
    if not loaded.profiles:
        typer.echo(f"No profiles in {loaded.pyproject}; save one with "
                   "`envcheck profile save NAME` on the machine.")
        return
    for profile in loaded.profiles.values():
        typer.echo(_profile_line(profile))
    for label, profile_name in loaded.runners.items():
        typer.echo(f"runner {label} -> {profile_name}")
