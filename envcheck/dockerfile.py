"""A target's training image as text: the Dockerfile, its ignore file and the image's labels.

Pure: a DockerfileSpec in, text out (checked against golden files). What goes into the spec
(the base image, the labels from the lock and the knowledge tables) is decided by
envcheck/services/image.py; the layout of the stages is decided here:

    base       the pinned base image, plus the target's Python from the distribution
               when the base has none (real nvidia/cuda runtime images have none)
    installer  pip from the interpreter's own ensurepip: no network, and in neither
               environment below
    training   /opt/venv: exactly the lock, from the wheelhouse, every hash checked
               (--no-index --require-hashes); a content hash of the tree is written beside
    preflight  /opt/envcheck: envcheck, packaging and nvidia-ml-py, for the entrypoint
    app        the project's files without images/ (the wheelhouses)
    final      base + a non-root user + the two environments + labels + the app, last, so
               that changing the code rebuilds one layer
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from envcheck.errors import UsageError

PythonSource = Literal["base", "distribution"]
"""Where the image's Python comes from: the base image has python<X.Y> already, or it is
installed with apt from the base's distribution."""

IMAGE_SCHEMA = "envcheck.image/1"
VENV = "/opt/venv"
PREFLIGHT_VENV = "/opt/envcheck"
INSTALLER_VENV = "/opt/installer"
CONTENT_HASH_FILE = "/opt/venv.sha256"
APP_DIR = "/app"
APP_USER = "app"
APP_UID = 10001
WHEELHOUSE = "wheelhouse"
"""The folder, beside the Dockerfile, that `envcheck image build` fills from the lock."""
TREE_HASH_SCRIPT = "tree_hash.py"

# name[:tag][@sha256:digest]; the name may start with a registry host[:port].
_REFERENCE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True, kw_only=True)
class ImageReference:
    name: str
    """Repository, with its registry when one is named ("127.0.0.1:5000/team/base")."""
    tag: str | None = None
    digest: str | None = None
    """"sha256:<hex>": what pins the reference."""

    @property
    def pinned(self) -> bool:
        return self.digest is not None

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def tagged(self) -> str:
        """Without the digest: what a registry resolves."""
        return f"{self.name}:{self.tag or 'latest'}"


def parse_image_reference(text: str) -> ImageReference:
    match = _REFERENCE.match(text.strip())
    if match is None:
        raise UsageError(f"{text!r} is not an image reference",
                         hint="write name[:tag][@sha256:<64 hex>], for example "
                         "nvidia/cuda:13.0.3-runtime-ubuntu22.04@sha256:...")
    return ImageReference(name=match.group("name"), tag=match.group("tag"),
                          digest=match.group("digest"))


@dataclass(frozen=True, kw_only=True)
class DockerfileSpec:
    target: str
    python: str
    """The target's CPython minor ("3.11"): the image runs python<minor>."""
    base: ImageReference
    python_source: PythonSource
    lockfile: str
    """The lockfile, relative to the build context (the project folder), POSIX separators."""
    build_dir: str
    """The folder of the Dockerfile and the wheelhouse, relative to the build context."""
    labels: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    """Extra ENV of the final image (NVIDIA_REQUIRE_CUDA and friends), in this order."""


def _quote(value: str) -> str:
    # JSON string syntax is what the Dockerfile parser accepts in double quotes.
    return json.dumps(value, ensure_ascii=False)


def _env_block(values: Mapping[str, str]) -> str:
    items = list(values.items())
    lines = [f"{key}={_quote(value)}" for key, value in items]
    return "ENV " + " \\\n    ".join(lines)


def _apt_install(packages: str) -> str:
    return ("RUN apt-get update \\\n"
            " && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
            f"{packages} \\\n"
            " && rm -rf /var/lib/apt/lists/*")


