"""`envcheck dockerfile` and `envcheck image build | inspect | pin-base`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from envcheck.cli.app import app
from envcheck.cli.project_dir import PROJECT_HELP, project_root
from envcheck.errors import ExitCode

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from envcheck.adapters.engine import BuildEvent, DockerEngine
    from envcheck.services.image import BuiltImage, ImageContext, ImageOptions, ImageVerdict
    from envcheck.services.wheelhouse import WheelFile, Wheelhouse

image_app = typer.Typer(help="Build training images from locks, and check them without "
                        "running them.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(image_app, name="image")

_BASE = typer.Option("--base", metavar="IMAGE", help="The image to build on, "
                     "NAME:TAG@sha256:... (default: the target's base_image, else the "
                     "nvidia/cuda runtime image for its CUDA variant).")
_ALLOW_UNPINNED = typer.Option("--allow-unpinned", help="Accept a base image without "
                               "@sha256: digest (two builds may then differ).")
_INSTALL_PYTHON = typer.Option("--install-python/--base-has-python", help="Install "
                               "python<X.Y> from the base's distribution with apt (default "
                               "only for the nvidia/cuda base, which has no Python).")
_PROJECT = typer.Option("--project", metavar="DIR", help=PROJECT_HELP)


def _project(project_dir: Path | None) -> Any:
    from envcheck.project import load_project

    return load_project(project_root(project_dir))


def _options(base: str | None, allow_unpinned: bool,
             install_python: bool | None) -> ImageOptions:
    from envcheck.services.image import ImageOptions

    return ImageOptions(base=base, allow_unpinned=allow_unpinned,
                        install_python=install_python)


class _EngineRegistry:
    """The engine, connected only when a tag must be resolved (most renders need none)."""

    def registry_digest(self, reference: str) -> str:
        engine = _engine()
        try:
            return engine.registry_digest(reference)
        finally:
            engine.close()


def _engine() -> DockerEngine:
    from envcheck.adapters.engine import DockerEngine

    return DockerEngine(dict(os.environ))


@app.command()
def dockerfile(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="A target of the project.")],
    base: Annotated[str | None, _BASE] = None,
    allow_unpinned: Annotated[bool, _ALLOW_UNPINNED] = False,
    install_python: Annotated[bool | None, _INSTALL_PYTHON] = None,
    project_dir: Annotated[Path | None, _PROJECT] = None,
) -> None:
    """Write images/TARGET/Dockerfile (and Dockerfile.dockerignore) from the target's lock:
    a pinned base, a hermetic install from a wheelhouse, labels with the image's facts."""
    from envcheck.services.image import render_image_files

    rendered = render_image_files(_project(project_dir), target,
                                  _options(base, allow_unpinned, install_python),
                                  _EngineRegistry())
    if rendered.resolved_base is not None:
        typer.echo(f"base: envcheck cites no digest for this variant's nvidia/cuda tag; the "
                   f"registry resolved it today to {rendered.resolved_base} (`envcheck image "
                   f"pin-base {rendered.target}` records it, then `envcheck lock "
                   f"{rendered.target}`)", err=True)
    if rendered.unsupported_base:
        typer.echo(f"base: NVIDIA lists {rendered.spec.base.tagged} as an unsupported tag (no "
                   "more security rebuilds); envcheck defaults to it because a known-good "
                   "digest of it is cited and none of the newer update's is. To move on: "
                   f"`envcheck image pin-base {rendered.target} nvidia/cuda:TAG` with a "
                   "supported tag, then `envcheck lock`", err=True)
    what = "written" if rendered.changed else "unchanged"
    typer.echo(f"{rendered.dockerfile} {what}")
    typer.echo(f"{rendered.dockerignore} {what}")
    # Says which base was chosen: without --base it is envcheck's default for the variant.
    typer.echo(f"FROM {rendered.spec.base}")


