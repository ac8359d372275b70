"""`envcheck image build`: cold build, rebuild after an application-code change, and image
size, against a naive single-stage Dockerfile on the same base that pip-installs the same
lock (from the same wheelhouse: containers here cannot reach the package index).

Targets: the rebuild under 10% of the cold build, the image no larger than the naive one.
Writes its section of docs/benchmarks.md.

    python -m benchmarks.image_build [--target torchcpu|small]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import docker

from benchmarks.report import write_section
from envcheck.adapters.engine import BuildRequest, DockerEngine
from envcheck.adapters.runner import SubprocessRunner
from envcheck.dockerfile import ignore_patterns
from envcheck.project import load_project
from envcheck.services.image import (
    BuildOptions,
    ImageContext,
    ImageOptions,
    build_image,
    render_image_files,
)
from envcheck.services.lock import LockContext, LockRequest, lock_targets
from envcheck.services.wheelhouse import PREFLIGHT_PACKAGES, PreflightSource

REPO = Path(__file__).resolve().parents[1]
BASE = "envcheck-test/bookworm-python:2"
LABEL = "envcheck-benchmark"
PYPROJECT = """\
[project]
name = "bench"
version = "0"

[tool.envcheck.targets.small]
python = "3.11"
platform = "linux/x86_64"
cuda = "cpu"
requirements = "requirements.in"

[tool.envcheck.targets.torchcpu]
python = "3.11"
platform = "linux/x86_64"
cuda = "cpu"
torch = "==2.13.0"
requirements = "requirements.in"

[tool.envcheck.indexes.local-wheels]
url = "/opt/wheels"
format = "flat"
variants = ["cpu"]
"""
NAIVE = """\
FROM {base}
COPY . /app
WORKDIR /app
RUN python3.11 -m venv /opt/venv \\
 && /opt/venv/bin/pip install --no-index --require-hashes \\
      --find-links /app/images/{target}/wheelhouse/training -r /app/lockfiles/{target}.txt
ENV PATH=/opt/venv/bin:$PATH
CMD ["python"]
"""


def _context(engine: DockerEngine) -> ImageContext:
    return ImageContext(engine=engine, runner=SubprocessRunner(), env=dict(os.environ),
                        pip=(sys.executable, "-m", "pip"),
                        preflight=PreflightSource(envcheck_source=REPO, pins={
                            name: version(name) for name in PREFLIGHT_PACKAGES}))


def _timed_build(engine: DockerEngine, root: Path, target: str, *, no_cache: bool
                 ) -> tuple[float, int]:
    started = time.monotonic()
    built = build_image(load_project(root), target, BuildOptions(
        image=ImageOptions(base=BASE, allow_unpinned=True), no_cache=no_cache,
        network_mode="none", extra_labels={LABEL: "1"}), _context(engine))
    return time.monotonic() - started, built.size


def _naive(engine: DockerEngine, root: Path, target: str) -> tuple[float, int]:
    rendered = render_image_files(load_project(root), target,
                                  ImageOptions(base=BASE, allow_unpinned=True))
    started = time.monotonic()
    image_id = engine.build(BuildRequest(
        dockerfile=NAIVE.format(base=BASE, target=target), context=root,
        ignore=ignore_patterns(rendered.dockerignore.read_text()), no_cache=True,
        network_mode="none", labels={LABEL: "1"}))
    return time.monotonic() - started, engine.image(image_id).size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", default="torchcpu", choices=["torchcpu", "small"])
    target = parser.parse_args().target
    engine = DockerEngine(dict(os.environ))
    with tempfile.TemporaryDirectory(prefix="envcheck-bench-") as scratch:
        root = Path(scratch)
        (root / "pyproject.toml").write_text(PYPROJECT)
        # Pinned, as in tests/integration/test_images.py: a new release must not change the run.
        (root / "requirements.in").write_text("six==1.17.0\nidna==3.10\nmarkupsafe==3.0.2\n"
                                              "pyyaml==6.0.2\n")
        (root / "train.py").write_text("print('v1')\n")
        lock_targets(load_project(root), LockRequest(resolver="uv", targets=(target,)),
                     LockContext(runner=SubprocessRunner(), env=dict(os.environ),
                                 bin_dirs=(Path(sys.executable).parent,),
                                 machine_python="3.11", machine_platform="linux/x86_64"))
        # The wheelhouse is filled once, outside the timings: both builds read it.
        _timed_build(engine, root, target, no_cache=False)
        cold, size = _timed_build(engine, root, target, no_cache=True)
        (root / "train.py").write_text("print('v2')\n")
        rebuild, _ = _timed_build(engine, root, target, no_cache=False)
        naive_seconds, naive_size = _naive(engine, root, target)
    client = docker.from_env()
    for image in client.images.list(filters={"label": LABEL}):
        client.images.remove(str(image.id), force=True)
    client.close()
    engine.close()
    ratio = rebuild / cold
    torch_part = "torch 2.13.0+cpu, " if target == "torchcpu" else ""
    body = f"""\
## `envcheck image build` (`benchmarks/image_build.py`)

Target `{target}` ({torch_part}six, idna, markupsafe, pyyaml and their
dependencies), base `{BASE}` (Debian 12 +
python3), Docker's classic builder,
`network_mode=none`, {platform.machine()}, {os.cpu_count()} cores. The wheelhouse was filled
before the timings (both Dockerfiles install from it).

| measurement | envcheck (multi-stage) | naive single stage | target |
|---|---|---|---|
| cold build (`--no-cache`) | {cold:.1f} s | {naive_seconds:.1f} s | |
| rebuild, only `train.py` changed | {rebuild:.1f} s ({ratio:.1%} of cold) | | < 10% |
| image size | {size / 1e6:.1f} MB | {naive_size / 1e6:.1f} MB | no larger than naive |

Verdict: rebuild {'meets' if ratio < 0.10 else 'MISSES'} the 10% target; size
{'meets' if size <= naive_size else 'MISSES'} the target. The naive image carries the
wheelhouse in its `COPY . /app` layer and pip in its environment; the multi-stage image
carries only the installed environments.
"""
    write_section("image_build", body)
    sys.stdout.write(body)


if __name__ == "__main__":
    main()
