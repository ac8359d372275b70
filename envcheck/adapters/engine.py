"""The container engine: the only module that imports the Docker SDK.

A small Protocol (ContainerEngine) that envcheck's services use, and DockerEngine, which
speaks to a real engine where DOCKER_HOST (or the default socket) points. Docker's
exceptions become envcheck errors here: no engine -> EngineUnavailableError (exit 4), a
failed build step -> ImageBuildError naming the step with the last lines of its log.
"""

from __future__ import annotations

import io
import socket
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from envcheck.errors import (
    ContainerRunError,
    EngineUnavailableError,
    EnvcheckError,
    ExitCode,
    ImageBuildError,
)

DEFAULT_SOCKET = "/var/run/docker.sock"
START_HINT = (
    "start one: `sudo systemctl start docker` (or `sudo dockerd &` where there is no systemd; "
    "on Debian without Docker, `apt-get install docker.io` first), or point DOCKER_HOST at a "
    "running engine "
    "(unix:///path/to/docker.sock, tcp://host:2376, ssh://user@host)")
_LOG_TAIL_LINES = 20
_DOCKERFILE_IN_CONTEXT = ".envcheck.Dockerfile"


@dataclass(frozen=True, kw_only=True)
class BuildRequest:
    dockerfile: str
    """The Dockerfile's text; sent inside the context, wherever the file lives."""
    context: Path | None
    """The build context folder; None: an empty context (a Dockerfile of FROM/LABEL only)."""
    ignore: tuple[str, ...] = ()
    """.dockerignore patterns applied to the context."""
    tag: str | None = None
    no_cache: bool = False
    network_mode: str | None = None
    """"none": RUN steps have no network (the hermetic install needs none)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 3600.0


BuildEventKind = Literal["step", "log", "cached", "pull"]


@dataclass(frozen=True, kw_only=True)
class BuildEvent:
    kind: BuildEventKind
    text: str
    step: int | None = None
    steps: int | None = None


@dataclass(frozen=True, kw_only=True)
class ImageDetails:
    id: str
    size: int
    labels: Mapping[str, str]
    tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    entrypoint: tuple[str, ...] = ()
    user: str = ""


@dataclass(frozen=True, kw_only=True)
class ContainerMount:
    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True, kw_only=True)
class ProbeContainerRequest:
    """One container run of a copied-in script: `docker run` options users need."""

    image: str
    command: tuple[str, ...]
    files: Mapping[str, bytes] = field(default_factory=dict)
    """Absolute path in the container -> content, copied in before the start."""
    env: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[ContainerMount, ...] = ()
    gpus: str | None = None
    """"all", "2", "device=0,1": like `docker run --gpus`."""
    shm_size: str | None = None
    runtime: str | None = None
    network_mode: str | None = "none"
    """The probes need no network; "none" also works on an engine without a bridge."""
    timeout: float = 600.0


@dataclass(frozen=True, kw_only=True)
class ProbeContainerResult:
    exit_code: int
    stdout: str
    stderr: str


class ContainerEngine(Protocol):
    def build(self, request: BuildRequest,
              on_event: Callable[[BuildEvent], None] | None = None) -> str:
        """Build; return the image ID. ImageBuildError when a step fails."""
        ...

    def image(self, reference: str) -> ImageDetails:
        """An image in the engine; UsageError-like EnvcheckError when there is none."""
        ...

    def tag(self, image_id: str, reference: str) -> None: ...

    def read_file(self, image: str, path: str) -> bytes:
        """A file of the image, read without running it."""
        ...

    def push(self, reference: str, on_event: Callable[[str], None] | None = None) -> str:
        """Push; return the manifest digest the registry answered."""
        ...

    def registry_digest(self, reference: str) -> str:
        """The manifest digest a registry serves for name:tag (its distribution API)."""
        ...

    def run_script(self, request: ProbeContainerRequest) -> ProbeContainerResult:
        """Run to completion; ContainerRunError (with the log tail) when it hangs."""
        ...

    def server_version(self) -> str: ...

    def save(self, reference: str, sink: IO[bytes]) -> None: ...

    def load(self, source: IO[bytes]) -> str:
        """Load a `docker save` stream; return the image ID."""
        ...

    def pull(self, reference: str) -> str:
        """Pull; return the image ID."""
        ...

    def close(self) -> None: ...


class ImageNotFoundError(EnvcheckError):
    """The engine has no such image."""

    exit_code = ExitCode.USAGE


def unix_socket_answers(path: str) -> bool:
    """Whether something accepts connections on a unix socket."""
    # docker-py leaks its socket when connect() fails; knock first with one closed either way.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as knock:
        knock.settimeout(5)
        try:
            knock.connect(path)
        except OSError:
            return False
    return True


class DockerEngine:
    """The Docker engine DOCKER_HOST names (the docker CLI's conventions, via the SDK)."""

    def __init__(self, env: Mapping[str, str], *, timeout: int = 60) -> None:
        import docker
        import docker.errors
        import requests.exceptions

        host = env.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
        where = f"DOCKER_HOST={env['DOCKER_HOST']}" if env.get("DOCKER_HOST") else host
        if host.startswith("unix://") and not unix_socket_answers(host.removeprefix("unix://")):
            raise EngineUnavailableError(f"no Docker engine answers at {where}", hint=START_HINT)
        try:
            self._client = docker.from_env(environment=dict(env), timeout=timeout)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise EngineUnavailableError(f"no Docker engine answers at {where}: {e}",
                                         hint=START_HINT) from e
        try:
            self._client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            self._client.close()  # its pooled socket would otherwise be left to the GC
            raise EngineUnavailableError(f"no Docker engine answers at {where}: {e}",
                                         hint=START_HINT) from e
        self.host = host

    def close(self) -> None:
        self._client.close()

    # --- build ---------------------------------------------------------------------------

    def _context(self, request: BuildRequest) -> IO[bytes]:
        import docker.utils.build

        if request.context is None:
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as archive:
                data = request.dockerfile.encode("utf-8")
                member = tarfile.TarInfo(_DOCKERFILE_IN_CONTEXT)
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))
            buffer.seek(0)
            return buffer
        # The SDK's own tar() would add a .dockerignore to the context (and so to a
        # `COPY . dir`); the patterns are applied here instead, and only the Dockerfile added.
        # The engine still needs the Dockerfile in the context; a .dockerignore naming it
        # (and itself) keeps both out of COPY and ADD.
        root = str(request.context)
        files = sorted(docker.utils.build.PatternMatcher(list(request.ignore)).walk(root))
        handle = tempfile.TemporaryFile()  # noqa: SIM115 - closed by build()
        docker.utils.build.create_archive(
            root=root, files=[f for f in files if f != ".dockerignore"], fileobj=handle,
            extra_files=[(_DOCKERFILE_IN_CONTEXT, request.dockerfile),
                         (".dockerignore", f"{_DOCKERFILE_IN_CONTEXT}\n.dockerignore\n")])
        handle.seek(0)
        return handle

    def build(self, request: BuildRequest,
              on_event: Callable[[BuildEvent], None] | None = None) -> str:
        import docker.errors
        import requests.exceptions

        context = self._context(request)
        try:
            stream = self._client.api.build(
                fileobj=context, custom_context=True, dockerfile=_DOCKERFILE_IN_CONTEXT,
                tag=request.tag, nocache=request.no_cache, rm=True, forcerm=True,
                network_mode=request.network_mode, labels=dict(request.labels) or None,
                decode=True, timeout=int(request.timeout))
            return _follow_build(stream, on_event)
        except docker.errors.APIError as e:
            raise ImageBuildError(f"the engine refused the build: {e.explanation or e}") from e
        except requests.exceptions.ConnectionError as e:
            raise EngineUnavailableError(f"lost the Docker engine at {self.host} during the "
                                         f"build: {e}", hint=START_HINT) from e
        finally:
            context.close()

    # --- images --------------------------------------------------------------------------

    def image(self, reference: str) -> ImageDetails:
        import docker.errors

        try:
            image = self._client.images.get(reference)
        except docker.errors.ImageNotFound as e:
            raise ImageNotFoundError(f"no image {reference} in the engine at {self.host}",
                                     hint="build it with `envcheck image build TARGET`, or "
                                     "`docker pull` it first") from e
        except docker.errors.APIError as e:
            raise EnvcheckError(f"the engine could not inspect {reference}: "
                                f"{e.explanation or e}") from e
        attrs: dict[str, Any] = image.attrs
        config = attrs.get("Config") or {}
        env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
        return ImageDetails(id=str(image.id), size=int(attrs.get("Size") or 0),
                            labels=dict(config.get("Labels") or {}),
                            tags=tuple(image.tags), repo_digests=tuple(attrs.get("RepoDigests")
                                                                       or ()),
                            environment=env, entrypoint=tuple(config.get("Entrypoint") or ()),
                            user=str(config.get("User") or ""))

    def tag(self, image_id: str, reference: str) -> None:
        repository, _, tag = reference.rpartition(":")
        if not repository or "/" in tag:
            repository, tag = reference, "latest"
        self._client.api.tag(image_id, repository, tag)

    def read_file(self, image: str, path: str) -> bytes:
        import docker.errors

        try:
            container = self._client.containers.create(image, command=["true"],
                                                       entrypoint=[], labels={"envcheck": "read"})
        except docker.errors.APIError as e:
            raise EnvcheckError(f"cannot open {image} to read {path}: {e.explanation or e}") from e
        try:
            chunks, _stat = container.get_archive(path)
            buffer = io.BytesIO(b"".join(chunks))
        except docker.errors.NotFound as e:
            raise EnvcheckError(f"{image} has no {path}") from e
        finally:
            container.remove(force=True)
        with tarfile.open(fileobj=buffer) as archive:
            member = archive.next()
            extracted = archive.extractfile(member) if member is not None else None
            if extracted is None:
                raise EnvcheckError(f"{path} in {image} is not a file")
            return extracted.read()

    def push(self, reference: str, on_event: Callable[[str], None] | None = None) -> str:
        import docker.errors

        repository, _, tag = reference.rpartition(":")
        if not repository or "/" in tag:
            repository, tag = reference, "latest"
        digest = ""
        try:
            for event in self._client.images.push(repository, tag=tag, stream=True,
                                                  decode=True):
                if "error" in event:
                    raise ImageBuildError(f"pushing {reference} failed: {event['error']}",
                                          step="push",
                                          hint="check the registry address and `docker login`")
                aux = event.get("aux") or {}
                digest = str(aux.get("Digest") or digest)
                if on_event is not None and event.get("status"):
                    on_event(f"{event.get('id', '')} {event['status']}".strip())
        except docker.errors.APIError as e:
            raise ImageBuildError(f"pushing {reference} failed: {e.explanation or e}",
                                  step="push") from e
        return digest

    def registry_digest(self, reference: str) -> str:
        import docker.errors

        try:
            answer = self._client.api.inspect_distribution(reference)  # type: ignore[no-untyped-call]
        except docker.errors.APIError as e:
            raise EnvcheckError(
                f"the registry did not resolve {reference}: {e.explanation or e}",
                hint="check the name and tag, the network, and `docker login` for a private "
                "registry") from e
        digest = str((answer.get("Descriptor") or {}).get("digest") or "")
        if not digest.startswith("sha256:"):
            raise EnvcheckError(f"the registry answered no digest for {reference}: {answer}")
        return digest

    # --- containers and moving images --------------------------------------------------

    def server_version(self) -> str:
        return str(self._client.version().get("Version") or "unknown")

    def run_script(self, request: ProbeContainerRequest) -> ProbeContainerResult:
        import docker.errors
        import docker.types
        import requests.exceptions

        mounts = [docker.types.Mount(target=m.target, source=m.source, type="bind",
                                     read_only=m.read_only) for m in request.mounts]
        device_requests = [_gpu_request(request.gpus)] if request.gpus else None
        try:
            container = self._client.containers.create(
                request.image, list(request.command), entrypoint=[], environment=dict(
                    request.env), mounts=mounts, shm_size=request.shm_size,
                runtime=request.runtime, device_requests=device_requests,
                network_mode=request.network_mode,
                labels={"envcheck": "fingerprint"})
        except docker.errors.ImageNotFound as e:
            raise ImageNotFoundError(f"no image {request.image} in the engine at {self.host}",
                                     hint="pull or build it there first") from e
        except docker.errors.APIError as e:
            raise ContainerRunError(f"the engine at {self.host} refused to create a "
                                    f"container of {request.image}: {e.explanation or e}",
                                    step="create") from e
        try:
            if request.files:
                container.put_archive("/", _script_tar(request.files))
            try:
                container.start()
            except docker.errors.APIError as e:
                raise ContainerRunError(f"the container of {request.image} did not start: "
                                        f"{e.explanation or e}", step="start") from e
            try:
                status = container.wait(timeout=request.timeout)
            except (requests.exceptions.ConnectionError,
                    requests.exceptions.ReadTimeout) as e:
                container.kill()
                logs = container.logs().decode(errors="replace")
                raise ContainerRunError(
                    f"the container of {request.image} was still running after "
                    f"{request.timeout:g} s and was killed; last lines of its log:\n"
                    f"{_indent(_tail(logs))}", step="run", log_tail=_tail(logs)) from e
            stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
            stderr = container.logs(stdout=False, stderr=True).decode(errors="replace")
            return ProbeContainerResult(exit_code=int(status["StatusCode"]), stdout=stdout,
                                        stderr=stderr)
        finally:
            container.remove(force=True)

    def save(self, reference: str, sink: IO[bytes]) -> None:
        import docker.errors

        try:
            for chunk in self._client.api.get_image(reference):
                sink.write(chunk)
        except docker.errors.APIError as e:
            raise EnvcheckError(f"the engine at {self.host} could not save {reference}: "
                                f"{e.explanation or e}") from e

    def load(self, source: IO[bytes]) -> str:
        import docker.errors

        try:
            images = self._client.images.load(source.read())
        except docker.errors.APIError as e:
            raise EnvcheckError(f"the engine at {self.host} could not load the image: "
                                f"{e.explanation or e}") from e
        if not images:
            raise EnvcheckError(f"the engine at {self.host} loaded no image from the stream")
        return str(images[0].id)

    def pull(self, reference: str) -> str:
        import docker.errors

        # The SDK splits name:tag and name@sha256:digest itself.
        try:
            image = self._client.images.pull(reference)
        except docker.errors.APIError as e:
            raise EnvcheckError(f"the engine at {self.host} could not pull {reference}: "
                                f"{e.explanation or e}",
                                hint="check the registry address; a plain-http registry "
                                "needs --insecure-registry on that engine") from e
        return str(image.id)


