"""Split a pasted report into the pieces envcheck can read.

Users paste any mixture of tool outputs into a bug report, wrapped in markdown fences,
quoted with "> ", indented as code blocks, with prompts and prose in between. This module
only finds where each piece starts and ends (one pass over the lines); the parsers next to
it read the pieces. A piece is a candidate: it counts as recognised only when its parser
finds at least one fact in it (see `envcheck.reports.build`).

The shapes recognised, with the line that anchors each:

- collect_env: any of its "Key: value" lines ("PyTorch version:", "Is debug build:", ...)
  or "Collecting environment information...".
- nvidia-smi-table: table lines ("|...|", "+---+") or a bare "NVIDIA-SMI ... Driver Version:"
  header; the processes table after a blank spacer line belongs to the same piece.
- nvidia-smi-xml: from "<?xml", "<!DOCTYPE nvidia_smi_log" or "<nvidia_smi_log" to
  "</nvidia_smi_log>" (or the next fence, when a paste was cut short).
- nvidia-smi-L: "GPU 0: <name> (UUID: GPU-...)" lines (collect_env strips the UUID, so a
  line with one came from nvidia-smi -L itself).
- nvcc: "nvcc: NVIDIA (R) Cuda compiler driver" or "Cuda compilation tools, release".
- pip-list: the "Package  Version" header over a dashed rule.
- pip-freeze: two or more consecutive requirement lines (name==version, name @ url, -e ...);
  one lone "x==y" line in prose is too weak a signal.
- conda-list: the "# Name  Version  Build  Channel" header, "# packages in environment at",
  or the `conda list --export` header.
- ldd: "libx.so.1 => /path (0x...)" and "libx.so.1 => not found" lines.

After the blocks, a second pass (`find_line_facts`) finds the line-level facts of
envcheck.reports.line_facts (torch's messages, REPL output, pip and apt logs, ...) on every
line, inside blocks too; each reader of LINE_READERS says which lines it uses, and declares
the words it needs in LINE_TRIGGERS (envcheck.reports.line_triggers says how).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from envcheck.reports.digit_shapes import digit_shape
from envcheck.reports.install_logs import (
    read_debian_packages,
    read_pip_command,
    read_pip_log,
    read_pip_show,
    read_torch_mention,
    read_wheel_file,
)
from envcheck.reports.line_facts import LineFacts, Reader
from envcheck.reports.line_triggers import TriggerIndex
from envcheck.reports.nccl_settings import read_nccl_setting
from envcheck.reports.package_lists import normalize_name, parse_requirement_line
from envcheck.reports.package_mentions import read_package_mentions
from envcheck.reports.prose_facts import (
    build_output_reads_one_line,
    read_banner,
    read_build_output,
    read_conda_command,
    read_pip_grep,
    read_prose_gpus,
    read_prose_os,
    read_prose_versions,
)
from envcheck.reports.shell_output import (
    read_glibc_version,
    read_issue_template,
    read_ld_library_path,
    read_loader_error,
    read_nccl_tests,
    read_nvml_error,
    read_os_release,
    read_proc_driver_version,
    read_python_banner,
    read_python_path,
)
from envcheck.reports.torch_output import read_torch_message, read_torch_repl

SegmentKind = Literal[
    "collect_env",
    "nvidia-smi-table",
    "nvidia-smi-xml",
    "nvidia-smi-L",
    "nvcc",
    "pip-list",
    "pip-freeze",
    "conda-list",
    "ldd",
    # Line-level facts (envcheck.reports.line_facts), found anywhere in the paste.
    "torch-message",
    "torch-repl",
    "python-banner",
    "glibc-version",
    "os-release",
    "ld-library-path",
    "proc-driver-version",
    "nvml-error",
    "loader-error",
    "nccl-tests",
    "python-path",
    "issue-template",
    "pip-command",
    "conda-command",
    "pip-log",
    "wheel-file",
    "pip-show",
    "debian-packages",
    "torch-mention",
    "banner",
    "pip-grep",
    "build-output",
    "prose",
    "prose-os",
    "prose-gpu",
    "package-mention",
    "nccl-setting",
    # A message from envcheck's error-signature table (envcheck.reports.build).
    "error-message",
    # A change the reporter says worked (envcheck.reports.remedies).
    "remedy",
    # A run setting that bears on the cause (envcheck.reports.run_settings).
    "run-setting",
]

SEGMENT_KINDS: tuple[SegmentKind, ...] = get_args(SegmentKind)

LINE_READERS: tuple[tuple[SegmentKind, Reader], ...] = (
    ("torch-message", read_torch_message),
    ("torch-repl", read_torch_repl),
    ("python-banner", read_python_banner),
    ("glibc-version", read_glibc_version),
    ("os-release", read_os_release),
    ("ld-library-path", read_ld_library_path),
    ("proc-driver-version", read_proc_driver_version),
    ("nvml-error", read_nvml_error),
    ("loader-error", read_loader_error),
    ("nccl-tests", read_nccl_tests),
    ("python-path", read_python_path),
    ("issue-template", read_issue_template),
    ("pip-command", read_pip_command),
    ("conda-command", read_conda_command),
    ("pip-log", read_pip_log),
    ("wheel-file", read_wheel_file),
    ("pip-show", read_pip_show),
    ("debian-packages", read_debian_packages),
    ("torch-mention", read_torch_mention),
    ("banner", read_banner),
    ("pip-grep", read_pip_grep),
    ("build-output", read_build_output),
    ("prose", read_prose_versions),
    ("prose-os", read_prose_os),
    ("prose-gpu", read_prose_gpus),
    ("package-mention", read_package_mentions),
    ("nccl-setting", read_nccl_setting),
)

# Words (lower case) without which a reader cannot match a line: each reader runs only on the
# lines that hold one of its words (envcheck.reports.line_triggers says how to choose them).
# A reader added to LINE_READERS declares its words here.
_GPU_WORDS = ("rtx", "gtx", "tesla", "quadro", "titan", "geforce", "nvidia", "gpu", "card",
              "显卡", "a100", "h100", "h200", "h20", "b200", "v100", "p100", "p40", "k80", "k40",
              "m40", "t4", "a10", "a30", "a40", "l4", "l40", "a6000", "a5000", "a4000", "mx")
LINE_TRIGGERS: dict[SegmentKind, tuple[str, ...]] = {
    "torch-message": ("capability", "too old", "detected cuda", "compiled with cuda",
                      "cudnn version"),
    "torch-repl": ("__version__", "version.cuda", "is_available"),
    "python-banner": ("python ",),
    "glibc-version": ("ldd (",),
    "os-release": ("release", "description:"),
    "ld-library-path": ("ld_library_path",),
    "proc-driver-version": ("nvrm version:",),
    "nvml-error": ("failed to initialize nvml", "nvrm: api mismatch"),
    "loader-error": (".so",),
    "nccl-tests": ("pid",),
    "python-path": ("/lib/python",),
    "issue-template": ("pytorch version", "python version", "- os", "-os", "* os", "*os"),
    "pip-command": ("pip",),
    "conda-command": ("conda install", "mamba install", "micromamba install"),
    "pip-log": ("successfully", "found existing installation", "requirement already"),
    "wheel-file": (".whl",),
    "pip-show": ("name:",),
    "debian-packages": ("nvidia", "cudnn", "nccl", "cuda"),
    "torch-mention": ("torch ", "torch:", "libtorch"),
    "banner": ("torch-", "torch "),
    "pip-grep": ("torch", "xformers", "triton"),
    "build-output": ("cuda", "glibc_", "architecture", "not compiled", "nvcc", "build_ext",
                     "ptxas", ".cu.o", "building wheel for", "docker", "podman", "nerdctl",
                     "nvidia-smi", "colab", "kaggle"),
    "prose": ("driver", "cuda", "nvcc", "cudnn", "torch", "python", "py3", "py2", "vllm",
              "xformers", "flash", "bitsandbytes", "驱动",
              "ドライバ", "драйвер"),
    "prose-os": ("ubuntu", "debian", "centos", "rocky", "alma", "rhel", "fedora", "suse",
                 "arch linux", "manjaro", "mint", "pop!", "windows", "wsl", "macos"),
    "prose-gpu": _GPU_WORDS,
    "package-mention": ("install", "tensorflow version", "python version", "os platform",
                        "cuda/cudnn version"),
    "nccl-setting": ("nccl_",),
}


_TRIGGERS = TriggerIndex([LINE_TRIGGERS[kind] for kind, _ in LINE_READERS])
READ_WINDOW = 3
"""A line reader reads its line and at most the next two (tests/unit/test_line_triggers.py
checks it on the recorded reports): what it returns depends on those lines only, and
find_line_facts reads each window once. A reader that reads a run of any length says so in
READS_RUNS."""
READS_RUNS: frozenset[SegmentKind] = frozenset({
    "nccl-tests",
    # A `docker run` continued over its trailing backslashes can run past the window.
    "build-output",
})
"""Readers that read a run of lines of any length (nccl-tests' device lines): run on every
line they are given, their answers not kept."""
WINDOW_AT: dict[SegmentKind, Callable[[list[str], int], bool]] = {
    "build-output": build_output_reads_one_line,
}
"""For a reader of READS_RUNS, whether its answer at a line depends on the line's window
alone (a build line that no backslash continues): that answer is kept like the others'."""


# Every key collect_env has printed since torch 1.0 (older ones first); "Version of relevant
# libraries" is a hand-edited spelling seen in pasted reports.
COLLECT_ENV_KEYS = (
    "PyTorch version",
    "Is debug build",
    "CUDA used to build PyTorch",
    "ROCM used to build PyTorch",
    "OS",
    "GCC version",
    "Clang version",
    "CMake version",
    "Libc version",
    "Python version",
    "Python platform",
    "Is CUDA available",
    "CUDA runtime version",
    "CUDA_MODULE_LOADING set to",
    "GPU models and configuration",
    "Nvidia driver version",
    "cuDNN version",
    "HIP runtime version",
    "MIOpen runtime version",
    "Is XNNPACK available",
    "Is XPU available",
    "XPU used to build PyTorch",
    "Intel GPU driver version",
    "Intel GPU models onboard",
    "Intel GPU models detected",
    "Caching allocator config",
    "CPU",
    "Versions of relevant libraries",
    "Version of relevant libraries",
)
COLLECT_ENV_KEY = re.compile(
    r"^\s*(?P<key>" + "|".join(re.escape(key) for key in COLLECT_ENV_KEYS)
    + r")\s*:\s?(?P<value>.*)$"
)
_COLLECT_ENV_START = re.compile(r"^\s*Collecting environment information")
_GENERIC_KEY = re.compile(r"^\s*[A-Z][A-Za-z0-9_ ./()-]{1,50}:\s")
_PREFIXED = re.compile(r"^\s*\[(?:pip3?|conda)\]\s")
_GPU_LINE = re.compile(r"^\s*GPU \d{1,4}:\s")
_PATH_LINE = re.compile(r"^\s*(?:/|[A-Za-z]:\\)\S")

_QUOTE = re.compile(r"^[ \t]{0,3}(?:>[ \t]?)+")
_FENCE = re.compile(r"^\s*(?:```|~~~)")

_TABLE_LINE = re.compile(r"^\s*[|+].*[|+]\s*$")
_SMI_HEADER = re.compile(r"NVIDIA-SMI\s+\d")
_SMI_L_LINE = re.compile(r"^\s*(?:GPU \d{1,4}: .*\(UUID: |MIG \S+\s+Device\s+\d{1,4}: \(UUID: )")
_NVCC_START = re.compile(
    r"^\s*(?:nvcc: NVIDIA \(R\) Cuda compiler driver|Cuda compilation tools, release)"
)
_NVCC_LINE = re.compile(
    r"^\s*(?:nvcc: NVIDIA|Copyright \(c\) \d{4}-\d{4} NVIDIA Corporation|Built on |"
    r"Cuda compilation tools, release|Build cuda_)"
)
LDD_LINE = re.compile(
    r"^\s*(?P<soname>\S+)\s+=>\s+(?:(?P<missing>not found)|(?P<path>\S*)\s*\(0x[0-9a-fA-F]+\))\s*$"
)
_LDD_BARE = re.compile(r"^\s*\S+\s+\(0x[0-9a-fA-F]+\)\s*$")
_PIP_LIST_HEADER = re.compile(
    r"^\s*Package\s+Version(?:\s+(?:Location|Editable project location))?\s*$"
)
_PIP_LIST_RULE = re.compile(r"^\s*-{3,}(?:\s+-{3,}){1,3}\s*$")
_CONDA_HEADER = re.compile(
    r"^\s*#\s*(?:Name\s+Version\s+Build(?:\s+Channel)?|packages in environment at\b|"
    r"This file may be used to create an environment)"
)
_CONDA_ROW = re.compile(r"^\s*(?:[^\s#=]+\s+\S+\s+\S+(?:\s+\S+)?|[^\s#=]+=[^\s=]+=\S+|#.*)\s*$")
_PIP_LIST_ROW = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s+\S+(?:\s+\S.*)?$")
FREEZE_LINE = re.compile(
    r"^\s*(?:-e\s+\S+|[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?\s*(?:===?\s*\S+|\s@\s+\S+))\s*$"
)


@dataclass(frozen=True, kw_only=True)
class Segment:
    kind: SegmentKind
    lines: tuple[str, ...]
    """The piece's lines with quote markers removed (fences are never inside a piece)."""
    first_line: int
    """1-based line number in the paste, for messages."""
    facts: LineFacts | None = None
    """For a line-level piece: what its reader read (so it is read once)."""

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class _Lines:
    text: list[str]
    fence: list[bool]


def clean_lines(text: str) -> tuple[list[str], list[bool]]:
    """The paste's lines without quote markers or trailing space, and which were fences."""
    lines: list[str] = []
    fences: list[bool] = []
    for raw in text.split("\n"):
        line = raw.rstrip()
        if ">" in line[:12]:
            line = _QUOTE.sub("", line)
        is_fence = ("`" in line or "~" in line) and bool(_FENCE.match(line))
        lines.append("" if is_fence else line)
        fences.append(is_fence)
    return lines, fences


_QUOTED_LINE = re.compile(r"^[ \t]{0,3}>", re.MULTILINE)


def unquoted(text: str) -> str:
    """The text without Markdown quote markers and fences, line for line (the line count
    stays), so that a message wrapped inside a quote reads as one."""
    if _QUOTED_LINE.search(text) is None and "```" not in text and "~~~" not in text:
        return text
    return "\n".join(clean_lines(text)[0])


def split_report(text: str) -> list[Segment]:
    """Candidate pieces, in the order they appear: the blocks, then the line-level facts
    (which may lie inside a block)."""
    return split_lines(*clean_lines(text))


def split_lines(lines: list[str], fences: list[bool]) -> list[Segment]:
    """split_report over lines clean_lines already cleaned."""
    scanner = _Scanner(_Lines(lines, fences))
    blocks = scanner.run()
    in_blocks = frozenset(index for segment in blocks
                          for index in range(segment.first_line - 1,
                                             segment.first_line - 1 + len(segment.lines)))
    closed = frozenset(index for segment in blocks if segment.kind != "collect_env"
                       for index in range(segment.first_line - 1,
                                          segment.first_line - 1 + len(segment.lines)))
    return blocks + find_line_facts(lines, in_blocks=in_blocks, closed=closed)


# Readers of what people write: a block's own lines (collect_env's "PyTorch version: ...",
# a pip list's rows) are read by the block's parser, which knows what they mean.
_OUTSIDE_BLOCKS: frozenset[SegmentKind] = frozenset({"prose", "prose-os", "prose-gpu",
                                                     "pip-grep"})


_IS_OUTSIDE = tuple(kind in _OUTSIDE_BLOCKS for kind, _ in LINE_READERS)
_READS_RUN = tuple(kind in READS_RUNS for kind, _ in LINE_READERS)
_WINDOW_AT = tuple(WINDOW_AT.get(kind) for kind, _ in LINE_READERS)
_IS_PROSE = tuple(kind.startswith("prose") for kind, _ in LINE_READERS)


def find_line_facts(lines: list[str], *, in_blocks: frozenset[int] = frozenset(),
                    closed: frozenset[int] = frozenset()) -> list[Segment]:
    """Every line (or short run of lines) one of LINE_READERS recognises, in order.
    `in_blocks`: indexes of lines that belong to a block (prose is not read there);
    `closed`: lines of a tool's table or list (pip, conda, nvidia-smi, ldd, nvcc), which its
    own parser reads whole: no line reader runs there. collect_env's block stays open, since
    torch prints its warnings in the middle of it."""
    found: list[Segment] = []
    resume = [0] * len(LINE_READERS)
    # Lines of torch's own messages ("... with CUDA capability sm_120 is not compatible ...")
    # are read by their reader; prose read there again would count the same GPU twice.
    in_message: set[int] = set()
    # A reader's answer depends on its line and the next two only (READ_WINDOW), and a long
    # paste repeats lines (a log prints the same warning at every step): the readers read
    # each window once, and the same window gives the same LineFacts objects. Kept per
    # window (in a block or not): the readers that read something there (a reader of
    # READS_RUNS with None: it reads again each time).
    answers: dict[tuple[str, str | None, str | None, bool],
                  tuple[tuple[int, tuple[int, LineFacts] | None], ...]] = {}
    count = len(lines)
    for index, positions in _TRIGGERS.lines(lines, closed):
        line = lines[index]
        in_block = index in in_blocks
        window = (line, lines[index + 1] if index + 1 < count else None,
                  lines[index + 2] if index + 2 < count else None, in_block)
        reads = answers.get(window)
        if reads is None:
            reads = answers[window] = _read_window(lines, index, positions, in_block)
        for position, kept in reads:
            if index < resume[position]:
                continue
            if _IS_PROSE[position] and index in in_message:
                continue
            read = kept if kept is not None else LINE_READERS[position][1](lines, index)
            if read is None:
                continue
            used = max(read[0], 1)
            kind = LINE_READERS[position][0]
            if kind == "torch-message":
                in_message.update(range(index, index + used))
            resume[position] = index + used
            found.append(Segment(kind=kind, lines=tuple(lines[index:index + used]),
                                 first_line=index + 1, facts=read[1]))
    return found


def _read_window(lines: list[str], index: int, positions: tuple[int, ...], in_block: bool
                 ) -> tuple[tuple[int, tuple[int, LineFacts] | None], ...]:
    """The readers (of `positions`) that read something at `index`, with what they read;
    the readers of READS_RUNS with None (their answer is not kept)."""
    line = lines[index]
    if len(line) > 20_000 or not line.strip():
        return ()
    reads: list[tuple[int, tuple[int, LineFacts] | None]] = []
    for position in positions:  # in LINE_READERS order within a line
        if in_block and _IS_OUTSIDE[position]:
            continue
        if _READS_RUN[position] and not (
                (within := _WINDOW_AT[position]) is not None and within(lines, index)):
            reads.append((position, None))
        elif (read := LINE_READERS[position][1](lines, index)) is not None:
            reads.append((position, read))
    return tuple(reads)


# What the first line of every block holds (a step's anchor needs one of these): "<" (XML),
# "|" "+" or "NVIDIA-SMI" (tables), "UUID" (-L), "nvcc"/"Cuda" (nvcc), "=>" (ldd), ":" or
# "Collecting environment" (collect_env), "#" (conda), "Package" (pip list), "=" "@" "-e"
# (pip freeze). A prose line without any is no block's start, and skips the nine steps.
_ANCHOR = re.compile(r"=>|[<|+:#=@]|-e|Package|Cuda|nvcc|NVIDIA-SMI|UUID|Collecting")


class _Scanner:
    def __init__(self, lines: _Lines) -> None:
        self._lines = lines.text
        self._fence = lines.fence
        self._segments: list[Segment] = []
        # Each step with the texts its anchor line must hold (see _ANCHOR), in
        # the order the steps are tried.
        self._steps: tuple[tuple[Callable[[int], int | None], tuple[str, ...]], ...] = (
            (self._xml, ("<",)),
            (self._table, ("|", "+", "NVIDIA-SMI")),
            (self._smi_l, ("UUID",)),
            (self._nvcc, ("nvcc", "Cuda")),
            (self._ldd, ("=>",)),
            (self._collect_env, (":", "Collecting")),
            (self._conda, ("#",)),
            (self._pip_list, ("Package",)),
            (self._freeze, ("=", "@", "-e")),
        )
        self._steps_by_anchors: dict[frozenset[str], tuple[Callable[[int], int | None], ...]] = {}

    def run(self) -> list[Segment]:
        index = 0
        count = len(self._lines)
        # By the line's digit shape: _ANCHOR has no digit, and a log's lines differ in
        # their numbers (envcheck.reports.digit_shapes).
        steps_of: dict[str, tuple[Callable[[int], int | None], ...]] = {}
        while index < count:
            line = self._lines[index]
            shape = digit_shape(line) or line
            steps = steps_of.get(shape)
            if steps is None:
                steps = steps_of[shape] = self._steps_of(shape)
            for step in steps:
                end = step(index)
                if end is not None:
                    index = end
                    break
            else:
                index += 1
        return self._segments

    def _steps_of(self, line: str) -> tuple[Callable[[int], int | None], ...]:
        """The steps whose anchor `line` holds, in order (a paste repeats lines: asked once
        per distinct line)."""
        if not line.strip():
            return ()
        anchors = frozenset(_ANCHOR.findall(line))
        if not anchors:
            return ()
        # Lines hold few distinct sets of anchors: the steps are chosen once per set.
        steps = self._steps_by_anchors.get(anchors)
        if steps is None:
            held = anchors | {"="} if "=>" in anchors else anchors  # "=>" holds "="
            steps = self._steps_by_anchors[anchors] = tuple(
                step for step, step_anchors in self._steps if not held.isdisjoint(step_anchors))
        return steps

    def _emit(self, kind: SegmentKind, start: int, end: int) -> int:
        self._segments.append(
            Segment(kind=kind, lines=tuple(self._lines[start:end]), first_line=start + 1)
        )
        return end

    def _xml(self, start: int) -> int | None:
        line = self._lines[start]
        if "<nvidia_smi_log" not in line and not (
            line.lstrip().startswith(("<?xml", "<!DOCTYPE nvidia_smi_log"))
        ):
            return None
        end = start
        while end < len(self._lines) and not self._fence[end]:
            if "</nvidia_smi_log>" in self._lines[end]:
                end += 1
                break
            end += 1
        return self._emit("nvidia-smi-xml", start, end)

    def _table(self, start: int) -> int | None:
        line = self._lines[start]
        if _SMI_HEADER.search(line) and not _TABLE_LINE.match(line):
            return self._emit("nvidia-smi-table", start, start + 1)
        if not _TABLE_LINE.match(line):
            return None
        end = start
        count = len(self._lines)
        while end < count:
            if _TABLE_LINE.match(self._lines[end]):
                end += 1
                continue
            # The processes table follows the GPU table after one whitespace-only line.
            if (
                not self._lines[end].strip()
                and not self._fence[end]
                and end + 1 < count
                and _TABLE_LINE.match(self._lines[end + 1])
            ):
                end += 1
                continue
            break
        return self._emit("nvidia-smi-table", start, end)

    def _smi_l(self, start: int) -> int | None:
        return self._run_of("nvidia-smi-L", start, _SMI_L_LINE)

    def _nvcc(self, start: int) -> int | None:
        if not _NVCC_START.match(self._lines[start]):
            return None
        end = start + 1
        while end < len(self._lines) and end - start < 6 and _NVCC_LINE.match(self._lines[end]):
            end += 1
        return self._emit("nvcc", start, end)

    def _ldd(self, start: int) -> int | None:
        if not LDD_LINE.match(self._lines[start]):
            return None
        end = start + 1
        while end < len(self._lines) and (
            LDD_LINE.match(self._lines[end]) or _LDD_BARE.match(self._lines[end])
        ):
            end += 1
        return self._emit("ldd", start, end)

    def _collect_env(self, start: int) -> int | None:
        line = self._lines[start]
        if not (COLLECT_ENV_KEY.match(line) or _COLLECT_ENV_START.match(line)):
            return None
        last = start
        in_cpu = False
        index = start + 1
        count = len(self._lines)
        while index < count and not self._fence[index]:
            line = self._lines[index]
            if not line.strip():
                in_cpu = False
            elif key := COLLECT_ENV_KEY.match(line):
                in_cpu = key.group("key") == "CPU"
                last = index
            elif in_cpu or _PREFIXED.match(line) or _GPU_LINE.match(line) or _PATH_LINE.match(line):
                last = index
            elif self._key_follows(index, 1 if not _GENERIC_KEY.match(line) else 3):
                # A line wrapped by a mail client or an unknown newer key: kept when a known
                # key comes right after it.
                last = index
            else:
                break
            index += 1
        return self._emit("collect_env", start, last + 1)

    def _key_follows(self, index: int, within: int) -> bool:
        for ahead in range(index + 1, min(index + 1 + within, len(self._lines))):
            if COLLECT_ENV_KEY.match(self._lines[ahead]):
                return True
            if self._fence[ahead] or not self._lines[ahead].strip():
                return False
        return False

    def _conda(self, start: int) -> int | None:
        if not _CONDA_HEADER.match(self._lines[start]):
            return None
        end = start + 1
        while end < len(self._lines) and _CONDA_ROW.match(self._lines[end]):
            end += 1
        return self._emit("conda-list", start, end)

    def _pip_list(self, start: int) -> int | None:
        if not (
            _PIP_LIST_HEADER.match(self._lines[start])
            and start + 1 < len(self._lines)
            and _PIP_LIST_RULE.match(self._lines[start + 1])
        ):
            return None
        end = start + 2
        while end < len(self._lines) and _PIP_LIST_ROW.match(self._lines[end]):
            end += 1
        return self._emit("pip-list", start, end)

    def _freeze(self, start: int) -> int | None:
        if not FREEZE_LINE.match(self._lines[start]):
            return None
        end = start + 1
        while end < len(self._lines) and (
            FREEZE_LINE.match(self._lines[end]) or self._lines[end].lstrip().startswith("#")
        ):
            end += 1
        if end - start < 2:
            return None
        # pip freeze names each distribution once; "torch==1.0.0", "torch==1.0.1", ... is a
        # resolver's list of the versions that exist (uv: "only the following versions").
        packages = [parse_requirement_line(line) for line in self._lines[start:end]]
        names = [normalize_name(p.name) for p in packages if p is not None]
        if len(names) != len(set(names)):
            return None
        return self._emit("pip-freeze", start, end)

    def _run_of(self, kind: SegmentKind, start: int, pattern: re.Pattern[str]) -> int | None:
        if not pattern.match(self._lines[start]):
            return None
        end = start + 1
        while end < len(self._lines) and pattern.match(self._lines[end]):
            end += 1
        return self._emit(kind, start, end)
