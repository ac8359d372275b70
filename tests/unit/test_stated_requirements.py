"""A requirement the paste states against the version it shows installed
(envcheck.reports.stated_requirements); lines copied from public threads (named at each case)
unless marked synthetic."""

from __future__ import annotations

from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envcheck.reports.build import snapshot_from_report
from envcheck.reports.stated_requirements import (
    read_env_versions,
    read_stated_requirements,
    stated_requirement_findings,
)

# https://github.com/hiyouga/LlamaFactory/issues/6661 (llamafactory-cli env, then the question
# "InternLM3模型要求transformers版本>=4.47.1 ... 要求transformers版本<.4.46.1")
LLAMAFACTORY_6661 = (Path(__file__).parents[1] / "data/reports/llamafactory-6661-internlm3-"
                     "needs-transformers-4471-vs-pin-4461/report.txt").read_text(encoding="utf-8")


def _findings(text: str) -> list[str]:
    report = snapshot_from_report(text, taken_at="2026-01-01T00:00:00Z", envcheck_version="t")
    return [f.summary for f in stated_requirement_findings(
        report.stated_requirements, report.env_versions, report.snapshot)]


def test_the_env_commands_lines_are_read_as_installed_versions() -> None:
    versions = read_env_versions(LLAMAFACTORY_6661.splitlines())
    assert [(v.package, str(v.version), v.line) for v in versions] == [
        ("llamafactory", "0.9.2.dev0", 3), ("transformers", "4.46.1", 7),
        ("datasets", "3.1.0", 8), ("accelerate", "1.0.1", 9), ("peft", "0.12.0", 10),
        ("trl", "0.9.6", 11), ("deepspeed", "0.16.2", 13)]


def test_the_requirement_is_read_from_its_clause() -> None:
    # the second clause's "<.4.46.1" (sic) is no specifier: only the first is read
    found = read_stated_requirements(LLAMAFACTORY_6661.splitlines())
    assert [(r.package, r.specifier, r.line) for r in found] == [
        ("transformers", SpecifierSet(">=4.47.1"), 18)]


def test_an_installed_release_outside_it_is_an_error() -> None:
    assert _findings(LLAMAFACTORY_6661) == [
        "transformers 4.46.1 is installed (line 7), but the paste says transformers>=4.47.1 "
        "is required (line 18)"]


def test_a_release_inside_it_is_not() -> None:
    # synthetic: the same paste after upgrading
    assert _findings(LLAMAFACTORY_6661.replace("4.46.1\n", "4.48.0\n")) == []


def test_only_a_requirement_said_as_one_counts() -> None:
    # synthetic: a version named without a requirement word, and pip's own messages (read by
    # error_signatures.toml), and the torch stack (judged by the companion rules)
    lines = ["I upgraded to transformers>=4.47.1 yesterday",
             "xformers 0.0.23 requires torch==2.1.1, but you have torch 2.1.0 which is "
             "incompatible.",
             "ImportError: tokenizers>=0.22.0,<=0.23.0 is required for a normal functioning of "
             "this module, but found tokenizers==0.21.4.",
             "vllm requires torch==2.5.1"]
    assert read_stated_requirements(lines) == ()


def test_a_range_and_english_words_are_read() -> None:
    # synthetic
    found = read_stated_requirements(["The model needs accelerate >= 0.34.0, <= 1.0.1"])
    assert [(r.package, r.specifier) for r in found] == [
        ("accelerate", SpecifierSet(">=0.34.0,<=1.0.1"))]
    assert Version("1.0.1") in found[0].specifier