def _gpu_request(gpus: str) -> Any:
    import docker.types

    if gpus == "all":
        return docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])
    if gpus.startswith("device="):
        return docker.types.DeviceRequest(device_ids=gpus.removeprefix("device=").split(","),
                                          capabilities=[["gpu"]])
    return docker.types.DeviceRequest(count=int(gpus), capabilities=[["gpu"]])


def _script_tar(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files.items():
            member = tarfile.TarInfo(name.lstrip("/"))
            member.size = len(content)
            member.mode = 0o755
            archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-_LOG_TAIL_LINES:])


def _follow_build(stream: Iterator[dict[str, Any]],
                  on_event: Callable[[BuildEvent], None] | None) -> str:
    """Read the engine's build stream; the image ID, or ImageBuildError for a failed step."""
    import re

    step_line = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
    current = "preparing the build"
    log: list[str] = []
    image_id = ""
    emit = on_event or (lambda _event: None)
    for chunk in stream:
        if "error" in chunk:
            detail = chunk.get("errorDetail") or {}
            message = str(detail.get("message") or chunk["error"]).strip()
            tail = "\n".join(line for line in log[-_LOG_TAIL_LINES:])
            raise ImageBuildError(
                f"build step failed: {current}\n  {message}"
                + (f"\n  last lines of its log:\n{_indent(tail)}" if tail else ""),
                step=current, log_tail=tail)
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            image_id = str(aux["ID"])
        text = chunk.get("stream")
        if not isinstance(text, str):
            status = chunk.get("status")
            if isinstance(status, str):
                emit(BuildEvent(kind="pull", text=status))
            continue
        for line in text.splitlines():
            match = step_line.match(line.strip())
            if match:
                current = line.strip()
                log = []
                emit(BuildEvent(kind="step", text=match.group(3), step=int(match.group(1)),
                                steps=int(match.group(2))))
            elif line.strip() == "---> Using cache":
                emit(BuildEvent(kind="cached", text=current))
            elif line.strip():
                log.append(line.rstrip())
                emit(BuildEvent(kind="log", text=line.rstrip()))
            found = re.match(r"^Successfully built ([0-9a-f]+)$", line.strip())
            if found and not image_id:
                image_id = found.group(1)
    if not image_id:
        raise ImageBuildError("the engine ended the build without an image ID",
                              step=current, log_tail="\n".join(log[-_LOG_TAIL_LINES:]))
    return image_id


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())
