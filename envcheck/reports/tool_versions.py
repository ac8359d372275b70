"""The version of a tool with its own CUDA kernels, as a report states it: an issue form's
"### Ollama version" field with the version on a later line, or prose and printed output such
as "I've updated ollama to v0.1.19" and "cuDF Version: 22.06.01".

The tools are the ones envcheck knows a GPU floor for (envcheck/knowledge/gpu_floors.toml):
their version decides which floor applies. A requirement ("vllm==0.7.3", "ollama>=0.5") is
what was asked for, not what runs, and is not read."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from envcheck.knowledge.gpu_floors import tool_names
from envcheck.snapshot import Package

# "0.7.0-rc0" is a pre-release of 0.7.0, not 0.7.0 itself.
_VERSION = (r"v?(?P<version>\d{1,3}\.\d{1,3}(?:\.\d{1,4}){0,2}(?:\.post\d+)?"
            r"(?:-?(?:rc|a|b|alpha|beta)\d{0,3})?)(?![\d.]*\d)")
# Words between the name and its version in prose ("updated ollama to v0.1.19",
# "ollama version is 0.5.11", "cuDF Version: 22.06.01"); no "=" or "<>": that is a pin.
_GAP = r"(?:[\s:\uff1a]+(?:to|version|ver|is|now|at)\b){0,3}[\s:\uff1a]*"
# The next lines an issue form's answer may take: blank lines and a code fence.
_FORM_LOOKAHEAD = 4


@dataclass(frozen=True, kw_only=True)
class StatedTool:
    package: Package
    line: int
    """1-based line of the version."""
    text: str


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    names = "|".join(sorted((re.escape(n).replace(r"\-", "[-_ ]?") for n in tool_names()),
                            key=len, reverse=True))
    prose = re.compile(r"(?<![\w./-])(?P<name>" + names + r")(?![\w-])" + _GAP + _VERSION,
                       re.IGNORECASE)
    heading = re.compile(r"^\s*#{1,6}\s*(?P<name>" + names + r")\s+version\s*$", re.IGNORECASE)
    answer = re.compile(r"^\s*" + _VERSION + r"\s*$")
    return prose, heading, answer


def _name(text: str) -> str:
    return re.sub(r"[-_ ]", "-", text.lower())


def _candidates(lines: Sequence[str]) -> list[int]:
    """The lines that name a tool, found in the whole text at once (as the segment readers'
    triggers are) so that a 5 MB paste is not run line by line through the regexes. The
    spellings searched are the name in lower, capitalised and upper case and the projects'
    own ("vLLM", "cuDF"): lowering 5 MB of text first would cost more than the search."""
    text = "\n".join(lines)
    positions: list[int] = []
    for word in _spellings():
        position = text.find(word)
        while position != -1:
            positions.append(position)
            position = text.find(word, position + len(word))
    found: list[int] = []
    line, counted = 0, 0
    for position in sorted(positions):  # line numbers by counting newlines between hits
        line += text.count("\n", counted, position)
        counted = position
        if not found or found[-1] != line:
            found.append(line)
    return found


_BRANDED = {"vllm": "vLLM", "cudf": "cuDF"}


@cache
def _spellings() -> frozenset[str]:
    # "cudf-cu12" is found through "cudf"; a tool name's first word finds every spelling.
    words = {re.split(r"[-_ ]", name)[0] for name in tool_names()}
    return frozenset(spelling for word in words for spelling in (
        word, word.capitalize(), word.upper(), _BRANDED.get(word, word)))


def stated_tools(lines: Sequence[str]) -> Iterator[StatedTool]:
    """Every tool version the lines state, in paste order."""
    prose, heading, answer = _patterns()
    for index in _candidates(lines):
        line = lines[index]
        if len(line) > 2_000:
            continue
        if form := heading.match(line):
            for offset in range(1, _FORM_LOOKAHEAD + 1):
                if index + offset >= len(lines):
                    break
                value = lines[index + offset]
                if match := answer.match(value):
                    yield StatedTool(package=Package(name=_name(form.group("name")),
                                                     version=match.group("version")),
                                     line=index + offset + 1, text=value)
                    break
                if value.strip():
                    break
            continue
        for match in prose.finditer(line):
            before = line[max(0, match.start() - 2):match.start()]
            after = line[match.end():match.end() + 2]
            if "=" in before or after[:1] in ("=", "<", ">"):
                continue
            yield StatedTool(package=Package(name=_name(match.group("name")),
                                             version=match.group("version")),
                             line=index + 1, text=line)
