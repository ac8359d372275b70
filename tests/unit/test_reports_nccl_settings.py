"""NCCL_* settings read from a paste (envcheck.reports.nccl_settings) and the rule on them,
on lines copied from public threads (named at each test) unless marked synthetic."""

from __future__ import annotations

from dataclasses import replace

import pytest

from envcheck.reports.build import snapshot_from_report
from envcheck.reports.nccl_settings import read_nccl_setting
from envcheck.rules import run_rules
from tests.snapshots import healthy


def _settings(line: str) -> tuple[tuple[str, str], ...]:
    read = read_nccl_setting([line], 0)
    return read[1].nccl_env if read else ()


@pytest.mark.parametrize(("line", "expected"), [
    # https://github.com/NVIDIA/nccl/issues/1232
    ("[0] node0:13571:13571 [0] NCCL INFO NCCL_SOCKET_IFNAME set by environment to "
     "en,eth,em,bond", (("NCCL_SOCKET_IFNAME", "en,eth,em,bond"),)),
    # https://github.com/NVIDIA/nccl-tests/issues/188
    ("user:852750:852802 [0] NCCL INFO NCCL_IB_DISABLE set by environment to 1.",
     (("NCCL_IB_DISABLE", "1"),)),
    # https://github.com/huggingface/transformers/issues/28280 (the command it quotes)
    ("export NCCL_P2P_DISABLE=1", (("NCCL_P2P_DISABLE", "1"),)),
    # https://github.com/ray-project/ray_lightning/issues/24 (the command it quotes)
    ('NCCL_DEBUG="INFO" NCCL_IB_DISABLE=1 python tune.py',
     (("NCCL_DEBUG", "INFO"), ("NCCL_IB_DISABLE", "1"))),
    # synthetic: the Python and docker forms
    ('os.environ["NCCL_P2P_DISABLE"] = "1"', (("NCCL_P2P_DISABLE", "1"),)),
    ("docker run --gpus all -e NCCL_SHM_DISABLE=1 image", (("NCCL_SHM_DISABLE", "1"),)),
])
def test_settings_are_read_from_commands_and_nccl_s_own_log(
        line: str, expected: tuple[tuple[str, str], ...]) -> None:
    assert _settings(line) == expected


def test_a_setting_named_in_a_sentence_is_not_the_environment() -> None:
    # https://github.com/ray-project/ray/issues/30333
    line = ("    Tried `export NCCL_IB_DISABLE=1` and `export NCCL_P2P_DISABLE=1`, both "
            "didnt work")
    assert _settings(line) == ()


def test_a_pasted_setting_reaches_the_snapshot_and_the_rule() -> None:
    # https://github.com/NVIDIA/nccl-tests/issues/188
    text = ("user:852750:852802 [0] NCCL INFO NCCL_IB_DISABLE set by environment to 1.\n"
            "user:852750:852802 [0] NCCL INFO NET/Socket : Using [0]ibs85f0:192.168.1.14<0>")
    report = snapshot_from_report(text, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    assert report.snapshot.system.env["NCCL_IB_DISABLE"] == "1"
    assert ("NCCL setting", "NCCL_IB_DISABLE=1") in [(f.fact, f.value) for f in report.read]
    findings = [f for f in run_rules(report.snapshot) if f.id == "nccl-transport-disabled"]
    assert [(f.category, f.severity) for f in findings] == [("nccl", "warning")]
    assert "IP sockets" in findings[0].summary


def test_a_live_environment_without_them_is_fine() -> None:
    snapshot = healthy()
    env = {**snapshot.system.env, "NCCL_DEBUG": "INFO", "NCCL_P2P_DISABLE": "0"}
    live = replace(snapshot, system=replace(snapshot.system, env=env))
    assert [f for f in run_rules(live) if f.id == "nccl-transport-disabled"] == []


def test_p2p_off_on_geforce_cards_is_their_setting_not_a_hidden_fault() -> None:
    # Most GeForce cards have no P2P support (the cuda-peer-access-not-supported signature):
    # NCCL_P2P_DISABLE=1 there is no broken path to warn about; on A100s it is.
    text = ("2x RTX 4090 on one box, driver 550.54.14, torch 2.3.1+cu121.\n"
            "export NCCL_P2P_DISABLE=1\n")
    report = snapshot_from_report(text, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    assert report.snapshot.system.env["NCCL_P2P_DISABLE"] == "1"
    assert "nccl-transport-disabled" not in {f.id for f in run_rules(report.snapshot)}
    a100 = text.replace("RTX 4090", "A100 80GB")
    report = snapshot_from_report(a100, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    [finding] = [f for f in run_rules(report.snapshot) if f.id == "nccl-transport-disabled"]
    assert finding.summary.startswith("NCCL_P2P_DISABLE=1 switches off NCCL's peer-to-peer")
