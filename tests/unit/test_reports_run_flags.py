"""How the run was started, as a paste shows it: docker flags over continued lines, on lines
copied from public threads (named at each test)."""

from __future__ import annotations

from envcheck.reports.build import snapshot_from_report

# https://github.com/huggingface/text-generation-inference/issues/1903
CONTINUED = """\
```
docker run --gpus all \\
    --shm-size 1g \\
    -e HUGGING_FACE_HUB_TOKEN=$token \\
    -p $myport:80 \\
    -v $volume:/data ghcr.io/huggingface/text-generation-inference:1.4 \\
    --model-id $model \\
    --max-total-tokens 18000 \\
    --max-input-tokens 14000
```
"""


def _docker_facts(text: str) -> list[tuple[str, int]]:
    report = snapshot_from_report(text, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    return [(fact.value, fact.line) for fact in report.read if fact.fact == "docker run"]


def test_flags_on_continued_lines_belong_to_the_docker_run() -> None:
    assert _docker_facts(CONTINUED) == [("--gpus --shm-size=1g", 2)]


def test_a_docker_run_with_shm_size_on_a_continued_line_is_not_given_docker_s_default() -> None:
    report = snapshot_from_report(CONTINUED, taken_at="2026-01-01T00:00:00Z",
                                  envcheck_version="0")
    assert [group.subject for group in report.readings
            if group.subject == "the container's /dev/shm"] == []


def test_an_inline_command_in_backticks_is_one_line() -> None:
    # https://github.com/NVIDIA/nvidia-docker/issues/1671
    text = ("All the containers are run with `docker run --gpus all -it "
            "tensorflow/tensorflow:latest-gpu /bin/bash`\nnext line --shm-size 8g")
    assert _docker_facts(text) == [("--gpus", 1)]
