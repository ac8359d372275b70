"""Planning the CI matrix: each target's lock on each runner's profile, with the doctor's rules,
on the example project (examples/trainer, real uv lockfiles) and on variations of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from envcheck.errors import ExitCode, UsageError
from envcheck.project import ProjectError, load_project, parse_project
from envcheck.project_model import Project, RequiredRun
from envcheck.services.matrix import (
    github_matrix,
    matrix_json,
    plan_matrix,
    read_locks,
    render_matrix_text,
)
from tests.golden import assert_golden

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trainer"
EXAMPLE_TEXT = (EXAMPLE / "pyproject.toml").read_text()


def _variant(text: str) -> Project:
    """The example with another pyproject text, reading the example's lockfiles."""
    return parse_project(text, root=EXAMPLE, source="pyproject.toml")


def test_example_matrix_github_is_golden() -> None:
    project = load_project(EXAMPLE)
    plan = plan_matrix(project, read_locks(project))
    assert_golden("matrix/trainer-github.json",
                  json.dumps(github_matrix(plan), indent=2) + "\n")


def test_example_matrix_table_and_json_are_golden() -> None:
    project = load_project(EXAMPLE)
    plan = plan_matrix(project, read_locks(project))
    assert_golden("matrix/trainer.txt", render_matrix_text(plan))
    assert_golden("matrix/trainer.json", json.dumps(matrix_json(plan), indent=2) + "\n")


def test_example_leaves_out_cu130_where_the_driver_is_too_old() -> None:
    project = load_project(EXAMPLE)
    plan = plan_matrix(project, read_locks(project))
    left_out = {(cell.target, cell.runner): {f.id for f in cell.errors}
                for cell in plan.excluded}
    assert left_out == {("cu130", "gpu-4090"): {"driver-too-old-for-torch-cuda"},
                        ("cu130", "gpu-t4"): {"driver-too-old-for-torch-cuda"}}
    assert plan.passed
    assert [check.required for check in plan.required] == [
        RequiredRun(target="cu126", runner="gpu-t4"),
        RequiredRun(target="cu130", runner="gpu-a100")]
    images = {cell.target: cell.image for cell in plan.cells}
    assert all(image.startswith(f"envcheck/{target}:") for target, image in images.items())


def test_a_target_no_runner_can_run_is_stranded() -> None:
    # The A100 box on the workstation's driver: nothing runs a CUDA 13.0 build any more.
    text = EXAMPLE_TEXT.replace('driver = "580.65.06"', 'driver = "550.54.15"')
    project = _variant(text)
    plan = plan_matrix(project, read_locks(project))
    assert plan.stranded == ("cu130",)
    assert [(c.required.target, c.required.runner) for c in plan.unmet] == [
        ("cu130", "gpu-a100")]
    assert not plan.passed
    assert matrix_json(plan)["verdict"] == "fail"
    assert "no runner can run target cu130" in render_matrix_text(plan)


def test_a_required_combination_that_cannot_run_fails_the_check() -> None:
    text = EXAMPLE_TEXT + '\n[[tool.envcheck.require]]\ntarget = "cu130"\nrunner = "gpu-t4"\n'
    project = _variant(text)
    plan = plan_matrix(project, read_locks(project))
    assert not plan.stranded
    [unmet] = plan.unmet
    assert unmet.required == RequiredRun(target="cu130", runner="gpu-t4")
    assert unmet.cell.errors[0].id == "driver-too-old-for-torch-cuda"


# --- [[tool.envcheck.require]] -------------------------------------------------------------------


def _parse_error(text: str) -> ProjectError:
    with pytest.raises(ProjectError) as caught:
        _variant(text)
    assert caught.value.exit_code == ExitCode.USAGE
    return caught.value


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = [n for n, line in enumerate(text.split("\n"), start=1) if needle in line]
    return lines[occurrence - 1]


def test_require_entries_are_parsed_in_order() -> None:
    project = load_project(EXAMPLE)
    assert project.requires == (RequiredRun(target="cu126", runner="gpu-t4"),
                                RequiredRun(target="cu130", runner="gpu-a100"))


def test_require_names_an_unknown_runner_on_its_own_line() -> None:
    text = EXAMPLE_TEXT + '\n[[tool.envcheck.require]]\ntarget = "cu128"\nrunner = "gpu-h100"\n'
    error = _parse_error(text)
    assert error.line == _line_of(text, 'runner = "gpu-h100"')
    assert error.key == "tool.envcheck.require[2].runner"
    assert "unknown runner \"gpu-h100\" (the runners are: gpu-4090, gpu-a100, gpu-t4)" in str(
        error)
    assert "[tool.envcheck.runners]" in str(error)


def test_require_names_an_unknown_target() -> None:
    text = EXAMPLE_TEXT.replace('target = "cu130"', 'target = "cu131"')
    error = _parse_error(text)
    assert error.line == _line_of(text, 'target = "cu131"')
    assert 'unknown target "cu131" (the targets are: cu126, cu128, cu130)' in str(error)


def test_require_needs_both_keys_and_no_others() -> None:
    missing = EXAMPLE_TEXT + '\n[[tool.envcheck.require]]\ntarget = "cu128"\n'
    error = _parse_error(missing)
    assert error.problem == "runner is missing; a require entry needs one"
    assert error.line == _line_of(missing, "[[tool.envcheck.require]]", 3)
    typo = EXAMPLE_TEXT + ('\n[[tool.envcheck.require]]\ntarget = "cu128"\nrunner = "gpu-t4"'
                           '\nprofile = "t4-box"\n')
    error = _parse_error(typo)
    assert error.key == "tool.envcheck.require[2].profile"
    assert error.line == _line_of(typo, 'profile = "t4-box"')


def test_require_refuses_a_duplicate_and_a_plain_table() -> None:
    twice = EXAMPLE_TEXT + '\n[[tool.envcheck.require]]\ntarget = "cu126"\nrunner = "gpu-t4"\n'
    assert "cu126 on gpu-t4 is required twice" in str(_parse_error(twice))
    plain = EXAMPLE_TEXT.split("[[tool.envcheck.require]]")[0] + (
        '[tool.envcheck.require]\ntarget = "cu126"\n')
    assert "expected an array of tables" in str(_parse_error(plain))


# --- bad input ---------------------------------------------------------------------------------


def test_a_runner_mapped_to_an_unknown_profile_is_refused_with_its_line() -> None:
    text = EXAMPLE_TEXT.replace('gpu-t4 = "t4-box"', 'gpu-t4 = "t4-old"')
    error = _parse_error(text)
    assert error.line == _line_of(text, 'gpu-t4 = "t4-old"')
    assert 'unknown profile "t4-old"' in str(error)


def test_a_target_without_a_lock_is_named_with_the_command(tmp_path: Path) -> None:
    root = tmp_path / "trainer"
    shutil.copytree(EXAMPLE, root)
    (root / "lockfiles" / "cu128.txt").unlink()
    project = load_project(root)
    with pytest.raises(UsageError) as caught:
        read_locks(project)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "cu128:" in caught.value.message
    assert "is missing" in caught.value.message
    assert caught.value.hint == "run `envcheck lock cu128` and commit the lockfiles"


def test_a_project_without_runners_says_how_to_add_them(tmp_path: Path) -> None:
    text = EXAMPLE_TEXT.split("[tool.envcheck.runners]")[0]
    with pytest.raises(UsageError, match="maps no CI runner to a profile"):
        read_locks(_variant(text))
