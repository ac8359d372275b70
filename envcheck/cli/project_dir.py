"""Which project a command works on: `--project DIR`, else the one found upward from here."""

from __future__ import annotations

from pathlib import Path

PROJECT_HELP = ("The project folder (its pyproject.toml); default: found upward from the "
                "current folder, like git and uv do.")


def project_root(option: Path | None) -> Path:
    """--project DIR exactly as named; without it, the project the current folder is in
    (issue 14: commands run from a subfolder found nothing and advised a nested project)."""
    from envcheck.project import find_project_root

    if option is not None:
        return option.resolve()
    return find_project_root(Path.cwd())
