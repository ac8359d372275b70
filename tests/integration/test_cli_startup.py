"""The real `envcheck` process: what --help imports, one-line usage errors, completion."""

from __future__ import annotations

import subprocess
import sys

from tests.integration.conftest import CliRunner

# Every module loaded when the process ends (importlib.import_module bypasses -X importtime).
_REPORT_MODULES = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('MODULES ' + ' '.join(sys.modules) + '\\n'))\n"
    "from envcheck.cli.main import run\n"
    "run(sys.argv[1:])\n")


def _imported_by(*args: str) -> tuple[set[str], str]:
    proc = subprocess.run([sys.executable, "-c", _REPORT_MODULES, *args],
                          capture_output=True, text=True, check=False)
    line = next(line for line in proc.stderr.splitlines() if line.startswith("MODULES "))
    return set(line.split()[1:]), proc.stdout


def test_root_help_imports_neither_typer_nor_a_command() -> None:
    modules, stdout = _imported_by("--help")
    assert "check-lock" in stdout
    assert "--install-completion" in stdout
    assert not {m for m in modules if m == "typer" or m.startswith("typer.")}
    assert not {m for m in modules if m.endswith(("_command", "_commands"))}


def test_a_command_imports_only_its_own_module() -> None:
    modules, stdout = _imported_by("compat", "cuda", "12.4")
    assert "12.4" in stdout
    assert "envcheck.cli.compat_command" in modules
    for other in ("envcheck.cli.image_command", "envcheck.cli.doctor_command",
                  "envcheck.cli.parity_commands", "docker"):
        assert other not in modules


def test_usage_errors_are_one_line_with_the_way_out(envcheck_cli: CliRunner) -> None:
    unknown = envcheck_cli("lok")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [
        "envcheck: error: No such command 'lok'. Did you mean 'lock'? See `envcheck --help`."]
    option = envcheck_cli("lock", "--no-such-option")
    assert option.returncode == 2
    assert option.stderr.strip().splitlines() == [
        "envcheck: error: No such option: --no-such-option. See `envcheck lock --help`."]
    missing = envcheck_cli("check-lock")
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "LOCKFILE" in missing.stderr


def test_no_arguments_shows_help_as_a_usage_mistake(envcheck_cli: CliRunner) -> None:
    root = envcheck_cli()
    assert root.returncode == 2
    assert "Commands:" in root.stderr
    group = envcheck_cli("image")
    assert group.returncode == 2
    assert "pin-base" in group.stderr + group.stdout


def test_shell_completion_script_and_answers(envcheck_cli: CliRunner) -> None:
    script = envcheck_cli("--show-completion", "bash")
    assert script.returncode == 0, script.stderr
    assert "_ENVCHECK_COMPLETE" in script.stdout
    # What bash asks when the user presses tab after `envcheck lo`.
    answer = envcheck_cli(env={"_ENVCHECK_COMPLETE": "complete_bash",
                               "COMP_WORDS": "envcheck lo", "COMP_CWORD": "1"})
    assert answer.returncode == 0, answer.stderr
    assert "lock" in answer.stdout.split()
    options = envcheck_cli(env={"_ENVCHECK_COMPLETE": "complete_bash",
                                "COMP_WORDS": "envcheck lock --ch", "COMP_CWORD": "2"})
    assert "--check" in options.stdout.split()
