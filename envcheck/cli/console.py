"""The rich Console every command prints its result through.

On a terminal rich wraps at the terminal's width, which is what people read. Anywhere else (a
pipe, a file, a CI log) rich would wrap at 80 columns and split a fix command in two, its
`--index-url` on one line and the URL on the next (issue 14), so there lines are never
wrapped: each stays whole and copyable. Frames (panels, tables) keep rich's width.
"""

from __future__ import annotations

from rich.console import Console


def output_console(*, stderr: bool = False, highlight: bool = False) -> Console:
    console = Console(stderr=stderr, highlight=highlight)
    if not console.is_terminal:
        console.soft_wrap = True
    return console
