"""The image renderer: Dockerfiles and ignore files against golden files, the base image
choice, and the labels that let any host judge an image without running it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from docker.utils.build import PatternMatcher
from packaging.version import Version

from envcheck.dockerfile import (
    DockerfileSpec,
    ignore_patterns,
    parse_image_reference,
    render_dockerfile,
    render_dockerignore,
)
from envcheck.errors import UsageError
from envcheck.knowledge.base_images import base_image_for_variant, cuda_base_images
from envcheck.knowledge.cuda_tables import min_driver_for_cuda
from envcheck.knowledge.torch_tables import find_variant
from envcheck.lockfile_model import LockedPackage, Lockfile, LockHeader
from envcheck.project_model import Project, Target
from envcheck.services import image_labels
from envcheck.services.image import ImageOptions, choose_base, dockerfile_spec
from tests.golden import assert_golden

DIGEST = "sha256:" + "ab" * 32
LOCAL_BASE = f"127.0.0.1:5000/envcheck-test/bookworm-python:2@{DIGEST}"
SMALL = Target(name="small", python="3.11", platform="linux/x86_64", cuda="cpu",
               base_image=LOCAL_BASE)
CLOUD = Target(name="cloud", python="3.11", platform="linux/x86_64", cuda="cu130",
               torch="==2.14.1")
PROJECT = Project(root=Path("/p"), pyproject=Path("/p/pyproject.toml"),
                  targets={"small": SMALL, "cloud": CLOUD})


def _lock(target: Target, *pins: tuple[str, str]) -> Lockfile:
    header = LockHeader(schema="envcheck.lock/1", target=target.name, python=target.python,
                        platform=target.platform, cuda=target.cuda, resolver="uv",
                        resolver_version="0.13.9", inputs_sha256="0" * 64)
    return Lockfile(header=header, packages=tuple(
        LockedPackage(name=n, version=v, hashes=("sha256:" + "1" * 64,)) for n, v in pins))


SMALL_LOCK = _lock(SMALL, ("six", "1.17.0"), ("pyyaml", "6.0.3"))
CLOUD_LOCK = _lock(CLOUD, ("torch", "2.14.1"), ("nvidia-cudnn-cu13", "9.24.0.43"))


def test_debian_base_that_has_python_golden() -> None:
    spec = dockerfile_spec(PROJECT, SMALL, SMALL_LOCK, "lock text\n", ImageOptions())
    assert spec.python_source == "base"
    assert_golden("dockerfiles/small-base-python.Dockerfile", render_dockerfile(spec))
    assert_golden("dockerfiles/small.dockerignore", render_dockerignore(spec))


def test_cuda_base_that_needs_python_installed_golden() -> None:
    pinned = f"nvidia/cuda:13.0.3-runtime-ubuntu22.04@{DIGEST}"
    spec = dockerfile_spec(PROJECT, CLOUD, CLOUD_LOCK, "cloud lock\n",
                           ImageOptions(base=pinned, install_python=True))
    assert spec.python_source == "distribution"
    text = render_dockerfile(spec)
    assert_golden("dockerfiles/cloud-cuda-apt-python.Dockerfile", text)
    assert "apt-get install -y --no-install-recommends python3.11 " in text
    assert 'NVIDIA_REQUIRE_CUDA="cuda>=13.0"' in text


def test_the_default_cuda_base_is_the_cited_runtime_tag_and_must_be_pinned() -> None:
    with pytest.raises(UsageError, match="not pinned by digest") as raised:
        choose_base(CLOUD, ImageOptions())
    assert "envcheck image pin-base cloud" in str(raised.value)
    reference, source = choose_base(CLOUD, ImageOptions(allow_unpinned=True))
    assert str(reference) == "nvidia/cuda:13.0.3-runtime-ubuntu22.04"
    assert source == "distribution"  # nvidia/cuda runtime images have no Python


def test_a_cpu_target_without_a_base_is_asked_for_one() -> None:
    bare = Target(name="bare", python="3.11", platform="linux/x86_64", cuda="cpu")
    with pytest.raises(UsageError, match="no base image") as raised:
        choose_base(bare, ImageOptions())
    assert "--base" in str(raised.value)


def test_a_variant_without_a_verified_tag_demands_base() -> None:
    assert base_image_for_variant("cu125") is None
    target = Target(name="t", python="3.11", platform="linux/x86_64", cuda="cu125")
    with pytest.raises(UsageError, match="no verified tag for cu125"):
        choose_base(target, ImageOptions())


def test_base_override_wins_over_the_target() -> None:
    other = f"registry.example.com/team/base:1@{DIGEST}"
    reference, _ = choose_base(SMALL, ImageOptions(base=other))
    assert reference.name == "registry.example.com/team/base"


@pytest.mark.parametrize(("text", "name", "tag", "digest"), [
    ("nvidia/cuda:13.0.3-runtime-ubuntu22.04", "nvidia/cuda", "13.0.3-runtime-ubuntu22.04",
     None),
    (LOCAL_BASE, "127.0.0.1:5000/envcheck-test/bookworm-python", "2", DIGEST),
    (f"debian@{DIGEST}", "debian", None, DIGEST),
])
def test_image_references(text: str, name: str, tag: str | None, digest: str | None) -> None:
    reference = parse_image_reference(text)
    assert (reference.name, reference.tag, reference.digest) == (name, tag, digest)
    assert str(reference) == text


@pytest.mark.parametrize("text", ["Nvidia/CUDA:1", "a:b@sha256:12", "", "x y"])
def test_bad_image_references(text: str) -> None:
    with pytest.raises(UsageError):
        parse_image_reference(text)


def test_cuda_labels_state_the_build_its_driver_and_its_gpus() -> None:
    labels = image_labels.image_labels(target=CLOUD, lock=CLOUD_LOCK, lock_text="x\n",
                                       base=parse_image_reference(LOCAL_BASE))
    found = find_variant(Version("2.14.1"))
    assert found is not None
    assert labels["org.envcheck.torch"] == "2.14.1"
    assert labels["org.envcheck.cuda"] == "13.0"
    assert labels["org.envcheck.min-driver"] == str(min_driver_for_cuda(Version("13.0")))
    expected = ",".join(f"{a[3:-1]}.{a[-1]}" for a in found[1].arch_list)
    assert labels["org.envcheck.compute-capabilities"] == expected
    assert labels["org.envcheck.lock-sha256"] == hashlib.sha256(b"x\n").hexdigest()
    assert labels["org.opencontainers.image.base.digest"] == DIGEST


def test_an_arch_list_not_recorded_is_said_in_words() -> None:
    # 2.7.1's cu118 build: neither measured nor read from a build script or RELEASE.md.
    target = Target(name="t", python="3.11", platform="linux/x86_64", cuda="cu118",
                    torch="==2.7.1")
    lock = _lock(target, ("torch", "2.7.1+cu118"))
    labels = image_labels.image_labels(target=target, lock=lock, lock_text="",
                                       base=parse_image_reference(LOCAL_BASE))
    assert labels["org.envcheck.compute-capabilities"] == image_labels.NOT_RECORDED
    assert labels["org.envcheck.cuda"] == "11.8"


def test_cpu_labels_and_no_cuda_requirement() -> None:
    labels = image_labels.image_labels(target=SMALL, lock=SMALL_LOCK, lock_text="",
                                       base=parse_image_reference(LOCAL_BASE))
    assert labels["org.envcheck.torch"] == "none"
    assert labels["org.envcheck.min-driver"] == "none"
    spec = dockerfile_spec(PROJECT, SMALL, SMALL_LOCK, "", ImageOptions())
    assert "NVIDIA_REQUIRE_CUDA" not in render_dockerfile(spec)


def test_labels_read_back() -> None:
    labels = image_labels.image_labels(target=CLOUD, lock=CLOUD_LOCK, lock_text="x",
                                       base=parse_image_reference(LOCAL_BASE))
    facts = image_labels.facts_from_labels(labels, image="img")
    assert (facts.target, facts.variant, facts.torch) == ("cloud", "cu130", Version("2.14.1"))
    with pytest.raises(UsageError, match="lacks the labels"):
        image_labels.facts_from_labels({}, image="img")


def test_the_ignore_file_keeps_secrets_out_of_the_context(tmp_path: Path) -> None:
    spec = dockerfile_spec(PROJECT, SMALL, SMALL_LOCK, "", ImageOptions())
    kept = ["train.py", "src/model.py", "lockfiles/small.txt",
            "images/small/wheelhouse/training/six-1.17.0-py2.py3-none-any.whl"]
    secret = [".env", ".env.local", "config/.env", "server.pem", "keys/tls.key",
              ".git/config", "credentials.json", "conf/gcp-credentials.json", ".netrc",
              ".aws/credentials", "home/.ssh/id_ed25519", ".venv/bin/python",
              "images/other/wheelhouse/training/x.whl", "images/small/Dockerfile",
              "src/__pycache__/model.cpython-311.pyc"]
    for name in kept + secret:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    patterns = list(ignore_patterns(render_dockerignore(spec)))
    sent = set(PatternMatcher(patterns).walk(str(tmp_path)))
    assert set(kept) <= sent
    assert not sent & set(secret)


def test_every_cited_base_is_a_runtime_tag_of_its_cuda() -> None:
    images = cuda_base_images()
    assert {i.variant for i in images} >= {"cu118", "cu124", "cu126", "cu128", "cu130"}
    for image in images:
        assert image.image == "nvidia/cuda"
        assert "-runtime-" in image.tag
        assert "cudnn" not in image.tag
        spec_cuda = image.variant[2:-1] + "." + image.variant[-1]
        assert image.tag.startswith(spec_cuda + ".")


def test_spec_is_plain_data() -> None:
    spec = DockerfileSpec(target="t", python="3.12", base=parse_image_reference(LOCAL_BASE),
                          python_source="base", lockfile="lockfiles/t.txt",
                          build_dir="images/t")
    text = render_dockerfile(spec)
    assert text.startswith("# Generated by `envcheck dockerfile t`")
    assert "python3.12 -m venv --without-pip /opt/venv" in text
    assert "--no-index --require-hashes" in text
    assert 'ENTRYPOINT ["/opt/envcheck/bin/python", "-m", "envcheck.cli.preflight"]' in text
