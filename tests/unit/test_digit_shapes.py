"""Digit shapes (envcheck.reports.digit_shapes): the patterns worked out once per shape tell
no digit from another, so a line and its shape get the same answer."""

from __future__ import annotations

import re
from pathlib import Path

from envcheck.reports import prose_facts, segments
from envcheck.reports.digit_shapes import ascii_digit_shape, digit_shape

REPORTS = Path(__file__).resolve().parents[1] / "data" / "reports"


def test_a_shape_maps_each_ascii_digit_to_0_and_keeps_the_rest() -> None:
    assert digit_shape("step 1239 loss=0.4567 [rank7]") == "step 0000 loss=0.0000 [rank0]"
    assert ascii_digit_shape("GPU: 2x RTX 3090") == "GPU: 0x RTX 0000"
    assert digit_shape("显卡 3090") is None  # not ASCII: read as it is


def test_the_patterns_read_by_shape_hold_no_digit_of_their_own() -> None:
    # A digit of its own (say "sm_90") would tell 9 from 0, and the shape would mislead.
    for pattern in (segments._ANCHOR, prose_facts._GPU_HINT, prose_facts._GPU_HINT_NUMBER,
                    prose_facts._GPU_CANDIDATE_LOWER, prose_facts._GPU_CUE):
        source = re.sub(r"\\u[0-9a-fA-F]{4}|\{\d+(?:,\d*)?\}", "", pattern.pattern)
        assert not re.search(r"(?<!\\)\d", source), pattern.pattern
    assert not any(re.search(r"\d", word) for word in prose_facts._GPU_HINT_WORDS)


def test_block_anchors_of_every_recorded_line_are_those_of_its_shape() -> None:
    for path in sorted(REPORTS.glob("*/report.txt")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            shape = digit_shape(line)
            if shape is not None:
                assert segments._ANCHOR.findall(line) == segments._ANCHOR.findall(shape), line
