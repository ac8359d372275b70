"""A flat index (a folder of wheels, pip's --find-links): parsed, hashed, handed to the
resolvers through their environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from envcheck.adapters.resolver import PipToolsResolver, ResolveRequest, UvResolver
from envcheck.lockfile import inputs_sha256
from envcheck.project import ProjectError, parse_project
from envcheck.project_model import PackageIndex, Project, Target
from tests.fakes import FakeRunner

PYPROJECT = """\
[project]
name = "demo"
version = "0"

[tool.envcheck.indexes.local]
url = "/opt/wheels"
format = "{format}"
variants = ["cpu"]
"""
TARGET = Target(name="t", python="3.11", platform="linux/x86_64", cuda="cpu", torch="==2.13.0")


def test_format_flat_is_read() -> None:
    project = parse_project(PYPROJECT.format(format="flat"), root=Path("/p"))
    assert project.indexes == (PackageIndex(name="local", url="/opt/wheels", variants=("cpu",),
                                            format="flat"),)


def test_an_unknown_format_names_the_line() -> None:
    with pytest.raises(ProjectError, match=r"pyproject.toml:7: tool.envcheck.indexes.local."
                       r"format: expected \"simple\".*got \"find-links\""):
        parse_project(PYPROJECT.format(format="find-links"), root=Path("/p"))


def test_only_a_flat_index_changes_the_inputs_hash() -> None:
    simple = PackageIndex(name="local", url="/opt/wheels", variants=("cpu",))
    flat = PackageIndex(name="local", url="/opt/wheels", variants=("cpu",), format="flat")

    def digest(index: PackageIndex) -> str:
        project = Project(root=Path("/p"), pyproject=Path("/p/pyproject.toml"), indexes=(index,))
        return inputs_sha256(project, TARGET, "", resolver="uv")

    # The hash of a simple index is what it was before `format` existed.
    assert digest(simple) == "a48bc53c3e2e1d47086635c7801f08fc81ec562edf5eebd76c81f89a01883172"
    assert digest(simple) != digest(flat)


def test_resolvers_get_find_links_in_their_environment(tmp_path: Path) -> None:
    request = ResolveRequest(inputs=(tmp_path / "in",), output=tmp_path / "out",
                             python="3.11", platform="linux/x86_64",
                             index_urls=("https://idx/simple",), find_links=("/opt/wheels",),
                             env={})
    uv = UvResolver(Path("uv"), FakeRunner())
    pip = PipToolsResolver(Path("pip-compile"), FakeRunner())
    assert uv._index_env(request) == {"UV_INDEX": "https://idx/simple",
                                      "UV_FIND_LINKS": "/opt/wheels"}
    assert pip._index_env(request) == {"PIP_EXTRA_INDEX_URL": "https://idx/simple",
                                       "PIP_FIND_LINKS": "/opt/wheels"}
    assert "/opt/wheels" not in " ".join(uv.argv(request))