class _BuildProgress:
    """Steps of the build and the wheelhouse download as rich progress bars on stderr;
    plain lines when stderr is not a terminal (CI logs)."""

    def __init__(self) -> None:
        from envcheck.cli.console import output_console

        self.console = output_console(stderr=True)
        self.live = self.console.is_terminal
        self.progress: Progress | None = None
        self.wheel_task: TaskID | None = None
        self.step_task: TaskID | None = None

    def __enter__(self) -> _BuildProgress:
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), console=self.console,
                                     transient=False)
            self.progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.progress is not None:
            self.progress.stop()

    def _say(self, text: str) -> None:
        from rich.markup import escape

        self.console.print(escape(text))

    def phase(self, text: str) -> None:
        if self.progress is None:
            self._say(f"envcheck: {text}")

    def wheelhouse_started(self, packages: int) -> None:
        if self.progress is not None:
            self.wheel_task = self.progress.add_task("wheelhouse", total=packages)

    def wheelhouse_checked(self, wheel: WheelFile) -> None:
        if self.progress is not None and self.wheel_task is not None:
            self.progress.update(self.wheel_task, advance=1,
                                 description=f"wheelhouse: {wheel.path.name[:60]}")

    def wheelhouse_finished(self, wheelhouse: Wheelhouse) -> None:
        text = (f"wheelhouse: {len(wheelhouse.training)} training + "
                f"{len(wheelhouse.preflight)} pre-flight wheels, "
                f"{wheelhouse.size / 1e6:.1f} MB, every sha256 checked"
                + ("" if wheelhouse.downloaded else " (reused)"))
        if self.progress is not None and self.wheel_task is not None:
            self.progress.update(self.wheel_task, description=text)
        else:
            self._say(f"envcheck: {text}")

    def build_event(self, event: BuildEvent) -> None:
        if event.kind == "step":
            if self.progress is not None:
                if self.step_task is None:
                    self.step_task = self.progress.add_task("build", total=event.steps)
                self.progress.update(self.step_task, completed=(event.step or 1) - 1,
                                     total=event.steps,
                                     description=f"step {event.step}/{event.steps}: "
                                     f"{event.text[:70]}")
            else:
                self._say(f"  step {event.step}/{event.steps}: {event.text}")
        elif event.kind == "cached" and self.progress is None:
            self._say("    (cached)")


def _built_json(built: BuiltImage) -> dict[str, object]:
    return {"target": built.target, "image_id": built.image_id, "tag": built.tag,
            "size": built.size, "content_sha256": built.content_sha256,
            "labels": dict(built.labels), "pushed": built.pushed,
            "seconds": round(built.seconds, 1),
            "wheelhouse": {"folder": str(built.wheelhouse.folder),
                           "downloaded": built.wheelhouse.downloaded,
                           "training": len(built.wheelhouse.training),
                           "preflight": len(built.wheelhouse.preflight)}}


def _context(engine: DockerEngine) -> ImageContext:
    from importlib.metadata import PackageNotFoundError, version

    import envcheck
    from envcheck.adapters.runner import SubprocessRunner
    from envcheck.services.image import ImageContext
    from envcheck.services.wheelhouse import PREFLIGHT_PACKAGES, PreflightSource

    pins = {}
    for name in PREFLIGHT_PACKAGES:
        try:
            pins[name] = version(name)
        except PackageNotFoundError:
            continue
    source = Path(envcheck.__file__).resolve().parent.parent
    return ImageContext(engine=engine, runner=SubprocessRunner(), env=dict(os.environ),
                        pip=(sys.executable, "-m", "pip"),
                        preflight=PreflightSource(envcheck_source=source, pins=pins))


@image_app.command("build")
def build(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="A target of the project.")],
    base: Annotated[str | None, _BASE] = None,
    allow_unpinned: Annotated[bool, _ALLOW_UNPINNED] = False,
    install_python: Annotated[bool | None, _INSTALL_PYTHON] = None,
    push: Annotated[str | None, typer.Option("--push", metavar="REF", help="Also tag the "
                                             "image REF and push it.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Rebuild every step.")] = False,
    network: Annotated[str | None, typer.Option(
        "--network", metavar="MODE", help="Network of the RUN steps; `none` proves the "
        "install needs no index (needs a base that has the target's Python).")] = None,
    project_dir: Annotated[Path | None, _PROJECT] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")
    ] = False,
) -> None:
    """Build TARGET's image on the Docker engine (DOCKER_HOST) from its lock, tagged
    envcheck/TARGET:<lock sha256, 12 digits>, and print its ID, size and labels."""
    from rich.markup import escape

    from envcheck.cli.console import output_console
    from envcheck.services.image import BuildOptions, build_image

    project = _project(project_dir)
    engine = _engine()
    try:
        options = BuildOptions(image=_options(base, allow_unpinned, install_python),
                               no_cache=no_cache, network_mode=network, push=push)
        with _BuildProgress() as progress:
            built = build_image(project, target, options, _context(engine), progress)
    finally:
        engine.close()
    if json_output:
        sys.stdout.write(json.dumps(_built_json(built), indent=2) + "\n")
        return
    console = output_console()
    console.print(f"[bold green]✔[/] {escape(built.tag)}  {built.image_id}")
    console.print(f"  size {built.size / 1e6:.1f} MB, built in {built.seconds:.1f} s, "
                  f"content {built.content_sha256}")
    if built.pushed:
        console.print(f"  pushed {escape(built.pushed)}")
    for key, value in sorted(built.labels.items()):
        console.print(f"  [dim]{escape(key)}[/] = {escape(value)}")


