"""`dockerfile` and `image build / inspect / pin-base`: a target's lock becomes a labelled image.

    fresh lock ──► DockerfileSpec (base pinned by digest, labels from the lock) ──► Dockerfile
               └─► wheelhouse (every locked wheel, hash-checked) ──► engine build
                   ──► content hash read from the image ──► labelled, tagged envcheck/<t>:<lock12>

The engine and pip sit behind adapters passed in (ImageContext); nothing here prints.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from packaging.version import Version

from envcheck.adapters.engine import BuildEvent, BuildRequest, ContainerEngine, ImageDetails
from envcheck.adapters.filesystem import write_text_atomic
from envcheck.adapters.runner import CommandRunner
from envcheck.dockerfile import (
    CONTENT_HASH_FILE,
    WHEELHOUSE,
    DockerfileSpec,
    ImageReference,
    PythonSource,
    ignore_patterns,
    parse_image_reference,
    render_dockerfile,
    render_dockerignore,
)
from envcheck.errors import EnvcheckError, ImageBuildError, UsageError
from envcheck.findings import Finding
from envcheck.knowledge.base_images import base_image_for_variant
from envcheck.lockfile import parse_lockfile
from envcheck.lockfile_model import LockedPackage, Lockfile, LockHeader
from envcheck.project_model import Project, Target, TargetPlatform
from envcheck.services import image_labels
from envcheck.services.gate import snapshot_for, torch_from_lock
from envcheck.services.lock import check_locks, expand_index_url, lockfile_path, select_indexes
from envcheck.services.wheelhouse import (
    PreflightSource,
    SilentWheelhouseReporter,
    Wheelhouse,
    WheelhouseReporter,
    WheelhouseRequest,
    prepare_wheelhouse,
)
from envcheck.snapshot import PythonEnv, Snapshot

IMAGES_DIR = "images"
IMAGE_REPOSITORY = "envcheck"
DOCKERIGNORE = "Dockerfile.dockerignore"
"""The name BuildKit reads for a Dockerfile that is not at the context's root."""


# --- requests and results --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ImageOptions:
    base: str | None = None
    """--base: overrides the target's base_image and the knowledge table's default."""
    allow_unpinned: bool = False
    install_python: bool | None = None
    """True: install python<X.Y> with apt; None: only for the knowledge table's base."""


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    image: ImageOptions = ImageOptions()
    no_cache: bool = False
    network_mode: str | None = None
    push: str | None = None
    extra_labels: Mapping[str, str] | None = None
    """Added to the final image (tests mark what they create)."""


@dataclass(frozen=True, kw_only=True)
class ImageContext:
    engine: ContainerEngine
    runner: CommandRunner
    env: Mapping[str, str]
    pip: tuple[str, ...]
    preflight: PreflightSource


@dataclass(frozen=True, kw_only=True)
class RenderedImage:
    target: str
    dockerfile: Path
    dockerignore: Path
    spec: DockerfileSpec
    changed: bool
    resolved_base: str | None = None
    """The default base had no cited digest: the registry resolved its tag to this
    tag@digest for this render (not recorded: `envcheck image pin-base` records one)."""
    unsupported_base: bool = False
    """The default base is a tag NVIDIA lists as unsupported (no more security rebuilds)."""


class RegistryDigests(Protocol):
    """What resolves a tag to the digest its registry serves (the container engine)."""

    def registry_digest(self, reference: str) -> str: ...


@dataclass(frozen=True, kw_only=True)
class BuiltImage:
    target: str
    image_id: str
    tag: str
    size: int
    labels: Mapping[str, str]
    content_sha256: str
    wheelhouse: Wheelhouse
    seconds: float
    pushed: str | None = None
    """The pushed reference with its digest."""


class ImageReporter(WheelhouseReporter, Protocol):
    def phase(self, text: str) -> None: ...

    def build_event(self, event: BuildEvent) -> None: ...


class _SilentReporter(SilentWheelhouseReporter):
    def phase(self, text: str) -> None:
        pass

    def build_event(self, event: BuildEvent) -> None:
        pass


# --- the Dockerfile --------------------------------------------------------------------------


def build_dir(project: Project, target: Target) -> Path:
    return project.root / IMAGES_DIR / target.name


def image_tag(target: Target, lock_text: str) -> str:
    return f"{IMAGE_REPOSITORY}/{target.name.lower()}:{image_labels.lock_sha256(lock_text)[:12]}"


