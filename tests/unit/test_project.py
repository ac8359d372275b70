"""Reading [tool.envcheck]: the records, and every malformed input named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from envcheck.errors import ExitCode
from envcheck.knowledge.model import TorchRelease, TorchVariant
from envcheck.project import (
    ProjectError,
    key_lines,
    load_project,
    parse_project,
    torch_variant_conflict,
)
from envcheck.project_model import ProfileGpu
from tests.golden import GOLDEN

ROOT = Path("/work/demo")
INPUT = GOLDEN / "pyproject" / "input.toml"

PROFILE = """\
[tool.envcheck.profiles.ws]
driver = "550.54.15"
"""


def error_of(text: str) -> ProjectError:
    with pytest.raises(ProjectError) as caught:
        parse_project(text, root=ROOT, source="pyproject.toml")
    assert caught.value.exit_code == ExitCode.USAGE
    return caught.value


def target(*lines: str) -> str:
    return PROFILE + "\n[tool.envcheck.targets.t]\n" + "".join(f"{line}\n" for line in lines)


def test_the_golden_input_reads_into_records() -> None:
    project = parse_project(INPUT.read_text(), root=ROOT)
    assert project.pyproject == ROOT / "pyproject.toml"
    assert project.dependencies == ("numpy>=1.26", "transformers >= 4.40")
    assert list(project.targets) == ["local", "cloud"]
    local, cloud = project.targets["local"], project.targets["cloud"]
    assert (local.python, local.platform, local.cuda, local.torch) == (
        "3.11", "linux/x86_64", "cu126", ">=2.7,<2.8")
    assert local.profiles == ("workstation",)
    assert local.requirements is None
    assert cloud.platform == "linux/x86_64"  # the default
    assert cloud.base_image == "nvidia/cuda:12.8.1-runtime-ubuntu22.04"
    assert cloud.profiles == ("workstation", "h100")
    workstation, h100 = project.profiles["workstation"], project.profiles["h100"]
    assert workstation.driver == "550.54.15"
    assert workstation.cuda_driver_api == Version("12.4")
    assert workstation.gpus == (ProfileGpu(name="NVIDIA GeForce RTX 4090",
                                           compute_capability="8.9", memory_mib=24564),)
    assert h100.gpus == (ProfileGpu(compute_capability="9.0", memory_mib=81559, count=8),)
    assert h100.runtime == "docker+nvidia"
    assert [(i.name, i.url, i.variants) for i in project.indexes] == [
        ("pytorch-cu128", "https://download.pytorch.org/whl/cu128", ("cu128",))]
    assert project.runners == {"gpu-4090": "workstation"}


def test_a_project_without_envcheck_tables_is_empty() -> None:
    project = parse_project('[project]\nname = "x"\n', root=ROOT)
    assert (project.targets, project.profiles, project.indexes, project.runners) == (
        {}, {}, (), {})


def test_a_target_without_torch_or_profiles_is_fine() -> None:
    project = parse_project('[tool.envcheck.targets.plain]\npython = "3.12"\ncuda = "cpu"\n',
                            root=ROOT)
    plain = project.targets["plain"]
    assert (plain.torch, plain.profiles, plain.platform) == (None, (), "linux/x86_64")


def test_python_as_a_number_names_the_line_and_the_value_as_written() -> None:
    error = error_of(target('python = 3.10', 'cuda = "cu128"'))
    assert str(error).startswith(
        'pyproject.toml:5: tool.envcheck.targets.t.python: expected a Python version like '
        '"3.11", got 3.10 (a number)')
    assert error.line == 5
    assert error.key == "tool.envcheck.targets.t.python"
    assert error.hint is not None
    assert "Quote it" in error.hint


def test_a_missing_python_points_at_the_target_header() -> None:
    error = error_of(target('cuda = "cu128"'))
    assert error.line == 4
    assert "python is missing" in str(error)


def test_an_unknown_profile() -> None:
    error = error_of(target('python = "3.11"', 'cuda = "cu128"', 'profiles = ["ws", "cloud"]'))
    assert error.line == 7
    assert error.key == "tool.envcheck.targets.t.profiles[1]"
    assert 'unknown profile "cloud" (the profiles are: ws)' in str(error)
    assert error.hint is not None
    assert "envcheck profile save cloud" in error.hint


@pytest.mark.parametrize(("cuda", "hint"), [("cu12.8", 'write "cu128"'),
                                            ("12.8", 'write "cu128"'),
                                            ("cuda", None), ("cu12", None), ("rocm6.2", None)])
def test_a_cuda_value_that_is_not_a_variant(cuda: str, hint: str | None) -> None:
    error = error_of(target('python = "3.11"', f'cuda = "{cuda}"'))
    assert error.line == 6
    assert f'expected a torch variant: "cpu" or "cu" and the CUDA version without its dot ' \
           f'("cu126", "cu128", "cu130"), got "{cuda}"' in str(error)
    assert error.hint == hint


def test_a_torch_specifier_that_does_not_parse() -> None:
    error = error_of(target('python = "3.11"', 'cuda = "cu128"', 'torch = "=>2.7"'))
    assert error.line == 7
    assert 'expected a version specifier like ">=2.7,<2.8" or "==2.7.1", got "=>2.7"' \
        in str(error)


def test_a_bare_torch_version_gets_the_specifier_it_meant() -> None:
    error = error_of(target('python = "3.11"', 'cuda = "cu128"', 'torch = "2.7.1"'))
    assert error.hint == 'write "==2.7.1" for exactly that release'


def test_a_platform_outside_the_closed_set() -> None:
    error = error_of(target('python = "3.11"', 'platform = "linux/arm64"', 'cuda = "cu128"'))
    assert error.line == 6
    assert 'expected one of linux/x86_64, linux/aarch64, got "linux/arm64"' in str(error)


def test_a_profile_without_a_driver() -> None:
    error = error_of('[project]\nname = "x"\n\n[tool.envcheck.profiles.cloud]\n'
                     'runtime = "docker"\n')
    assert error.line == 4
    assert "tool.envcheck.profiles.cloud: driver is missing" in str(error)


def test_a_driver_that_is_not_a_driver_version() -> None:
    error = error_of('[tool.envcheck.profiles.cloud]\ndriver = "latest"\n')
    assert error.line == 2
    assert 'expected an NVIDIA driver version like "550.54.15", got "latest"' in str(error)


def test_torch_and_cuda_that_cannot_go_together_name_the_variants_torch_has() -> None:
    error = error_of(target('python = "3.11"', 'cuda = "cu130"', 'torch = "==2.0"'))
    assert error.line == 6  # the cuda line
    message = str(error)
    assert 'no torch release that "==2.0" admits is built for cu130' in message
    assert "2.0.0 is built as cu117, cu118" in message


def test_torch_the_knowledge_does_not_know_is_accepted() -> None:
    project = parse_project(target('python = "3.11"', 'cuda = "cu130"', 'torch = ">=9"'),
                            root=ROOT)
    assert project.targets["t"].torch == ">=9"


def _release(version: str, *variants: str) -> TorchRelease:
    return TorchRelease(
        version=Version(version), python=("3.11",), pypi_default=variants[0],
        torchvision=None, torchaudio=None, manylinux_glibc=None,
        variants=tuple(TorchVariant(name=name, cuda=None, cudnn=None, arch_list=())
                       for name in variants))


def test_the_variant_check_refuses_only_when_every_admitted_release_lists_its_variants() -> None:
    releases = (_release("2.0.0", "cu117", "cu118"), _release("2.1.0", "cu121"),
                _release("2.2.0", "cu121", "cu118"))
    assert torch_variant_conflict("==2.0.0", "cu130", releases) is not None
    # 2.1.0 lists only its PyPI build: its download.pytorch.org variants are not recorded.
    assert torch_variant_conflict(">=2.0,<2.2", "cu130", releases) is None
    assert torch_variant_conflict(">=2.0", "cu121", releases) is None  # one of them has it
    assert torch_variant_conflict("==2.0.0", "cpu", releases) is None  # cpu never refused
    assert torch_variant_conflict(">=3", "cu130", releases) is None  # no release known
    message = torch_variant_conflict("==2.0.0,!=2.1.0", "cu121", releases)
    assert message == ('no torch release that "==2.0.0,!=2.1.0" admits is built for cu121: '
                       "2.0.0 is built as cu117, cu118")


def test_toml_syntax_errors_name_the_line() -> None:
    error = error_of('[project]\nname = "x"\n\n[tool.envcheck.targets.t]\npython = \n')
    assert error.line == 5
    assert str(error).startswith("pyproject.toml:5: not valid TOML:")


def test_unknown_keys_are_typos_until_proven_otherwise() -> None:
    error = error_of(target('python = "3.11"', 'cuda = "cu128"', 'pytorch = ">=2.7"'))
    assert error.line == 7
    assert "tool.envcheck.targets.t.pytorch: unknown key; expected one of python, platform" \
        in str(error)
    error = error_of('[tool.envcheck.target.t]\npython = "3.11"\n')
    assert error.key == "tool.envcheck.target"
    assert error.line == 1


def test_gpu_entries_inside_a_list_point_at_the_gpus_line() -> None:
    error = error_of('[tool.envcheck.profiles.p]\ndriver = "550.54.15"\ngpus = [\n'
                     '  { name = "A100", memory_mib = "80GB" },\n]\n')
    assert error.line == 3
    assert error.key == "tool.envcheck.profiles.p.gpus[0].memory_mib"
    assert 'expected a whole number of at least 1, got "80GB"' in str(error)
    error = error_of('[tool.envcheck.profiles.p]\ndriver = "550.54.15"\ngpus = [{ count = 2 }]\n')
    assert "a GPU needs a name" in str(error)


def test_runners_and_indexes_are_checked() -> None:
    error = error_of(PROFILE + '\n[tool.envcheck.runners]\n"gpu-a100" = "a100"\n')
    assert error.line == 5
    assert 'tool.envcheck.runners.gpu-a100: unknown profile "a100" (the profiles are: ws)' \
        in str(error)
    error = error_of('[tool.envcheck.indexes.pt]\nurl = "https://download.pytorch.org/whl/"\n'
                     'variants = ["cu128", "cuda12.6"]\n')
    assert error.line == 3
    assert error.hint == 'write "cu126"'


def test_names_must_be_plain() -> None:
    error = error_of('[tool.envcheck.targets."my target"]\npython = "3.11"\ncuda = "cpu"\n')
    assert error.line == 1
    assert "a target name is letters, digits" in str(error)


def test_lines_are_found_for_dotted_keys_and_quoted_headers() -> None:
    text = ('[tool.envcheck]\ntargets.a.python = "3.11"\n\n'
            '[ tool . "envcheck" . profiles . b ]\ndriver = "550.54.15"\n'
            'notes = """\n[tool.envcheck.fake]\nx = 1\n"""\n')
    lines = key_lines(text)
    assert lines[("tool", "envcheck", "targets", "a", "python")] == 2
    assert lines[("tool", "envcheck", "profiles", "b")] == 4
    assert lines[("tool", "envcheck", "profiles", "b", "driver")] == 5
    assert ("tool", "envcheck", "fake") not in lines  # inside a multi-line string
    error = error_of('[tool.envcheck]\ntargets.a.python = "3.11"\ntargets.a.cuda = "cu12"\n')
    assert error.line == 3


def test_project_dependencies_must_be_strings() -> None:
    error = error_of('[project]\nname = "x"\ndependencies = ["numpy", 2]\n')
    assert error.key == "project.dependencies[1]"
    assert error.line == 3


def test_no_pyproject_says_where_it_looked_and_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as caught:
        load_project(tmp_path)
    assert str(tmp_path) in caught.value.message
    assert caught.value.hint is not None
    assert "To start a project, create" in caught.value.hint


def test_load_project_reads_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(INPUT.read_text())
    project = load_project(tmp_path)
    assert project.pyproject == tmp_path / "pyproject.toml"
    assert list(project.profiles) == ["workstation", "h100"]


def test_a_torch_requirement_instead_of_a_specifier() -> None:
    error = error_of(target('python = "3.11"', 'cuda = "cu128"', 'torch = "torch>=2.7"'))
    assert error.hint == 'write only the specifier: ">=2.7"'
