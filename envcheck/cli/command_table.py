"""Every top-level command: its name, the module that defines it, and its one-line summary.

`envcheck --help` is answered from this table alone, without importing typer or any command
module (issue 14: help must answer in under 100 ms; typer and the command modules cost about
150 ms). The lazy group in envcheck/cli/lazy_group.py imports a command's module only when that
command runs. tests/unit/test_command_table.py checks the table against the commands the
modules really register, so a command added without a row here fails the tests.
"""

from __future__ import annotations

# (name, module, summary): the command, the module whose import registers it on
# envcheck.cli.app.app, and the start of its own help text. Plain tuples, not a dataclass:
# `dataclasses` imports `inspect`, about 8 ms of the 100 ms budget of every `envcheck --help`.
CommandEntry = tuple[str, str, str]

COMMANDS: tuple[CommandEntry, ...] = (
    ("inspect", "envcheck.cli.inspect_command",
     "Describe this machine: driver, GPUs, CUDA toolkits and libraries, "
     "Python, torch."),
    ("doctor", "envcheck.cli.doctor_command",
     "Diagnose this machine (or a saved Snapshot, or a pasted report)"),
    ("compat", "envcheck.cli.compat_command",
     "Query envcheck's compatibility knowledge"),
    ("fit", "envcheck.cli.fit_command",
     "Estimate a run's GPU memory"),
    ("guard", "envcheck.cli.guard_command",
     "Run COMMAND and watch the GPUs"),
    ("target", "envcheck.cli.project_commands",
     "What to build: [tool.envcheck.targets] in pyproject.toml."),
    ("profile", "envcheck.cli.project_commands",
     "The machines targets must run on: [tool.envcheck.profiles]"),
    ("lock", "envcheck.cli.lock_command",
     "Resolve each target to lockfiles/<target>.txt"),
    ("check-lock", "envcheck.cli.lock_command",
     "Would this lock run on those machines?"),
    ("verify", "envcheck.cli.verify_command",
     "Compare the installed environment to a lockfile"),
    ("dockerfile", "envcheck.cli.image_command",
     "Write images/TARGET/Dockerfile"),
    ("image", "envcheck.cli.image_command",
     "Build training images from locks, and check them without running "
     "them."),
    ("fingerprint", "envcheck.cli.parity_commands",
     "Record the environment and a fixed numerical behaviour suite"),
    ("compare", "envcheck.cli.parity_commands",
     "Compare two fingerprints section by section"),
    ("promote", "envcheck.cli.parity_commands",
     "Gate IMAGE for the remote host"),
    ("matrix", "envcheck.cli.matrix_command",
     "Plan CI across GPUs"),
    ("report", "envcheck.cli.report_command",
     "Judge each target's fingerprints against its reference runner's"),
)

BY_NAME: dict[str, CommandEntry] = {entry[0]: entry for entry in COMMANDS}

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
    name_width = max(len(name) for name, _module, _summary in COMMANDS)
    lines += [f"  {name:<{name_width}}  {summary}" for name, _module, summary in COMMANDS]
    lines += ["", "Run `envcheck COMMAND --help` for a command's options."]
    return "\n".join(lines) + "\n"
