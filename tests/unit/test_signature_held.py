"""match_error's presence test (signatures._Held): a text is held exactly when it is in the
paste, digits or not, so the signatures tried are the ones a substring test would try."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from envcheck.knowledge import signatures
from envcheck.knowledge.signatures import match_error

REPORTS = Path(__file__).resolve().parents[1] / "data" / "reports"


def _texts() -> set[str]:
    texts = {anchor for anchors in signatures._anchors() for anchor in anchors}
    texts |= {text for required in signatures._required() for alternatives in required
              for texts in alternatives for text in texts}
    return texts


def test_held_agrees_with_a_substring_test_on_every_recorded_report() -> None:
    texts = _texts()
    for folder in sorted(path for path in REPORTS.iterdir() if path.is_dir()):
        lowered = (folder / "report.txt").read_text(encoding="utf-8").lower()
        held = signatures._Held(lowered)
        assert {text for text in texts if held(text)} == {
            text for text in texts if text in lowered}, folder.name


def test_a_number_that_differs_only_in_the_mapped_digits_is_not_held() -> None:
    # A training log's lines (step numbers differ) and a signature's text with a number.
    steps = "".join(f"step {step}\n" for step in range(1, 200))
    held = signatures._Held(steps + "cuda 11.8\nlibcudart.so.11.0: cannot open\n")
    assert held._shapes is not None  # the lines' shapes are searched first
    assert held("libcudart.so.11.0")
    assert not held("libcudart.so.12.0")
    assert not held("cuda 12.1")
    assert held("step 1")
    assert held("step 199")
    assert not held("step 200")


@given(st.text(alphabet="ab019\n .", max_size=40), st.text(alphabet="ab019 .", max_size=6))
def test_held_is_the_substring_test(paste: str, text: str) -> None:
    assert signatures._Held(paste)(text) == (text in paste)


def test_a_log_of_distinct_numbered_lines_still_matches_its_error() -> None:
    lines = [f"step {step} loss={step * 0.001:.4f}" for step in range(2_000)]
    text = "\n".join([*lines, "RuntimeError: CUDA error: out of memory", *lines])
    alone = [match.signature.id for match in match_error("RuntimeError: CUDA error: out of memory")]
    assert alone
    assert [match.signature.id for match in match_error(text)] == alone
