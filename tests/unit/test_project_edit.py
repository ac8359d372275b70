"""Editing pyproject.toml: only the table named changes; every other byte stays (golden)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from packaging.version import Version

from envcheck.project import ProjectError, parse_project
from envcheck.project_edit import (
    add_profile,
    add_target,
    profile_from_snapshot,
    remove_target,
)
from envcheck.project_model import Profile, ProfileGpu, Target
from envcheck.snapshot import Driver, DriverVersion
from tests.golden import GOLDEN, assert_golden
from tests.snapshots import healthy

INPUT = (GOLDEN / "pyproject" / "input.toml").read_text()
ROOT = Path("/work/demo")

CPU_CI = Target(name="cpu-ci", python="3.11", platform="linux/aarch64", cuda="cpu",
                torch="==2.13.0", requirements="requirements/ci.in")
LAPTOP = Profile(name="laptop", driver=DriverVersion("580.65.06"),
                 cuda_driver_api=Version("13.0"), runtime="docker",
                 gpus=(ProfileGpu(name="NVIDIA GeForce RTX 4070 Laptop GPU",
                                  compute_capability="8.9", memory_mib=8188),))


def test_add_target_lands_after_the_other_targets() -> None:
    result = add_target(INPUT, CPU_CI)
    assert_golden("pyproject/add-target.toml", result)
    assert parse_project(result, root=ROOT).targets["cpu-ci"] == CPU_CI


def test_remove_the_first_target_keeps_the_comment_of_the_next() -> None:
    assert_golden("pyproject/remove-local.toml", remove_target(INPUT, "local"))


def test_remove_a_target_takes_the_comment_block_above_it() -> None:
    assert_golden("pyproject/remove-cloud.toml", remove_target(INPUT, "cloud"))


def test_add_profile_lands_after_the_other_profiles() -> None:
    result = add_profile(INPUT, LAPTOP)
    assert_golden("pyproject/add-profile.toml", result)
    assert parse_project(result, root=ROOT).profiles["laptop"] == LAPTOP


def test_add_profile_replaces_one_of_that_name_in_place() -> None:
    result = add_profile(INPUT, replace(LAPTOP, name="h100"))
    assert_golden("pyproject/replace-profile.toml", result)
    assert parse_project(result, root=ROOT).profiles["h100"] == replace(LAPTOP, name="h100")


def test_adding_then_removing_gives_back_the_same_bytes() -> None:
    assert remove_target(add_target(INPUT, CPU_CI), "cpu-ci") == INPUT


def test_an_existing_target_is_replaced_only_when_asked() -> None:
    local = replace(CPU_CI, name="local")
    with pytest.raises(ProjectError, match="target local already exists"):
        add_target(INPUT, local)
    result = add_target(INPUT, local, replace=True)
    assert parse_project(result, root=ROOT).targets["local"] == local
    # The comment lines around it stay; only the table's own lines change.
    assert "# ---- envcheck ----" in result
    assert "# The cloud image: newer CUDA for the H100s." in result


def test_removing_a_target_that_is_not_there() -> None:
    with pytest.raises(ProjectError, match=r"no target named gone \(the targets are: local, "
                       r"cloud\)"):
        remove_target(INPUT, "gone")


def test_first_target_in_a_file_without_tool_tables_goes_at_the_end() -> None:
    text = '[project]\nname = "x"\nversion = "0.1"\n\n\n'
    result = add_target(text, CPU_CI)
    assert result == ('[project]\nname = "x"\nversion = "0.1"\n\n'
                      '[tool.envcheck.targets.cpu-ci]\npython = "3.11"\n'
                      'platform = "linux/aarch64"\ncuda = "cpu"\ntorch = "==2.13.0"\n'
                      'requirements = "requirements/ci.in"\n')
    assert remove_target(result, "cpu-ci") == '[project]\nname = "x"\nversion = "0.1"\n'


def test_first_target_goes_after_the_other_tool_tables() -> None:
    text = '[tool.ruff]\nx = 1\n\n[build-system]\nrequires = []\n'
    result = add_target(text, CPU_CI)
    assert result.startswith('[tool.ruff]\nx = 1\n\n[tool.envcheck.targets.cpu-ci]\n')
    assert result.endswith('\n\n[build-system]\nrequires = []\n')


def test_a_file_without_a_final_newline() -> None:
    result = add_target('[project]\nname = "x"', CPU_CI)
    assert result.startswith('[project]\nname = "x"\n\n[tool.envcheck.targets.cpu-ci]\n')
    assert result.endswith("\n")


def test_crlf_files_keep_crlf() -> None:
    text = '[project]\r\nname = "x"\r\n\r\n[tool.ruff]\r\nx = 1\r\n'
    result = add_target(text, CPU_CI)
    assert result.count("\n") == result.count("\r\n")
    assert remove_target(result, "cpu-ci") == text


def test_an_inline_layout_falls_back_to_tomlkit_and_keeps_the_values() -> None:
    text = ('[tool.envcheck]\n# inline targets\n'
            'targets = { a = { python = "3.11", cuda = "cpu" } }\n')
    with pytest.raises(ProjectError, match="layout envcheck does not edit"):
        add_target(text, CPU_CI)  # an inline table cannot be extended
    dotted = '[tool.envcheck]\ntargets.a.python = "3.11"\ntargets.a.cuda = "cpu"\n'
    result = add_target(dotted, CPU_CI)
    assert list(parse_project(result, root=ROOT).targets) == ["a", "cpu-ci"]


def test_names_that_are_not_plain_are_refused() -> None:
    with pytest.raises(ProjectError, match="a target name is letters"):
        add_target(INPUT, replace(CPU_CI, name="my target"))


def test_a_profile_from_a_snapshot_groups_identical_gpus() -> None:
    snapshot = healthy()
    gpu = snapshot.gpus[0]
    eight = replace(snapshot, gpus=tuple(replace(gpu, index=i, uuid=f"GPU-{i}")
                                         for i in range(8)))
    profile = profile_from_snapshot("box", eight, "docker+nvidia")
    assert profile == Profile(
        name="box", driver=DriverVersion("550.54.15"), cuda_driver_api=Version("12.4"),
        gpus=(ProfileGpu(name="NVIDIA GeForce RTX 4090", compute_capability="8.9",
                         memory_mib=24564, count=8),),
        runtime="docker+nvidia", glibc=Version("2.35"), os="Ubuntu 22.04.4 LTS")
    text = add_profile("", profile)
    assert 'count = 8' in text
    assert parse_project(text, root=ROOT).profiles["box"] == profile


def test_a_machine_without_a_driver_cannot_be_a_profile() -> None:
    no_driver = healthy(driver=Driver(status="absent", detail="NVML: driver not loaded"),
                        gpus=())
    with pytest.raises(ProjectError) as caught:
        profile_from_snapshot("here", no_driver, "docker")
    assert "driver absent: NVML: driver not loaded" in caught.value.message
    assert "a profile must name a driver" in caught.value.message
    assert caught.value.hint is not None
    assert "--snapshot" in caught.value.hint
    with pytest.raises(ProjectError, match=r"driver 550\.54\.15, but no GPU"):
        profile_from_snapshot("here", healthy(gpus=()), "docker")
