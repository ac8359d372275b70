"""NCCL's own settings: a transport switched off in the environment the run uses.

NCCL_P2P_DISABLE=1, NCCL_SHM_DISABLE=1 and NCCL_IB_DISABLE=1 are what people set to get past
a hang, and then keep: the run works, slower, and the broken path stays broken. What the first
two switch off is NCCL's Environment Variables page (as archived for NCCL 2.4.7,
https://docs.nvidia.com/deeplearning/nccl/archives/nccl_247/nccl-developer-guide/docs/env.html):
P2P "uses CUDA direct access between GPUs, using NVLink or PCI"; without SHM "NCCL uses network
(IB or IP sockets) to communicate between the CPU sockets". Without IB, NCCL's log shows it on
sockets: "NCCL_IB_DISABLE set by environment to 1." then "NET/Socket : Using [0]ibs85f0:..."
and "Using network Socket" (https://github.com/NVIDIA/nccl-tests/issues/188).
"""

from __future__ import annotations

from collections.abc import Iterator

from envcheck.findings import Finding
from envcheck.rules.context import Thresholds
from envcheck.rules.registry import Rule
from envcheck.snapshot import Snapshot

# variable -> (values that switch the transport off, what is off, where its traffic goes)
_TRANSPORTS: dict[str, tuple[frozenset[str], str, str]] = {
    "NCCL_P2P_DISABLE": (frozenset({"1"}), "NCCL's peer-to-peer transport (direct GPU-to-GPU "
                         "access over NVLink or PCIe)", "through host shared memory"),
    "NCCL_P2P_LEVEL": (frozenset({"LOC", "0"}), "NCCL's peer-to-peer transport at every "
                       "distance", "through host shared memory"),
    "NCCL_SHM_DISABLE": (frozenset({"1"}), "NCCL's shared-memory transport",
                         "over the network (IB or IP sockets)"),
    "NCCL_IB_DISABLE": (frozenset({"1"}), "NCCL's InfiniBand/RoCE transport", "over IP sockets"),
}


def check_nccl_transports(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    env = snapshot.system.env
    geforce = bool(snapshot.gpus) and all(_is_geforce(gpu.name) for gpu in snapshot.gpus)
    for variable, (values, transport, instead) in _TRANSPORTS.items():
        value = env.get(variable)
        if value is None or value.strip().upper() not in values:
            continue
        if geforce and variable.startswith("NCCL_P2P"):
            # Most GeForce cards have no P2P support (the cuda-peer-access-not-supported
            # signature's source): P2P off is their setting, not a hidden fault.
            continue
        yield Finding(
            id="nccl-transport-disabled",
            category="nccl",
            severity="warning",
            summary=f"{variable}={value} switches off {transport}: its traffic goes "
                    f"{instead}",
            explanation="Set to get past a hang or an error, it hides the cause and costs "
                        "bandwidth: with P2P off, GPUs that could talk directly copy through "
                        "the host. The usual cause behind it is PCIe ACS or the IOMMU "
                        "blocking peer-to-peer (P2P), /dev/shm too small in a container "
                        "(SHM), or an RDMA setup NCCL cannot use (IB).",
            fix=f"unset {variable} and run nccl-tests' all_reduce_perf with NCCL_DEBUG=INFO; "
                "if it then hangs or fails, fix the path it names (NCCL's troubleshooting "
                "guide: ACS, IOMMU, shared memory, IB)",
            evidence={"variable": variable, "value": value},
        )


def _is_geforce(name: str) -> bool:
    lowered = name.lower()
    return "geforce" in lowered or "titan" in lowered


def _knows_nccl_settings(snapshot: Snapshot) -> bool:
    """A live host's environment is all there; a paste's only when it shows NCCL settings."""
    return snapshot.source != "report" or any(
        name.startswith("NCCL_") for name in snapshot.system.env)


RULES = (
    Rule(id="nccl-transports-enabled", category="nccl", check=check_nccl_transports,
         knows=_knows_nccl_settings, needs="the NCCL_* settings the run used"),
)
