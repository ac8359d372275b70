"""Every top-level command: its name, the module that defines it, and its one-line summary.

`envcheck --help` is answered from this table alone, without importing typer or any command
module (issue 14: help must answer in under 100 ms; typer and the command modules cost about
150 ms). The lazy group in envcheck/cli/lazy_group.py imports a command's module only when that
command runs. tests/unit/test_command_table.py checks the table against the commands the
modules really register, so a command added without a row here fails the tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class CommandEntry:
    name: str
    module: str
    """The module whose import registers the command on envcheck.cli.app.app."""
    summary: str
    """The start of the command's own help text, shown by `envcheck --help`."""


COMMANDS: tuple[CommandEntry, ...] = (
    CommandEntry(name="inspect", module="envcheck.cli.inspect_command",
                 summary="Describe this machine: driver, GPUs, CUDA toolkits and libraries, "
                         "Python, torch."),
    CommandEntry(name="doctor", module="envcheck.cli.doctor_command",
                 summary="Diagnose this machine (or a saved Snapshot, or a pasted report)"),
    CommandEntry(name="compat", module="envcheck.cli.compat_command",
                 summary="Query envcheck's compatibility knowledge"),
    CommandEntry(name="fit", module="envcheck.cli.fit_command",
                 summary="Estimate a run's GPU memory"),
    CommandEntry(name="guard", module="envcheck.cli.guard_command",
                 summary="Run COMMAND and watch the GPUs"),
    CommandEntry(name="target", module="envcheck.cli.project_commands",
                 summary="What to build: [tool.envcheck.targets] in pyproject.toml."),
    CommandEntry(name="profile", module="envcheck.cli.project_commands",
                 summary="The machines targets must run on: [tool.envcheck.profiles]"),
    CommandEntry(name="lock", module="envcheck.cli.lock_command",
                 summary="Resolve each target to lockfiles/<target>.txt"),
    CommandEntry(name="check-lock", module="envcheck.cli.lock_command",
                 summary="Would this lock run on those machines?"),
    CommandEntry(name="verify", module="envcheck.cli.verify_command",
                 summary="Compare the installed environment to a lockfile"),
    CommandEntry(name="dockerfile", module="envcheck.cli.image_command",
                 summary="Write images/TARGET/Dockerfile"),
    CommandEntry(name="image", module="envcheck.cli.image_command",
                 summary="Build training images from locks, and check them without running "
                         "them."),
    CommandEntry(name="fingerprint", module="envcheck.cli.parity_commands",
                 summary="Record the environment and a fixed numerical behaviour suite"),
    CommandEntry(name="compare", module="envcheck.cli.parity_commands",
                 summary="Compare two fingerprints section by section"),
    CommandEntry(name="promote", module="envcheck.cli.parity_commands",
                 summary="Gate IMAGE for the remote host"),
    CommandEntry(name="matrix", module="envcheck.cli.matrix_command",
                 summary="Plan CI across GPUs"),
    CommandEntry(name="report", module="envcheck.cli.report_command",
                 summary="Judge each target's fingerprints against its reference runner's"),
)

BY_NAME: dict[str, CommandEntry] = {entry.name: entry for entry in COMMANDS}

APP_HELP = ("Will this training job run, here and there, the same way? Inspect this machine's "
            "NVIDIA driver, GPUs, CUDA stack, Python and torch.")

# The root's options, as the Typer callback in envcheck/cli/app.py declares them (the test
# compares the two).
ROOT_OPTIONS: tuple[tuple[str, str], ...] = (
    ("--debug", "Show tracebacks for errors."),
    ("--version", "Print the version and exit."),
    ("--install-completion", "Install completion for the current shell."),
    ("--show-completion", "Show completion for the current shell, to copy it or customize "
                          "the installation."),
    ("--help", "Show this message and exit."),
)


def root_help() -> str:
    """The text of `envcheck --help`: usage, what envcheck does, options, commands."""
    lines = ["Usage: envcheck [OPTIONS] COMMAND [ARGS]...", "", f"  {APP_HELP}", "",
             "Options:"]
    option_width = max(len(flag) for flag, _ in ROOT_OPTIONS)
    lines += [f"  {flag:<{option_width}}  {text}" for flag, text in ROOT_OPTIONS]
    lines += ["", "Commands:"]
    name_width = max(len(entry.name) for entry in COMMANDS)
    lines += [f"  {entry.name:<{name_width}}  {entry.summary}" for entry in COMMANDS]
    lines += ["", "Run `envcheck COMMAND --help` for a command's options."]
    return "\n".join(lines) + "\n"
