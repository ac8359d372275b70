"""`envcheck compat`: query the compatibility knowledge."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from envcheck.cli.app import app

compat_app = typer.Typer(help="Query envcheck's compatibility knowledge (each with --json).",
                         no_args_is_help=True, rich_markup_mode=None)
app.add_typer(compat_app, name="compat")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _show(document: dict[str, Any], as_json: bool, describe: Callable[[dict[str, Any]], str]
          ) -> None:
    if as_json:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        typer.echo(describe(document))


def _variants_text(rows: list[dict[str, Any]]) -> str:
    return "\n".join(f"  torch {row['torch']}: {', '.join(row['variants']) or '-'}"
                     for row in rows)


@compat_app.command("cuda")
def compat_cuda(version: str, json_output: JsonFlag = False) -> None:
    """The driver a CUDA release needs (e.g. 12.4 or cu124)."""
    from envcheck.services.compat import compat_cuda as query

    _show(query(version), json_output, lambda d: (
        f"CUDA {d['cuda']} needs driver ≥ {d['min_driver']['linux']} (Linux), "
        f"≥ {d['min_driver']['windows']} (Windows); with minor-version compatibility "
        f"≥ {d['minor_compat_min_driver']['linux']} (Linux)."))


@compat_app.command("driver")
def compat_driver(version: str, json_output: JsonFlag = False) -> None:
    """The newest CUDA a driver runs, and the torch builds it can run."""
    from envcheck.services.compat import compat_driver as query

    _show(query(version), json_output, lambda d: (
        f"Driver {d['driver']} runs CUDA ≤ {d['newest_cuda']} (and older majors' minor-"
        f"compatible builds). torch builds it runs:\n{_variants_text(d['torch'])}"))


@compat_app.command("gpu")
def compat_gpu(name: str, json_output: JsonFlag = False) -> None:
    """A GPU's compute capability and the torch builds that include it."""
    from envcheck.services.compat import compat_gpu as query

    _show(query(name), json_output, lambda d: (
        f"{d['name']}: compute capability {d['compute_capability']} ({d['architecture']}). "
        f"torch builds with code for it:\n{_variants_text(d['torch'])}"))


@compat_app.command("torch")
def compat_torch(version: str, json_output: JsonFlag = False) -> None:
    """A torch release's CUDA variants, Python versions, companions and arch lists."""
    from envcheck.services.compat import compat_torch as query

    def describe(d: dict[str, Any]) -> str:
        archs = "\n".join(f"  {name}: {' '.join(arch)}" for name, arch in d["arch_list"].items())
        return (f"torch {d['torch']}: variants {', '.join(d['cuda_variants'])} (PyPI default "
                f"{d['pypi_default']}); Python {', '.join(d['python'])}; torchvision "
                f"{d['torchvision']}, torchaudio {d['torchaudio']}\n{archs}")

    _show(query(version), json_output, describe)