_NO_PYTHON_REPOSITORIES = frozenset({"nvidia/cuda", "library/nvidia/cuda", "nvcr.io/nvidia/cuda"})


def choose_base(target: Target, options: ImageOptions) -> tuple[ImageReference, PythonSource]:
    """--base, else the target's base_image, else the cited nvidia/cuda runtime image
    (tag@digest where envcheck's table records a known-good digest for the variant)."""
    given = options.base or target.base_image
    if given is not None:
        reference = parse_image_reference(given)
        # nvidia/cuda images (the default, pinned by pin-base) carry no Python of their own.
        no_python = reference.name.removeprefix("docker.io/") in _NO_PYTHON_REPOSITORIES
        source: PythonSource = ("distribution" if options.install_python or (
            no_python and options.install_python is None) else "base")
    else:
        default = base_image_for_variant(target.cuda)
        if default is None:
            why = ("a cpu target has no CUDA base to default to" if target.cuda == "cpu" else
                   f"envcheck's table of nvidia/cuda images has no verified tag for "
                   f"{target.cuda}")
            raise UsageError(
                f"target {target.name}: no base image: {why}",
                hint=f"name one: `envcheck dockerfile {target.name} --base IMAGE@sha256:...`, "
                f"or base_image = \"...\" in [tool.envcheck.targets.{target.name}] and "
                f"`envcheck image pin-base {target.name}`")
        reference = parse_image_reference(default.reference)
        source = "base" if options.install_python is False else "distribution"
    if not reference.pinned and not options.allow_unpinned:
        raise UsageError(
            f"target {target.name}: the base image {reference} is not pinned by digest, so "
            "two builds could start from different images",
            hint=f"pin it: `envcheck image pin-base {target.name}` (records name:tag@sha256:... "
            "in pyproject.toml), or pass --base NAME:TAG@sha256:...; --allow-unpinned builds "
            "anyway")
    return reference, source


def fresh_lock(project: Project, target: Target) -> tuple[Lockfile, str, Path]:
    """The target's lockfile, refusing a missing or stale one."""
    [status] = check_locks(project, (target.name,))
    if status.state != "fresh":
        raise UsageError(f"target {target.name}: the lockfile {status.path} is {status.state}: "
                         f"{status.detail}",
                         hint=f"run `envcheck lock {target.name}` first: an image is built from "
                         "the lock and nothing else")
    text = status.path.read_text(encoding="utf-8")
    return parse_lockfile(text, origin=str(status.path)), text, status.path


def dockerfile_spec(project: Project, target: Target, lock: Lockfile, lock_text: str,
                    options: ImageOptions) -> DockerfileSpec:
    base, python_source = choose_base(target, options)
    labels = image_labels.image_labels(target=target, lock=lock, lock_text=lock_text, base=base)
    environment: dict[str, str] = {}
    require = image_labels.nvidia_require_cuda(torch_from_lock(lock))
    if require is not None:
        # What the nvidia/cuda images set, for bases that are not one of them.
        environment["NVIDIA_VISIBLE_DEVICES"] = "all"
        environment["NVIDIA_DRIVER_CAPABILITIES"] = "compute,utility"
        environment["NVIDIA_REQUIRE_CUDA"] = require
    root = project.root
    return DockerfileSpec(
        target=target.name, python=target.python, base=base, python_source=python_source,
        lockfile=lockfile_path(project, target).relative_to(root).as_posix(),
        build_dir=build_dir(project, target).relative_to(root).as_posix(),
        labels=labels, environment=environment)


def _write(path: Path, text: str) -> bool:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    write_text_atomic(path, text)
    return True


def render_image_files(project: Project, target_name: str, options: ImageOptions,
                       registry: RegistryDigests | None = None) -> RenderedImage:
    """`envcheck dockerfile`: images/<target>/Dockerfile and its .dockerignore.

    With `registry`, a default base that envcheck's table has no cited digest for is pinned
    to the digest the registry serves for its tag today. The Dockerfile holds that digest, so
    a build from it is hermetic; it is not recorded in pyproject.toml, because base_image is a
    lock input (the image's tag names the lock): `envcheck image pin-base` records one."""
    target = _target(project, target_name)
    lock, lock_text, _path = fresh_lock(project, target)
    resolved = _resolve_uncited_default(target, options, registry)
    if resolved is not None:
        options = replace(options, base=resolved)
    spec = dockerfile_spec(project, target, lock, lock_text, options)
    folder = build_dir(project, target)
    dockerfile, dockerignore = folder / "Dockerfile", folder / DOCKERIGNORE
    changed = _write(dockerfile, render_dockerfile(spec))
    changed = _write(dockerignore, render_dockerignore(spec)) or changed
    return RenderedImage(target=target.name, dockerfile=dockerfile, dockerignore=dockerignore,
                         spec=spec, changed=changed, resolved_base=resolved,
                         unsupported_base=_default_is_unsupported(target, options))


