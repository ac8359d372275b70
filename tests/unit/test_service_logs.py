"""Service logs pasted whole (journalctl -u nvidia-fabricmanager, dmesg NVRM lines,
nvidia-persistenced's syslog), read as the doctor reads a paste: the lines are copied from the
public threads named at each case."""

from __future__ import annotations

import pytest

from envcheck.diagnosis import likely_causes
from envcheck.knowledge.signatures import match_error
from envcheck.services.doctor import DoctorRequest, read_report, run_doctor

# https://github.com/akash-network/website/pull/632 (its `systemctl status nvidia-fabricmanager`)
FABRIC_MANAGER = """\
# systemctl status nvidia-fabricmanager
Nov 05 13:55:26 node1 systemd[1]: Starting NVIDIA fabric manager service...
Nov 05 13:55:26 node1 nv-fabricmanager[104230]: fabric manager NVIDIA GPU driver interface \
version 550.127.05 don't match with driver version 550.120. Please update with matching NVIDIA \
driver package.
Nov 05 13:55:26 node1 systemd[1]: nvidia-fabricmanager.service: Control process exited, \
code=exited, status=1/FAILURE
"""

# https://github.com/NVIDIA/gpu-operator/issues/1146
RM_INIT_ADAPTER = """\
Dec  2 11:49:53 worker4 kernel: [  885.242168] NVRM: GPU 0000:0a:00.0: RmInitAdapter failed! \
(0x24:0x72:1568)
Dec  2 11:49:53 worker4 kernel: [  885.242457] NVRM: GPU 0000:0a:00.0: rm_init_adapter failed, \
device minor number 5
"""

# https://github.com/NVIDIA/nvtrust/issues/55
NOT_SUPPORTED = """\
The NVIDIA GPU 0000:01:00.0 (PCI ID: 10de:2330)
[   38.034696] NVRM: installed in this system is not supported by the
[   38.034696] NVRM: NVIDIA 550.90.07 driver release.
[   38.034696] NVRM: Please see 'Appendix A - Supported NVIDIA GPU Products'
"""

# https://github.com/NVIDIA/nvidia-persistenced/issues/11
PERSISTENCED = """\
Aug 27 21:35:25 ubuntu nvidia-persistenced[1405]: NUMA: Failed to enable NUMA memory Auto-Online
Aug 27 21:35:25 ubuntu nvidia-persistenced[1400]: nvidia-persistenced failed to initialize. \
Check syslog for more details.
Aug 27 21:35:25 ubuntu systemd[1]: nvidia-persistenced.service: Control process exited, \
code=exited, status=1/FAILURE
"""

# https://github.com/ValveSoftware/SteamOS/issues/209
INIT_MODULE = """\
[  441.170986] NVRM: No NVIDIA graphics adapter found!
[  441.171021] NVRM: NVIDIA init module failed!
"""


def _diagnose(text: str) -> tuple[tuple[str, ...], dict[str, str]]:
    reading = read_report(text, None, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    report = reading.report
    result = run_doctor(DoctorRequest(snapshot=report.snapshot, error_text=reading.error_text,
                                      missing=report.missing, report=report))
    verdicts: dict[str, str] = {cause.category: cause.verdict for cause in result.causes}
    ranked: tuple[str, ...] = likely_causes(result.causes, result.findings)
    return ranked, verdicts


@pytest.mark.parametrize(("text", "signature", "category", "verdict"), [
    (FABRIC_MANAGER, "fabric-manager-driver-version-mismatch", "driver_not_loaded",
     "confirmed"),
    (RM_INIT_ADAPTER, "nvrm-rm-init-adapter-failed", "driver_not_loaded", "possible"),
    (NOT_SUPPORTED, "nvrm-gpu-not-supported-by-driver", "driver_not_loaded", "possible"),
    (PERSISTENCED, "nvidia-persistenced-failed", "driver_not_loaded", "possible"),
    (INIT_MODULE, "nvrm-init-module-failed", "driver_not_loaded", "confirmed"),
])
def test_a_pasted_service_log_is_read_and_ranked(text: str, signature: str, category: str,
                                                 verdict: str) -> None:
    assert signature in [match.signature.id for match in match_error(text)]
    ranked, verdicts = _diagnose(text)
    assert ranked[0] == category
    assert verdicts[category] == verdict


def test_the_fabric_manager_log_names_both_versions_in_its_finding() -> None:
    reading = read_report(FABRIC_MANAGER, None, taken_at="2026-01-01T00:00:00Z",
                          envcheck_version="0")
    result = run_doctor(DoctorRequest(snapshot=reading.report.snapshot,
                                      error_text=reading.error_text, report=reading.report))
    stated = [f for f in result.findings if f.severity == "error"]
    assert [f.category for f in stated] == ["driver_not_loaded"]
    assert "550.127.05" in stated[0].summary
    assert "550.120" in stated[0].summary
