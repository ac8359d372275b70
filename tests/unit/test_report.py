"""`envcheck report`: the fingerprints of the example matrix judged against a reference
runner per target, rendered as Markdown and HTML (golden files)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from envcheck.errors import UsageError
from envcheck.fingerprint_model import Fingerprint
from envcheck.report_render import md_escape, render_html, render_markdown
from envcheck.services.report import (
    MatrixReport,
    NamedFingerprint,
    build_report,
    name_fingerprint,
    report_json,
)
from tests.golden import assert_golden
from tests.report_fixtures import matrix_fingerprint, with_problem

# What `envcheck matrix --format github` schedules for examples/trainer.
CELLS = [("cu126", "gpu-4090"), ("cu126", "gpu-a100"), ("cu126", "gpu-t4"),
         ("cu128", "gpu-4090"), ("cu128", "gpu-a100"), ("cu128", "gpu-t4"),
         ("cu130", "gpu-a100")]


def _named(fingerprint: Fingerprint, target: str, runner: str) -> NamedFingerprint:
    return name_fingerprint(fingerprint, f"fingerprints/{target}--{runner}.json")


def _matrix(*, blocking: tuple[str, str] | None = None, reference: str | None = None
            ) -> MatrixReport:
    named = [_named(matrix_fingerprint(t, r, perturb=1e-3 if (t, r) == blocking else 0.0),
                    t, r) for t, r in CELLS]
    return build_report(named, reference=reference)


def test_a_matrix_that_passes() -> None:
    report = _matrix()
    assert report.verdict == "pass"
    assert report.runners == ("gpu-4090", "gpu-a100", "gpu-t4")
    cu126 = report.rows[0]
    assert cu126.reference == "gpu-4090"
    assert cu126.cells["gpu-4090"].reference
    t4 = cu126.cells["gpu-t4"]
    assert (t4.verdict, t4.behaviour, t4.rebuilt) == ("promote", "equivalent", True)
    assert t4.time_ratio == pytest.approx(4.96, abs=0.01)
    assert t4.max_rel_error == pytest.approx(4.3e-6, rel=0.01)
    assert_golden("report/matrix-pass.md", render_markdown(report))


def test_a_blocking_cell_is_golden_in_markdown_and_html() -> None:
    report = _matrix(blocking=("cu128", "gpu-t4"))
    assert report.verdict == "block"
    assert [(c.target, c.runner) for c in report.blocked] == [("cu128", "gpu-t4")]
    assert report.blocked[0].blocking[0].startswith("matmul_fp32: output beyond tolerance")
    # The reasons of the blocking section that are fine are not listed as blocking.
    assert not any("within tolerance" in r for r in report.blocked[0].blocking)
    assert_golden("report/matrix-block.md", render_markdown(report))
    assert_golden("report/matrix-block.html", render_html(report))


def test_the_reference_runner_can_be_chosen() -> None:
    report = _matrix(reference="gpu-a100")
    assert [row.reference for row in report.rows] == ["gpu-a100"] * 3
    assert report.rows[0].cells["gpu-a100"].reference
    assert report.rows[0].cells["gpu-4090"].time_ratio == pytest.approx(0.83, abs=0.01)


def test_a_target_without_the_reference_runner_falls_back_and_says_so() -> None:
    report = _matrix(reference="gpu-4090")
    cu130 = report.rows[2]
    assert cu130.reference == "gpu-a100"
    assert cu130.note == ("no fingerprint of cu130 on gpu-4090, the reference asked for; "
                          "compared against gpu-a100")
    assert "- cu130: no fingerprint of cu130 on gpu-4090" in render_markdown(report)
    assert report.verdict == "pass"


def test_a_reference_no_fingerprint_was_taken_on_is_refused() -> None:
    with pytest.raises(UsageError, match="--reference gpu-h100: no fingerprint was taken"):
        _matrix(reference="gpu-h100")


def test_an_incomplete_fingerprint_blocks() -> None:
    named = [_named(matrix_fingerprint("cu126", "gpu-4090"), "cu126", "gpu-4090"),
             _named(with_problem(matrix_fingerprint("cu126", "gpu-t4"),
                                 "sdpa: timed out after 120 s"), "cu126", "gpu-t4")]
    report = build_report(named)
    assert report.blocked[0].blocking == (
        "incomplete fingerprint there: sdpa: timed out after 120 s",)


def test_another_image_without_matching_labels_blocks() -> None:
    other = matrix_fingerprint("cu126", "gpu-t4")
    assert other.image is not None
    relabelled = {**other.image.labels, "org.envcheck.venv-sha256": "0" * 64}
    other = replace(other, image=replace(other.image, labels=relabelled))
    report = build_report([_named(matrix_fingerprint("cu126", "gpu-4090"), "cu126",
                                  "gpu-4090"), _named(other, "cu126", "gpu-t4")])
    cell = report.blocked[0]
    assert not cell.rebuilt
    assert cell.blocking[0].startswith("image differs")


def test_target_from_the_label_first_then_the_file_name() -> None:
    labelled = matrix_fingerprint("cu126", "gpu-t4")
    assert name_fingerprint(labelled, "out/cu126--gpu-t4.json").runner == "gpu-t4"
    # The label names the target even when the file name says otherwise...
    named = name_fingerprint(labelled, "out/old-name--gpu-t4.json")
    assert (named.target, named.runner) == ("cu126", "gpu-t4")
    # ...and the file name does when there is no label.
    bare = matrix_fingerprint("cu128", "gpu-a100", label_target=False)
    named = name_fingerprint(bare, "x/cu128--gpu-a100.json")
    assert (named.target, named.runner) == ("cu128", "gpu-a100")
    with pytest.raises(UsageError, match=r"fp\.json: cannot tell which runner"):
        name_fingerprint(bare, "fp.json")


def test_two_fingerprints_of_one_cell_are_refused() -> None:
    one = _named(matrix_fingerprint("cu126", "gpu-t4"), "cu126", "gpu-t4")
    two = name_fingerprint(one.fingerprint, "again/cu126--gpu-t4.json")
    with pytest.raises(UsageError, match="are both cu126 on gpu-t4"):
        build_report([one, two])


def test_json_document() -> None:
    document = report_json(_matrix(blocking=("cu128", "gpu-t4")))
    assert document["schema"] == "envcheck.report/1"
    assert document["verdict"] == "block"
    cu128 = document["targets"][1]
    assert [c["role"] for c in cu128["cells"]] == ["reference", "compared", "compared"]
    assert cu128["cells"][2]["verdict"] == "block"
    json.dumps(document)  # serializable as is


def test_names_from_files_are_escaped() -> None:
    target, runner = "<script>alert(1)</script>", 'gpu|a&b"*_x'
    hostile = matrix_fingerprint("cu126", "gpu-t4", label_target=False)
    reference = matrix_fingerprint("cu126", "gpu-4090", label_target=False)
    report = build_report([
        NamedFingerprint(target=target, runner="a-ref", origin="a.json",
                         fingerprint=reference),
        NamedFingerprint(target=target, runner=runner, origin="b.json",
                         fingerprint=hostile)])
    markdown, page = render_markdown(report), render_html(report)
    assert "<script>" not in markdown
    assert "<script>" not in page
    assert "| &lt;script&gt;alert(1)&lt;/script&gt; |" in markdown
    assert "gpu\\|a&amp;b\"\\*\\_x" in markdown
    assert "gpu|a&amp;b&quot;*_x" in page
    assert md_escape("a|b") == "a\\|b"
    assert_golden("report/escaping.md", markdown)
    assert_golden("report/escaping.html", page)