def _default_is_unsupported(target: Target, options: ImageOptions) -> bool:
    if options.base or target.base_image:
        return False
    default = base_image_for_variant(target.cuda)
    return default is not None and default.unsupported_tag


def _resolve_uncited_default(target: Target, options: ImageOptions,
                             registry: RegistryDigests | None) -> str | None:
    if registry is None or options.base or target.base_image or options.allow_unpinned:
        return None
    default = base_image_for_variant(target.cuda)
    if default is None or default.digest is not None:
        return None
    try:
        digest = registry.registry_digest(default.tagged)
    except EnvcheckError as e:
        failure = EnvcheckError(
            f"target {target.name}: envcheck has no cited digest for {default.tagged}, and "
            f"the registry could not be asked for one: {e.message}",
            hint=f"on a machine that reaches the registry, `envcheck image pin-base "
            f"{target.name}`; or pass --base NAME:TAG@sha256:... (--allow-unpinned builds "
            "from the tag alone)")
        failure.exit_code = e.exit_code  # outside envcheck: the engine's or registry's (4)
        raise failure from e
    return f"{default.tagged}@{digest}"


def _target(project: Project, name: str) -> Target:
    if name not in project.targets:
        raise UsageError(f"no target named {name} in {project.pyproject}",
                         hint=f"known: {', '.join(sorted(project.targets)) or 'none'}")
    return project.targets[name]


# --- building --------------------------------------------------------------------------------


def wheelhouse_request(project: Project, target: Target, lock: Lockfile, lock_path: Path,
                       context: ImageContext) -> WheelhouseRequest:
    indexes = select_indexes(project, target)
    return WheelhouseRequest(
        lock=lock, lockfile=lock_path, folder=build_dir(project, target) / WHEELHOUSE,
        python=target.python, platform=target.platform, pip=context.pip,
        index_urls=tuple(expand_index_url(i, context.env) for i in indexes
                         if i.format == "simple"),
        find_links=tuple(expand_index_url(i, context.env) for i in indexes
                         if i.format == "flat"),
        env=context.env, preflight=context.preflight)


def build_image(project: Project, target_name: str, options: BuildOptions,
                context: ImageContext, reporter: ImageReporter | None = None) -> BuiltImage:
    reporter = reporter or _SilentReporter()
    started = time.monotonic()
    rendered = render_image_files(project, target_name, options.image, context.engine)
    target = project.targets[target_name]
    lock, lock_text, lock_path = fresh_lock(project, target)
    reporter.phase(f"wheelhouse for {target.name} ({len(lock.packages)} locked packages)")
    wheelhouse = prepare_wheelhouse(
        wheelhouse_request(project, target, lock, lock_path, context), context.runner, reporter)
    tag = image_tag(target, lock_text)
    reporter.phase(f"building {tag} on {rendered.spec.base}")
    built = context.engine.build(BuildRequest(
        dockerfile=rendered.dockerfile.read_text(encoding="utf-8"), context=project.root,
        ignore=ignore_patterns(rendered.dockerignore.read_text(encoding="utf-8")),
        no_cache=options.no_cache, network_mode=options.network_mode,
        labels=options.extra_labels or {}), reporter.build_event)
    content = context.engine.read_file(built, CONTENT_HASH_FILE).decode("utf-8").strip()
    if not content.startswith("sha256:"):
        raise ImageBuildError(f"{CONTENT_HASH_FILE} in the built image holds {content!r}, "
                              "not a sha256", step="content hash")
    # The hash is measured in the build, so it is stamped on by a second, metadata-only
    # build on top of the first: no layer changes.
    reporter.phase("labelling the image with its content hash")
    labels = {image_labels.CONTENT_SHA256: content, **(options.extra_labels or {})}
    image_id = context.engine.build(BuildRequest(
        dockerfile=f"FROM {built}\n", context=None, tag=tag, labels=labels,
        network_mode=options.network_mode), reporter.build_event)
    details = context.engine.image(image_id)
    pushed = None
    if options.push:
        reporter.phase(f"pushing {options.push}")
        context.engine.tag(image_id, options.push)
        digest = context.engine.push(options.push)
        pushed = f"{options.push}@{digest}" if digest else options.push
    return BuiltImage(target=target.name, image_id=details.id, tag=tag, size=details.size,
                      labels=details.labels, content_sha256=content, wheelhouse=wheelhouse,
                      seconds=time.monotonic() - started, pushed=pushed)


