"""The root command group: lists commands from the static table, imports one only to run it.

Typer normally builds a click command for every registered function before parsing anything,
which means importing every command module (rich, the services, the adapters) on every call.
This group knows the names and summaries from envcheck/cli/command_table.py and imports a
command's module (which registers it on the shared Typer app) only when that command is
resolved: to run it, to show its --help, or to complete its options.

typer vendors click (as typer._click): its Command and Context are the ones typer builds.
"""

from __future__ import annotations

import importlib
from difflib import get_close_matches

from typer import main as typer_main
from typer._click import Command, Context, HelpFormatter
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from envcheck.cli.command_table import BY_NAME, COMMANDS, root_help


def command_for(name: str) -> Command | None:
    """The click command `name` of the shared app, its module imported on demand."""
    entry = BY_NAME.get(name)
    if entry is None:
        return None
    importlib.import_module(entry[1])
    from envcheck.cli.app import app

    for command_info in app.registered_commands:
        callback_name = command_info.callback.__name__ if command_info.callback else ""
        if (command_info.name or typer_main.get_command_name(callback_name)) == name:
            return typer_main.get_command_from_info(
                command_info, pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode)
    for group_info in app.registered_groups:
        if group_info.name == name:
            return typer_main.get_group_from_info(
                group_info, pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode, suggest_commands=True)
    return None


class LazyGroup(TyperGroup):
    """`envcheck`'s own group (Typer(cls=LazyGroup)); subgroups stay plain Typer groups."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [name for name, _module, _summary in COMMANDS]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        return command_for(cmd_name)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        # The same text as the fast path in envcheck/cli/main.py, so `envcheck --debug --help`
        # and `envcheck --help` agree and neither imports a command.
        formatter.write(root_help())

    def resolve_command(self, ctx: Context, args: list[str]
                        ) -> tuple[str | None, Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as e:
            # typer suggests from the commands already built, which here is none of them.
            matches = get_close_matches(args[0], list(BY_NAME)) if args else []
            if matches and "Did you mean" not in e.message:
                suggestions = ", ".join(repr(match) for match in matches)
                e.message = f"{e.message.rstrip('.')}. Did you mean {suggestions}?"
            raise