@image_app.command("inspect")
def inspect_image(
    image: Annotated[str, typer.Argument(metavar="IMAGE", help="An image in the engine.")],
    profile: Annotated[str | None, typer.Option(
        "--profile", metavar="NAME", help="Judge against this profile of the project "
        "(default: this machine).")] = None,
    project_dir: Annotated[Path | None, _PROJECT] = None,
    json_output: Annotated[bool, typer.Option("--json", help="The labels and findings as "
                                              "JSON.")] = False,
) -> None:
    """Read an image's labels and judge them against a profile or this machine with the
    doctor's rules, without running it. Exit 3 when there is an error."""
    from envcheck.services.image import inspect_on_machine, inspect_on_profile

    engine = _engine()
    try:
        if profile is not None:
            verdict = inspect_on_profile(engine, image, _project(project_dir), profile)
        else:
            from envcheck.cli.real_host import build_host
            from envcheck.services.inspect import InspectRequest, inspect_environment

            machine = inspect_environment(build_host(), InspectRequest())
            verdict = inspect_on_machine(engine, image, machine)
    finally:
        engine.close()
    if json_output:
        sys.stdout.write(json.dumps(_verdict_json(verdict), indent=2) + "\n")
    else:
        _render_verdict(verdict)
    if verdict.errors:
        raise typer.Exit(int(ExitCode.FINDINGS))


def _verdict_json(verdict: ImageVerdict) -> dict[str, object]:
    from envcheck.jsoncodec import encode
    from envcheck.redaction import redact_json

    return {"image": verdict.image, "id": verdict.details.id, "size": verdict.details.size,
            "machine": verdict.machine, "labels": dict(verdict.details.labels),
            "verdict": "fail" if verdict.errors else "pass",
            "findings": redact_json(encode(verdict.findings))}


def _render_verdict(verdict: ImageVerdict) -> None:
    from rich.markup import escape

    from envcheck.cli.console import output_console

    console = output_console()
    facts = verdict.facts
    console.print(f"{escape(verdict.image)}: target {escape(facts.target)}, Python "
                  f"{facts.python}, torch {facts.torch or 'none'} ({facts.variant}), "
                  f"{verdict.details.size / 1e6:.1f} MB")
    for key in sorted(k for k in verdict.details.labels if k.startswith("org.envcheck.")):
        console.print(f"  [dim]{escape(key)}[/] = {escape(verdict.details.labels[key])}")
    marks = {"error": "[bold red]✘[/]", "warning": "[yellow]![/]", "info": "[blue]i[/]"}
    for finding in verdict.findings:
        if finding.severity == "info":
            continue
        console.print(f"{marks[finding.severity]} {escape(finding.summary)}")
        if finding.fix:
            console.print(f"    [dim]fix:[/] {escape(finding.fix)}")
    head = "[bold red]✘[/]" if verdict.errors else "[bold green]✔[/]"
    console.print(f"{head} on {escape(verdict.machine)}: {verdict.errors} error(s)")


@image_app.command("pin-base")
def pin_base(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="A target of the project.")],
    image: Annotated[str | None, typer.Argument(
        metavar="[IMAGE]", help="NAME:TAG to pin (default: the target's base_image, else "
        "the nvidia/cuda runtime image for its variant).")] = None,
    project_dir: Annotated[Path | None, _PROJECT] = None,
) -> None:
    """Resolve the base image's tag to the digest its registry serves now (through the
    engine's registry API) and record NAME:TAG@sha256:... as the target's base_image."""
    from envcheck.services.image import pin_base as pin

    root = project_root(project_dir)
    engine = _engine()
    try:
        pinned = pin(root, _project(project_dir), target, image, engine)
    finally:
        engine.close()
    typer.echo(f"{pinned.target}: base_image = {pinned.reference}")
    typer.echo(f"  the target changed, so its lock is stale: run `envcheck lock {target}`",
               err=True)