# --- pin-base --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PinnedBase:
    target: str
    reference: str
    previous: str | None


def pin_base(root: Path, project: Project, target_name: str, reference: str | None,
             engine: ContainerEngine) -> PinnedBase:
    """Resolve the base's tag to the digest its registry serves now; record name:tag@digest
    as the target's base_image in pyproject.toml."""
    from envcheck.services.project import add_target_to_project

    target = _target(project, target_name)
    given = reference or target.base_image
    if given is None:
        default = base_image_for_variant(target.cuda)
        if default is None:
            raise UsageError(f"target {target.name}: name the base image to pin "
                             f"(`envcheck image pin-base {target.name} IMAGE:TAG`): envcheck "
                             f"has no verified default for {target.cuda}")
        # The tag, not the shipped digest: pin-base asks what the registry serves today.
        given = default.tagged
    parsed = parse_image_reference(given)
    digest = engine.registry_digest(parsed.tagged)
    pinned = str(replace(parsed, tag=parsed.tag or "latest", digest=digest))
    add_target_to_project(root, replace(target, base_image=pinned), replace=True)
    return PinnedBase(target=target.name, reference=pinned, previous=target.base_image)


# --- inspect ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ImageVerdict:
    image: str
    details: ImageDetails
    facts: image_labels.ImageFacts
    machine: str
    """The profile's name, or "this machine"."""
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


def lock_from_labels(facts: image_labels.ImageFacts) -> Lockfile:
    """The part of a lock the labels carry: enough for the gate's torch facts."""
    packages = () if facts.torch is None else (
        LockedPackage(name="torch", version=str(facts.torch), hashes=()),)
    return Lockfile(header=LockHeader(
        schema="envcheck.lock/1", target=facts.target, python=facts.python,
        platform=facts.platform, cuda=facts.variant, resolver="image-labels",
        resolver_version="", inputs_sha256=facts.lock_sha256), packages=packages)


def _image_target(facts: image_labels.ImageFacts) -> Target:
    platform: TargetPlatform = ("linux/aarch64" if facts.platform.endswith("aarch64")
                                else "linux/x86_64")
    return Target(name=facts.target, python=facts.python, platform=platform, cuda=facts.variant)


def read_image_facts(engine: ContainerEngine, reference: str
                     ) -> tuple[ImageDetails, image_labels.ImageFacts]:
    details = engine.image(reference)
    return details, image_labels.facts_from_labels(details.labels, image=reference)


def inspect_on_profile(engine: ContainerEngine, reference: str, project: Project,
                       profile_name: str) -> ImageVerdict:
    from envcheck.rules import run_rules

    if profile_name not in project.profiles:
        raise UsageError(f"no profile named {profile_name} in {project.pyproject}",
                         hint=f"known: {', '.join(project.profiles) or 'none'}; save one with "
                         "`envcheck profile save NAME`")
    details, facts = read_image_facts(engine, reference)
    snapshot = snapshot_for(project.profiles[profile_name], _image_target(facts),
                            lock_from_labels(facts))
    return ImageVerdict(image=reference, details=details, facts=facts, machine=profile_name,
                        findings=run_rules(snapshot))


def inspect_on_machine(engine: ContainerEngine, reference: str,
                       machine: Snapshot) -> ImageVerdict:
    """This machine's driver and GPUs with the image's Python and torch: what the pre-flight
    would find if the image ran here. The machine's own toolkits, libraries and packages are
    left out: the image brings its own."""
    from envcheck.rules import run_rules

    details, facts = read_image_facts(engine, reference)
    lock = lock_from_labels(facts)
    python = PythonEnv(status="ok", version=Version(facts.python), implementation="CPython",
                       platform=f"linux-{facts.platform.split('/', 1)[1]}")
    snapshot = replace(machine, toolkits=(), cuda_libraries=(), python=python,
                       torch=torch_from_lock(lock), packages=())
    return ImageVerdict(image=reference, details=details, facts=facts, machine="this machine",
                        findings=run_rules(snapshot))

