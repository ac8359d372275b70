"""The readers' fast paths (issue 11: a 5 MB paste in under a second) give the answer of the
search they stand for, on the recorded reports' lines and on generated text: substring tests
on the lower-cased line, checks that a digit is there, patterns split in parts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envcheck.knowledge.remedies import Remedy, remedies
from envcheck.reports import package_mentions, prose_facts
from envcheck.reports import remedies as remedy_reader
from envcheck.reports.segments import (
    LINE_READERS,
    READ_WINDOW,
    WINDOW_AT,
    clean_lines,
    find_line_facts,
)
from envcheck.reports.word_filters import search_needing

REPORTS = Path(__file__).resolve().parents[1] / "data" / "reports"

# Letters the patterns look for, in both cases, digits, separators, and the letters a
# case-insensitive search also matches that lower() does not turn into ASCII.
_ALPHABET = st.sampled_from([*"rtxgeslaquodinfcATXGESLQUODINFC0123456789 .-_/:+\n",
                             "\u0130", "\u0131", "\u017f", "\u212a", "\u00e9", "\u663e"])
_TEXT = st.lists(st.one_of(_ALPHABET, st.sampled_from(
    ["rtx", "GTX", "Tesla", "quadro", "TITAN", "GeForce", "a100", "MX150", "3090", "T4"])),
    max_size=40).map("".join)


def _recorded_lines() -> list[str]:
    return sorted({line for path in REPORTS.glob("*/report.txt")
                   for line in path.read_text().split("\n")})


@pytest.fixture(scope="module")
def recorded_lines() -> list[str]:
    return _recorded_lines()


def test_the_gpu_hint_on_every_recorded_line(recorded_lines: list[str]) -> None:
    assert [line for line in recorded_lines if prose_facts._gpu_hint(line) != bool(
        prose_facts._GPU_HINT.search(line))] == []


@settings(max_examples=300)
@given(_TEXT)
def test_the_gpu_hint_on_generated_text(text: str) -> None:
    assert prose_facts._gpu_hint(text) == bool(prose_facts._GPU_HINT.search(text))


def test_the_names_first_letters_are_those_of_the_names() -> None:
    assert sorted(prose_facts._NAME_STARTS) == sorted(
        {name[0] for name in prose_facts._NAMES.split("|")})


def test_a_run_reader_reads_its_window_where_it_says_so() -> None:
    """segments.WINDOW_AT: where it holds, the reader's answer is that of the window alone
    (find_line_facts keeps it per window)."""
    readers = dict(LINE_READERS)
    for path in sorted(REPORTS.glob("*/report.txt")):
        lines, _ = clean_lines(path.read_text())
        for kind, within in WINDOW_AT.items():
            for index in range(len(lines)):
                if lines[index].strip() and within(lines, index):
                    window = lines[index:index + READ_WINDOW]
                    assert readers[kind](lines, index) == readers[kind](window, 0), (
                        path.parent.name, kind, index + 1)


def test_a_continued_docker_run_is_read_past_the_window() -> None:
    # tests/data/reports/tgi-1903-tgi14-no-max-input-tokens-flag (its reproduction command)
    lines = ["docker run --gpus all \\", "    --shm-size 1g \\",
             "    -e HUGGING_FACE_HUB_TOKEN=$token \\", "    -p $myport:80 \\",
             "    -v $volume:/data ghcr.io/huggingface/text-generation-inference:1.4 \\",
             "    --model-id $model"]
    assert not WINDOW_AT["build-output"](lines, 0)
    found = [s.facts for s in find_line_facts(lines + lines) if s.kind == "build-output"]
    assert [f.docker_run.shm_size if f and f.docker_run else None for f in found] == [
        "1g", "1g"]


# Each pattern searched through envcheck.reports.word_filters, with the texts it needs.
NEEDS = {
    "_REQUIRED_BEFORE": (prose_facts._REQUIRED_BEFORE, prose_facts._REQUIRED_BEFORE_NEEDS),
    "_TOOLKIT_WORDS": (prose_facts._TOOLKIT_WORDS, prose_facts._TOOLKIT_NEEDS),
    "_TORCH_WORDS": (prose_facts._TORCH_WORDS, prose_facts._TORCH_NEEDS),
    "_DRIVER_WORDS": (prose_facts._DRIVER_WORDS, prose_facts._DRIVER_NEEDS),
    "_NEGATED": (package_mentions._NEGATED, package_mentions._NEGATED_NEEDS),
    "_INSTALLED": (package_mentions._INSTALLED, ("installed",)),
}


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_every_match_on_a_recorded_line_holds_a_needed_text(
        name: str, recorded_lines: list[str]) -> None:
    pattern, words = NEEDS[name]
    assert all(word == word.lower() for word in words)
    for line in recorded_lines:
        for match in pattern.finditer(line):
            assert any(word in match.group(0).lower() for word in words), (name, line)
        assert bool(search_needing(pattern, words, line)) == bool(pattern.search(line))


_PHRASES = st.sampled_from(sorted({word for _, words in NEEDS.values() for word in words}
                                  | {"Torch", "NOT", "Driver", "NVCC", "Required", ">", "="}))


@settings(max_examples=200)
@given(st.lists(st.one_of(_ALPHABET, _PHRASES), max_size=30).map("".join),
       st.sampled_from(sorted(NEEDS)))
def test_a_search_needing_its_texts_finds_what_the_search_finds(text: str, name: str) -> None:
    pattern, words = NEEDS[name]
    assert bool(search_needing(pattern, words, text)) == bool(pattern.search(text))


@settings(max_examples=300)
@given(st.text(alphabet=" :\t=-_*`'\"|()[]<>~,versionisdriver\uff1a\uff0c", max_size=24))
def test_a_gap_of_spaces_and_colons_is_plain(gap: str) -> None:
    words = [w for w in prose_facts._GAP_PUNCT.split(gap.lower()) if w]
    expected = "==" not in gap and gap.strip() != "=" and len(words) <= 2 and all(
        w in prose_facts._GAP_WORDS for w in words)
    assert prose_facts._plain_gap(gap) == expected


def _named(lines: list[str], pairs: list[tuple[int, Remedy]]) -> list[tuple[int, str]]:
    return [(index, remedy.id) for index, remedy in pairs
            if remedy.pattern.search(lines[index])]


@pytest.mark.parametrize("text", [
    *(path.read_text() for path in sorted(REPORTS.glob("*/report.txt"))
      if "nccl" in path.parent.name or "shm" in path.parent.name),
    # synthetic: a quoted remedy line, and a fence whose info string holds a remedy's word
    "> export NCCL_P2P_DISABLE=1 fixed it\n```restart\nRestarting all the containers\n```",
])
def test_remedy_candidates_from_the_paste_are_those_of_its_cleaned_lines(text: str) -> None:
    lines, _ = clean_lines(text)
    table = remedies()
    from_paste = remedy_reader._candidate_lines(lines, table, text, text.lower())
    from_lines = remedy_reader._candidate_lines(lines, table, "", "")  # the lines joined
    assert _named(lines, from_paste) == _named(lines, from_lines)


def test_the_gpu_names_read_from_the_lower_cased_line_are_the_same(
        recorded_lines: list[str]) -> None:
    # _gpus reads an ASCII line with the lower-case pattern; it must find what the
    # case-insensitive pattern finds, names and counts alike.
    from envcheck.reports.prose_facts import _GPU_CANDIDATE, _gpu_candidates, _known_gpu

    def found(matches: Iterable[re.Match[str]]) -> list[tuple[str | None, str | None]]:
        return [(_known_gpu(m.group("name").strip()), m.group("count") or m.group("count_after"))
                for m in matches]

    def read(line: str) -> list[tuple[str | None, str | None]]:
        return [(_known_gpu(name.strip()), count) for name, count in _gpu_candidates(line)]

    lines = [*recorded_lines, "GPU: 2x RTX3090", "Tesla V100-SXM2-32GB x8", "rtx 4090 Laptop",
             "NVIDIA GeForce GTX 1080 Ti.", "a100 and H100 80GB", "8 x A6000",
             # _gpus searches a line with its digits as 0 (once per such shape): the names
             # and counts still come from the line's own digits.
             "GPU: 4x RTX 3090", "GPU: 2x RTX 4090", "batch 1234 of 4090 (gpu 3090)"]
    for line in lines:
        assert read(line) == found(_GPU_CANDIDATE.finditer(line)), line


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["RTX", "rtx", "3090", "4090", "2x", "x8", "A100", "a6000",
                                 "GPU", "gpu", "1234", "12", " ", ": ", "Ti", "card", "v1"]),
                max_size=12))
def test_gpus_read_with_digits_as_zero_are_those_of_the_line(words: list[str]) -> None:
    # read_prose_gpus searches an ASCII line with its digits as 0 (once per such shape): what
    # it reads must be what the patterns find in the line itself.
    from envcheck.reports.prose_facts import (
        _GPU_CANDIDATE,
        _GPU_CUE,
        _GPU_HINT,
        _gpus,
        read_prose_gpus,
    )

    line = "".join(words)
    expected = None
    if _GPU_HINT.search(line):
        gpus, count = _gpus([(m.group("name").lower(), m.group("count") or m.group("count_after"))
                             for m in _GPU_CANDIDATE.finditer(line)],
                            _GPU_CUE.search(line) is not None)
        expected = (gpus, count) if gpus else None
    read = read_prose_gpus([line], 0)
    assert (None if read is None else (read[1].gpus, read[1].gpu_count)) == expected
