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


def _at_least(value: str | None) -> str:
    return f"≥ {value}" if value else "none listed"


def _minimums(own: dict[str, Any]) -> str:
    return f"{_at_least(own['linux'])} (Linux), {_at_least(own['windows'])} (Windows)"


def _cuda_text(d: dict[str, Any]) -> str:
    own, floor = d["min_driver"], d["minor_compat_min_driver"]
    release = f" ({d['release']})" if d["release"] else ""
    lines = [f"{d['label']}{release} needs driver {_minimums(own)}; with minor-version "
             f"compatibility {_minimums(floor)}."]
    if d["updates_differ"]:
        lines.append(f"Updates of CUDA {d['cuda']} need their own minimums:")
        lines += [f"  {row['release']} ({row['label']}): {_minimums(row['min_driver'])}"
                  for row in d["updates"] if row["label"] != d["label"]]
    targets = d["nvcc_targets"]
    if targets:
        dropped = f"; drops {' '.join(targets['dropped'])}" if targets["dropped"] else ""
        lines.append(f"nvcc {d['cuda']} compiles for {targets['lowest']} to "
                     f"{targets['highest']}{dropped}.")
    else:
        lines.append(f"nvcc {d['cuda']}'s targets: not in envcheck's table.")
    return "\n".join(lines)


@compat_app.command("cuda")
def compat_cuda(version: str, json_output: JsonFlag = False) -> None:
    """The driver a CUDA release needs (12.4, an update such as 12.2.2, or cu124)."""
    from envcheck.services.compat import compat_cuda as query

    _show(query(version), json_output, _cuda_text)


@compat_app.command("driver")
def compat_driver(version: str, json_output: JsonFlag = False) -> None:
    """The newest CUDA a driver runs, and the torch builds it can run."""
    from envcheck.services.compat import compat_driver as query

    def describe(d: dict[str, Any]) -> str:
        newest = d["newest_build"]
        build = (f"torch {newest['torch']}+{newest['variant']}" if newest else
                 "none in envcheck's knowledge")
        cuda = f"CUDA ≤ {d['newest_cuda']}" if d["newest_cuda"] else "no CUDA release in the table"
        toolkit = d["newest_toolkit"]
        if toolkit and d["newest_cuda"]:
            cuda += f" (up to {toolkit['label']}, {toolkit['release']})"
        return (f"Driver {d['driver']} runs {cuda} (and older majors' minor-compatible "
                f"builds). Newest torch build it runs: {build}. All it runs:\n"
                f"{_variants_text(d['torch'])}")

    _show(query(version), json_output, describe)


_COVER_TEXT = {
    "has-code": "code for it",
    "ptx-only": "PTX only (JIT)",
    "no-code": "no code for it",
    "cannot-have-code": "cannot have code for it (beyond its CUDA toolkit)",
    "unknown": "unknown (arch list not recorded)",
}


@compat_app.command("gpu")
def compat_gpu(name: str, json_output: JsonFlag = False) -> None:
    """A GPU's compute capability and, per torch release, what each CUDA build has for it."""
    from envcheck.services.compat import compat_gpu as query

    def describe(d: dict[str, Any]) -> str:
        rows = "\n".join(
            f"  torch {row['torch']}: " + "; ".join(
                f"{v['variant']} {_COVER_TEXT[v['status']]}" for v in row["variants"])
            for row in d["torch"])
        memory = f", {d['memory_gib']:g} GiB" if d["memory_gib"] else ""
        return (f"{d['name']}: compute capability {d['compute_capability']} "
                f"({d['architecture']}{memory}). torch builds:\n{rows}")

    _show(query(name), json_output, describe)


def _arch_text(entry: dict[str, Any]) -> str:
    if entry["arch_list"] is not None:
        return f"{' '.join(entry['arch_list']) or 'none'} ({entry['status']})"
    if entry["status"] == "bounded":
        return f"not recorded; at most {entry['at_most']} (bounded by its CUDA toolkit)"
    return "not recorded"


@compat_app.command("torch")
def compat_torch(version: str, json_output: JsonFlag = False) -> None:
    """A torch release's CUDA variants, Python versions, companions and arch lists."""
    from envcheck.services.compat import compat_torch as query

    def describe(d: dict[str, Any]) -> str:
        archs = "\n".join(
            f"  {name}: {_arch_text(entry)}; cuDNN {d['cudnn'][name] or 'unknown'}, "
            f"NCCL {d['nccl'][name] or 'unknown'}" for name, entry in d["arch_list"].items())
        vision = d["torchvision"] or "unknown (none on PyPI pins this torch)"
        audio = d["torchaudio"] or "unknown (none on PyPI pins this torch)"
        return (f"torch {d['torch']}: variants {', '.join(d['cuda_variants'])} (PyPI default "
                f"{d['pypi_default']}); Python {', '.join(d['python'])}; torchvision "
                f"{vision}, torchaudio {audio}\n{archs}")

    _show(query(version), json_output, describe)
