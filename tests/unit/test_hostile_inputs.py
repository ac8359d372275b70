"""Hostile input for every reader envcheck has: binary, invalid UTF-8, NUL bytes, ANSI
escapes, a 10 MB line, a million newlines, JSON nested past Python's recursion limit, XML
entity expansion and external entities. Each reader returns a value or raises an
EnvcheckError (a clear message, an exit code, no traceback): never anything else (issue 13's
fault trial; the counts are in docs/reliability.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from envcheck.errors import (
    EnvcheckError,
    FingerprintFormatError,
    ParseError,
    SnapshotFormatError,
)
from envcheck.fingerprint_io import fingerprint_from_json, fingerprint_to_json
from envcheck.fit_model import FitInputError, load_model
from envcheck.lockfile import LockfileError, parse_lockfile
from envcheck.parsers.ldconfig import parse_ldconfig_cache
from envcheck.parsers.nvcc_version import parse_nvcc_top, parse_nvcc_version
from envcheck.parsers.nvidia_smi_xml import parse_nvidia_smi_xml
from envcheck.parsers.os_release import parse_meminfo, parse_os_release
from envcheck.parsers.proc_driver_version import parse_proc_driver_version
from envcheck.project import ProjectError, parse_project
from envcheck.reports.build import snapshot_from_report
from envcheck.snapshot import snapshot_from_json, snapshot_to_json
from tests.report_fixtures import matrix_fingerprint
from tests.snapshots import healthy

DATA = Path(__file__).resolve().parents[1] / "data"
LOCKFILE = DATA / "golden" / "lockfiles" / "cloud-torch-2.14.1-cu130.txt"
PYPROJECT_HEAD = '[project]\nname = "d"\nversion = "0"\n'

READERS: dict[str, Callable[[str], object]] = {
    "nvidia-smi -q -x": parse_nvidia_smi_xml,
    "nvcc --version": parse_nvcc_version,
    "nvcc --version (top line)": parse_nvcc_top,
    "ldconfig -p": parse_ldconfig_cache,
    "/etc/os-release": parse_os_release,
    "/proc/meminfo": parse_meminfo,
    "/proc/driver/nvidia/version": parse_proc_driver_version,
    "--snapshot": lambda text: snapshot_from_json(text, origin="s.json"),
    "compare": lambda text: fingerprint_from_json(text, origin="f.json"),
    "lockfile": lambda text: parse_lockfile(text, origin="l.txt"),
    "[tool.envcheck]": lambda text: parse_project(text, root=Path("/p")),
    "--from-report": lambda text: snapshot_from_report(text, taken_at="t",
                                                       envcheck_version="0"),
}
# The report reader costs about 1.5 s per MB of text: the 10 MB line and the 50 MB report
# run against the CLI in tests/integration/test_faults_inputs.py instead.
SLOW_READERS = {"--from-report"}

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE nvidia_smi_log [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
              for i in range(1, 10))
    + "]><nvidia_smi_log><driver_version>&lol9;</driver_version></nvidia_smi_log>")
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE nvidia_smi_log [<!ENTITY secret SYSTEM '
    '"file:///etc/passwd">]><nvidia_smi_log><driver_version>&secret;</driver_version>'
    "</nvidia_smi_log>")
PARAMETER_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE nvidia_smi_log [<!ENTITY % remote SYSTEM '
    '"http://127.0.0.1:9/evil.dtd"> %remote;]><nvidia_smi_log/>')


@cache
def hostile(name: str) -> str:
    """Built on first use: some are megabytes."""
    snapshot = snapshot_to_json(healthy())
    match name:
        case "empty":
            return ""
        case "binary":
            return bytes(range(256)).decode("latin-1") * 64
        case "invalid UTF-8 (surrogate-escaped)":
            return b"\xff\xfe\x80driver \xc3(".decode("utf-8", "surrogateescape") * 100
        case "invalid UTF-8 (replaced)":
            return b"\xff\xfe\x80driver \xc3(".decode("utf-8", "replace") * 100
        case "NUL bytes":
            return "\x00" * 4096
        case "ANSI escapes":
            return ("\x1b[31mNVIDIA-SMI 550.54.15\x1b[0m  Driver Version: \x1b[1m550.54.15"
                    "\x1b[0m  CUDA Version: \x1b[32m12.4\x1b[0m\x1b]0;title\x07\n") * 200
        case "one 10 MB line":
            return "Driver Version: " + "9" * (10 * 1024 * 1024)
        case "a million newlines":
            return "\n" * 1_000_000
        case "JSON nested 200,000 deep (arrays)":
            return "[" * 200_000 + "]" * 200_000
        case "JSON nested 200,000 deep (objects)":
            return '{"a":' * 200_000 + "1" + "}" * 200_000
        case "truncated snapshot JSON":
            return snapshot[: len(snapshot) // 2]
        case "XML entity expansion":
            return BILLION_LAUGHS
        case "XML external entity":
            return EXTERNAL_ENTITY
        case "XML parameter entity":
            return PARAMETER_ENTITY
        case "XML nested 100,000 deep":
            return "<nvidia_smi_log>" + "<gpu>" * 100_000 + "</gpu>" * 100_000 + "</nvidia_smi_log>"
        case "TOML with a wrong table type":
            return PYPROJECT_HEAD + "[tool.envcheck]\ntargets = 3\n"
    raise AssertionError(name)


HOSTILE = ("empty", "binary", "invalid UTF-8 (surrogate-escaped)", "invalid UTF-8 (replaced)",
           "NUL bytes", "ANSI escapes", "one 10 MB line", "a million newlines",
           "JSON nested 200,000 deep (arrays)", "JSON nested 200,000 deep (objects)",
           "truncated snapshot JSON", "XML entity expansion", "XML external entity",
           "XML parameter entity", "XML nested 100,000 deep", "TOML with a wrong table type")


def _read(reader: str, text: str) -> str | None:
    """None when the reader took it; else the message the user would see."""
    try:
        READERS[reader](text)
    except EnvcheckError as e:
        return e.message
    return None


# The slow readers meet the largest inputs through the CLI instead, in
# tests/integration/test_faults_inputs.py: left out here, not skipped.
_PAIRS = [(reader, name) for reader in sorted(READERS) for name in HOSTILE
          if not (reader in SLOW_READERS and name in {"one 10 MB line", "a million newlines"})]


@pytest.mark.parametrize(("reader", "name"), _PAIRS)
def test_a_hostile_input_is_a_value_or_an_envcheck_error(reader: str, name: str) -> None:
    message = _read(reader, hostile(name))
    # What the user sees instead of a traceback: a message that says something.
    assert message is None or message.strip()


@pytest.mark.parametrize("name", ["XML entity expansion", "XML external entity"])
def test_nvidia_smi_xml_with_a_dtd_is_refused_without_expanding_it(name: str) -> None:
    # The DOCTYPE is dropped before parsing, so its entities are never defined: refused as
    # undefined, never expanded, never fetched.
    with pytest.raises(ParseError, match=r"undefined entity") as raised:
        parse_nvidia_smi_xml(hostile(name))
    assert "root:" not in raised.value.message  # /etc/passwd never read into the message


def test_nvidia_smi_xml_parameter_entities_are_never_fetched() -> None:
    # The remote DTD at 127.0.0.1:9 would refuse; its declarations never count either way.
    assert parse_nvidia_smi_xml(hostile("XML parameter entity")).gpus == ()


@pytest.mark.parametrize(("reader", "error"), [
    (lambda text: snapshot_from_json(text, origin="s.json"), SnapshotFormatError),
    (lambda text: fingerprint_from_json(text, origin="f.json"), FingerprintFormatError),
])
@pytest.mark.parametrize("name", ["JSON nested 200,000 deep (arrays)",
                                  "JSON nested 200,000 deep (objects)"])
def test_json_nested_past_the_recursion_limit_names_the_file(
        reader: Callable[[str], object], error: type[EnvcheckError], name: str) -> None:
    with pytest.raises(error, match=r"\.json nests JSON arrays or objects deeper than Python"):
        reader(hostile(name))


def test_a_truncated_fingerprint_says_so() -> None:
    text = fingerprint_to_json(matrix_fingerprint("cu128", "gpu-4090"))
    for cut in range(1, len(text), max(1, len(text) // 200)):
        with pytest.raises(FingerprintFormatError, match=r"f\.json"):
            fingerprint_from_json(text[:cut], origin="f.json")


@pytest.mark.parametrize("content", [
    "[" * 200_000, '{"hidden_size": ' * 100_000, "\x00\x01binary", "[1, 2]", '"a string"',
    '{"hidden_size": "4096", "num_hidden_layers": 32}', '{"hidden_size": 1e400}',
    '{"hidden_size": -4096, "num_hidden_layers": 32, "num_attention_heads": 32}',
])
def test_fit_config_json_that_is_hostile_is_a_fit_input_error(tmp_path: Path,
                                                               content: str) -> None:
    config = tmp_path / "config.json"
    config.write_text(content)
    with pytest.raises(FitInputError, match=r"config\.json"):
        load_model(str(config), cwd=tmp_path)


def test_fit_config_json_in_invalid_utf8_is_a_fit_input_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_bytes(b'{"hidden_size": "\xff\xfe"}')
    with pytest.raises(FitInputError, match="cannot read"):
        load_model(str(tmp_path), cwd=tmp_path)


@pytest.mark.parametrize(("table", "expected"), [
    ("[tool.envcheck]\ntargets = 3", r"tool\.envcheck\.targets"),
    ("[tool.envcheck.targets.t]\npython = 3.11", r"tool\.envcheck\.targets\.t\.python"),
    ("[tool.envcheck.targets.t]\npython = \"3.11\"\ncuda = [\"cu124\"]",
     r"tool\.envcheck\.targets\.t\.cuda"),
    ("[tool.envcheck.profiles.p]\ndriver = 550", r"tool\.envcheck\.profiles\.p\.driver"),
    ("[tool.envcheck.profiles.p]\ndriver = \"550.54.15\"\ngpus = \"4090\"",
     r"tool\.envcheck\.profiles\.p\.gpus"),
    ("[tool.envcheck.indexes.i]\nurl = [\"https://x\"]", r"tool\.envcheck\.indexes\.i\.url"),
    ("[tool.envcheck.indexes.i]\nurl = \"/w\"\nformat = true",
     r"tool\.envcheck\.indexes\.i\.format"),
    ("[tool.envcheck]\nrunners = [\"gpu\"]", r"tool\.envcheck\.runners"),
    ("[tool.envcheck]\nrequire = { target = \"t\" }", r"tool\.envcheck\.require"),
])
def test_wrong_types_in_tool_envcheck_name_the_key(table: str, expected: str) -> None:
    with pytest.raises(ProjectError, match=expected):
        parse_project(PYPROJECT_HEAD + table + "\n", root=Path("/p"))


def _lock_lines() -> list[str]:
    return LOCKFILE.read_text().splitlines()


def _first_hash_line(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if "--hash=" in line)


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda h: h.replace("sha256:", "sha256:zz"), r"line 11: .* is not --hash=sha256:<64 hex"),
    (lambda h: h.replace("sha256:", "md5:"), r"line 11: .* is not --hash=sha256:<64 hex"),
    (lambda h: "    --hash=sha256:abc \\", r"line 11: .* is not --hash=sha256:<64 hex"),
])
def test_a_hand_edited_bad_hash_names_its_line(edit: Callable[[str], str],
                                               expected: str) -> None:
    lines = _lock_lines()
    i = _first_hash_line(lines)
    lines[i] = edit(lines[i])
    with pytest.raises(LockfileError, match=expected):
        parse_lockfile("\n".join(lines) + "\n", origin="l.txt")


def test_a_package_without_hashes_or_pinned_twice_is_refused() -> None:
    lines = _lock_lines()
    first = _first_hash_line(lines) - 1
    last = first
    while lines[last + 1].startswith(" "):
        last += 1
    unhashed = [*lines[:first], lines[first].rstrip(" \\"), *lines[last + 1:]]
    with pytest.raises(LockfileError, match="has no --hash lines"):
        parse_lockfile("\n".join(unhashed) + "\n", origin="l.txt")
    twice = [*lines[: last + 1], *lines[first: last + 1], *lines[last + 1:]]
    with pytest.raises(LockfileError, match=r"is pinned twice \(first on line"):
        parse_lockfile("\n".join(twice) + "\n", origin="l.txt")


def test_a_duplicated_hash_line_is_accepted_as_pip_accepts_it() -> None:
    """The same hash twice allows nothing more: not an error."""
    lines = _lock_lines()
    i = _first_hash_line(lines)
    doubled = [*lines[: i + 1], lines[i], *lines[i + 1:]]
    lock = parse_lockfile("\n".join(doubled) + "\n", origin="l.txt")
    original = parse_lockfile(LOCKFILE.read_text(), origin="l.txt")
    assert {p.name for p in lock.packages} == {p.name for p in original.packages}


def test_every_truncation_of_a_lockfile_is_a_value_or_a_lockfile_error() -> None:
    text = LOCKFILE.read_text()
    unnamed = []
    for cut in range(0, len(text), max(1, len(text) // 300)):
        try:
            parse_lockfile(text[:cut], origin="l.txt")
        except LockfileError as e:
            if "l.txt" not in e.message:
                unnamed.append(e.message)
    assert unnamed == []


def test_snapshot_values_of_every_wrong_type_are_format_errors() -> None:
    """Every leaf of a real snapshot replaced by values of other types: read, or refused
    with SnapshotFormatError; the rules never see a half-typed record."""
    from envcheck.rules import run_rules

    document = json.loads(snapshot_to_json(healthy()))
    values: list[object] = [None, "x", -1, 10**30, 1.5, True, [], {"a": 1}]
    tried = 0
    for path in _leaf_paths(document):
        for value in values:
            edited = json.loads(json.dumps(document))
            _set(edited, path, value)
            tried += 1
            try:
                snapshot = snapshot_from_json(json.dumps(edited), origin="s.json")
            except SnapshotFormatError:
                continue
            run_rules(snapshot)
    assert tried > 500


def _leaf_paths(document: object, path: tuple[str | int, ...] = ()
                ) -> list[tuple[str | int, ...]]:
    if isinstance(document, dict):
        return [p for k, v in document.items() if (path, k) != ((), "schema")
                for p in _leaf_paths(v, (*path, k))]
    if isinstance(document, list):
        return [p for i, v in enumerate(document) for p in _leaf_paths(v, (*path, i))] or [path]
    return [path]


def _set(document: object, path: tuple[str | int, ...], value: object) -> None:
    for key in path[:-1]:
        document = document[key]  # type: ignore[index]
    document[path[-1]] = value  # type: ignore[index]


def test_a_tools_last_words_reach_reports_without_escapes_or_endless_lines() -> None:
    from envcheck.adapters.runner import CommandResult

    said = ("\x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07 nul\x00 \x9b"
            + "y" * 5000 + "\n" + "\x1b[2J\x1b[Hcleared")
    described = CommandResult(argv=("nvidia-smi",), returncode=3, stdout="",
                              stderr=said).describe_failure()
    assert described.startswith("nvidia-smi exited 3: red  bell nul ")
    assert described.endswith("… | cleared")
    assert not [c for c in described if ord(c) < 32 or 127 <= ord(c) < 160]
    assert len(described) < 300


def test_a_binary_file_given_to_compare_is_called_binary_not_truncated() -> None:
    with pytest.raises(FingerprintFormatError, match=r"f\.json is not JSON \(the file looks "
                       r"binary\)"):
        fingerprint_from_json(bytes(range(256)).decode("utf-8", "replace"), origin="f.json")
