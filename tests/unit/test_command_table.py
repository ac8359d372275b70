"""The static command table against the commands the modules really register."""

from __future__ import annotations

import importlib

import pytest
from typer import main as typer_main
from typer._click import Context

from envcheck.cli.app import app
from envcheck.cli.command_table import COMMANDS, ROOT_OPTIONS, root_help
from envcheck.cli.lazy_group import LazyGroup, command_for


def _registered() -> dict[str, str]:
    """Every top-level command name -> the help typer would show, all modules imported."""
    for _name, module, _summary in COMMANDS:
        importlib.import_module(module)
    names: dict[str, str] = {}
    for info in app.registered_commands:
        assert info.callback is not None
        name = info.name or typer_main.get_command_name(info.callback.__name__)
        names[name] = info.help or info.callback.__doc__ or ""
    for group in app.registered_groups:
        assert group.name is not None
        assert group.typer_instance is not None
        names[group.name] = str(group.typer_instance.info.help)
    return names


def test_the_table_names_every_registered_command_once() -> None:
    assert sorted(name for name, _module, _summary in COMMANDS) == sorted(_registered())


@pytest.mark.parametrize(("name", "module", "summary"), COMMANDS, ids=[e[0] for e in COMMANDS])
def test_each_summary_starts_the_commands_own_help(name: str, module: str, summary: str
                                                   ) -> None:
    help_text = " ".join(_registered()[name].split())
    assert help_text.startswith(summary), (name, help_text)


@pytest.mark.parametrize(("name", "module", "summary"), COMMANDS, ids=[e[0] for e in COMMANDS])
def test_each_command_resolves_from_its_module(name: str, module: str, summary: str) -> None:
    command = command_for(name)
    assert command is not None
    assert command.name == name
    assert summary
    if command.callback is not None and not hasattr(command, "commands"):
        assert command.callback.__module__ in (module, "typer.main")


def test_root_options_are_the_callbacks_own() -> None:
    root = typer_main.get_command(app)
    assert isinstance(root, LazyGroup)
    real = {}
    for param in root.params:
        for flag in param.opts:
            if flag.startswith("--"):
                real[flag] = getattr(param, "help", None) or ""
    real["--help"] = "Show this message and exit."
    assert dict(ROOT_OPTIONS) == real


def test_root_help_lists_commands_in_table_order_and_unknown_is_none() -> None:
    root = typer_main.get_command(app)
    assert isinstance(root, LazyGroup)
    context = Context(root, info_name="envcheck")
    assert root.list_commands(context) == [name for name, _module, _summary in COMMANDS]
    assert root.get_command(context, "no-such-command") is None
    assert root.get_help(context).strip() == root_help().strip()
    lines = root_help().splitlines()
    positions = [next(i for i, line in enumerate(lines) if line.startswith(f"  {name} "))
                 for name, _module, _summary in COMMANDS]
    assert positions == sorted(positions)
