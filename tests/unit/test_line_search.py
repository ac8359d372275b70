"""envcheck.reports.line_search: the lines that hold a word, found over the joined text."""

from __future__ import annotations

from envcheck.reports.line_search import LineSearch, lines_holding


def test_each_line_holding_a_word_once_in_order() -> None:
    lines = ["pip install vllm==0.7.3", "", "VLLM needs torch", "nothing", "vllm vllm requires"]
    assert lines_holding(lines, ("vllm", "requir")) == [0, 2, 4]
    assert LineSearch(lines).holding(("absent",)) == []


def test_a_lowercase_that_changes_the_length_is_searched_line_by_line() -> None:
    # "İ".lower() is two code points: the joined offsets would not match the lines
    lines = ["İstanbul", "needs transformers>=4.47.1"]
    assert lines_holding(lines, ("need",)) == [1]
    assert lines_holding([], ("need",)) == []