def render_dockerfile(spec: DockerfileSpec) -> str:
    python = f"python{spec.python}"
    build = spec.build_dir.rstrip("/")
    wheelhouse = f"{build}/{WHEELHOUSE}"
    pip = f"{INSTALLER_VENV}/bin/pip"
    base_extra = ""
    installer_extra = ""
    if spec.python_source == "distribution":
        base_extra = (f"# The base has no {python}: the distribution's package (docs/images.md).\n"
                      + _apt_install(python) + "\n")
        installer_extra = _apt_install(f"{python}-venv") + "\n"
    final_env = {
        "PATH": f"{VENV}/bin:$PATH",
        "VIRTUAL_ENV": VENV,
        "ENVCHECK_TRAINING_PYTHON": f"{VENV}/bin/python",
        **spec.environment,
    }
    path_line = f"PATH={VENV}/bin:$PATH"  # unquoted: $PATH must expand
    env_lines = [path_line] + [f"{key}={_quote(value)}" for key, value in final_env.items()
                               if key != "PATH"]
    env_block = "ENV " + " \\\n    ".join(env_lines)
    labels = "LABEL " + " \\\n      ".join(
        f"{_quote(key)}={_quote(value)}" for key, value in sorted(spec.labels.items()))
    return f"""\
# Generated by `envcheck dockerfile {spec.target}` from {spec.lockfile}; do not edit by hand.
# Build it with `envcheck image build {spec.target}`, which first fills {wheelhouse}/ from
# the lock (every wheel hash-checked); the build needs no package index.

FROM {spec.base} AS base
{base_extra}{_env_block({"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
                          "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1"})}

# pip from the interpreter's own ensurepip (offline), kept out of both environments.
FROM base AS installer
{installer_extra}RUN {python} -m venv {INSTALLER_VENV}
COPY {wheelhouse}/{TREE_HASH_SCRIPT} {INSTALLER_VENV}/{TREE_HASH_SCRIPT}

# The training environment: exactly the lock, from the wheelhouse, every hash checked.
FROM installer AS training
COPY {spec.lockfile} /wheelhouse/requirements.txt
COPY {wheelhouse}/training/ /wheelhouse/
RUN {python} -m venv --without-pip {VENV} \\
 && {pip} --python {VENV}/bin/python install --no-index --require-hashes --no-compile \\
      --find-links /wheelhouse -r /wheelhouse/requirements.txt \\
 && {INSTALLER_VENV}/bin/python {INSTALLER_VENV}/{TREE_HASH_SCRIPT} {VENV} > {CONTENT_HASH_FILE}

# The pre-flight environment: envcheck for the entrypoint, apart from the training one.
FROM installer AS preflight
COPY {wheelhouse}/preflight/ /wheelhouse/
RUN {python} -m venv --without-pip {PREFLIGHT_VENV} \\
 && {pip} --python {PREFLIGHT_VENV}/bin/python install --no-index --require-hashes \\
      --no-deps --no-compile --find-links /wheelhouse -r /wheelhouse/requirements.txt

# The application: the project without images/ (the wheelhouses), in a stage of its own so
# that what is dropped here reaches no layer of the final image.
FROM base AS app
COPY . /src
RUN rm -rf /src/images

FROM base
RUN useradd --create-home --uid {APP_UID} --user-group --shell /bin/sh {APP_USER}
COPY --from=training {VENV} {VENV}
COPY --from=training {CONTENT_HASH_FILE} {CONTENT_HASH_FILE}
COPY --from=preflight {PREFLIGHT_VENV} {PREFLIGHT_VENV}
{env_block}
{labels}
WORKDIR {APP_DIR}
COPY --from=app --chown={APP_UID}:{APP_UID} /src {APP_DIR}
USER {APP_USER}
# The pre-flight checks this host can run the image (ENVCHECK_PREFLIGHT=0 skips it), then
# execs the command: `docker run IMAGE python train.py` works as usual.
ENTRYPOINT ["{PREFLIGHT_VENV}/bin/python", "-m", "envcheck.cli.preflight"]
CMD ["python"]
"""


# What a build context must never carry into an image: .dockerignore syntax (Go's
# filepath.Match with `**`, anchored at the context root).
_SECRETS = (
    "**/.env", "**/.env.*", "**/*.env", "**/*.pem", "**/*.key", "**/*.p12", "**/*.pfx",
    "**/id_rsa*", "**/id_ecdsa*", "**/id_ed25519*", "**/.ssh", "**/.netrc", "**/.pypirc",
    "**/.npmrc", "**/.git-credentials", "**/.aws", "**/.azure", "**/.gcloud", "**/.kube",
    "**/.docker", "**/credentials", "**/credentials.*", "**/*credentials*.json",
    "**/service-account*.json", "**/secrets", "**/*.secret", "**/*.secrets",
)
_NOISE = (
    "**/.git", "**/.hg", "**/.svn", "**/.venv", "**/venv", "**/__pycache__", "**/*.py[cod]",
    "**/.mypy_cache", "**/.pytest_cache", "**/.ruff_cache", "**/.tox", "**/.nox",
    "**/.ipynb_checkpoints", "**/node_modules", ".cache", "**/*.egg-info", "build", "dist",
)


def render_dockerignore(spec: DockerfileSpec) -> str:
    build = spec.build_dir.rstrip("/")
    lines = [
        f"# Generated by `envcheck dockerfile {spec.target}`; do not edit by hand.",
        "# `envcheck image build` applies it to the build context (the project folder);",
        f"# BuildKit reads it itself for `docker build -f {build}/Dockerfile .`.",
        "",
        "# Secrets: never in a build context, so never in a layer.",
        *_SECRETS,
        "",
        "# Version control, environments and caches.",
        *_NOISE,
        "",
        "# Other targets' images; this target's wheelhouse is the build's only package source.",
        "images",
        f"!{build}/{WHEELHOUSE}",
        "",
    ]
    return "\n".join(lines)


def ignore_patterns(text: str) -> tuple[str, ...]:
    """The patterns of a .dockerignore text, comments and blank lines dropped."""
    return tuple(line.strip() for line in text.splitlines()
                 if line.strip() and not line.strip().startswith("#"))
