"""Facts people write in prose, bullet lists and issue templates, and the banners tools print.

Most pastes are fragments ("Driver: 545.29.06", "- **PyTorch:** 2.2 + cu121", "Tesla V100,
cuda11.4", "显卡驱动 535.104.05", full-width colons and commas too), not a tool's output. A
maintainer reads them all; so does this module, with these limits:

- a version counts only right after the name it belongs to ("torch:2.0.1", "pytorch1.8",
  "CUDA 版本 11.7"), with at most a few words between that are not another name;
- "CUDA X.Y" alone is ambiguous (the driver's newest CUDA, the toolkit, torch's build): the
  words on the same line decide (nvcc, toolkit, CUDA_HOME -> the toolkit; "compiled with",
  torch -> torch's build; driver, nvidia-smi -> the driver); otherwise it is kept as
  "unknown" and the doctor tries each reading (envcheck.diagnosis);
- a GPU name counts only when the GPU table knows it (envcheck.knowledge.cuda_tables.find_gpu),
  tried as written and with the brand words people leave out ("3090" -> "RTX 3090");
- banners: Ultralytics' "torch-2.0.1+cu118 CUDA:0 (Tesla T4, 15102MiB)", `transformers-cli
  env`'s "- PyTorch version (GPU?): 2.1.0+cu121 (True)", toolkit paths ("/usr/local/cuda-11.7/
  bin/nvcc", "CUDA_HOME=/usr/local/cuda-12.1", CMake's "The CUDA compiler identification is
  NVIDIA 12.1.105"), `docker run` flags, the `pip list | grep torch` line "torch  2.14.1";
- messages: "GLIBC_2.28' not found", nvcc's "Unsupported gpu architecture 'compute_120'",
  "Torch not compiled with CUDA enabled" (a CPU build), torch's "compiled with CUDA 11.8",
  and the lines that show CUDA code being built (nvcc, cpp_extension, build_ext, CMake's CUDA
  language).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache

from packaging.version import Version

from envcheck.knowledge.gpu_tables import find_gpu
from envcheck.reports.digit_shapes import ascii_digit_shape
from envcheck.reports.line_facts import CudaMention, CudaRole, DockerRun, LineFacts, ReportedGpu
from envcheck.reports.word_filters import search_needing
from envcheck.snapshot import DriverVersion, Package
from envcheck.versions import version_or_none

# Names whose version follows them. Driver words in the languages seen in reports.
_NAMES = (r"nvidia[\s_-]*driver|driver|驱动|ドライバ|драйвер|cuda|nvcc|cudnn|pytorch|torchvision|"
          r"torchaudio|torch|python|py|vllm|xformers|flash[-_]attn|bitsandbytes")
# The names' first letters (д, ド, 驱 for драйвер, ドライバ, 驱动), tested first: most places
# of a line start none of them.
_NAME_STARTS = "bcdfnptvx\u0434\u30c9\u9a71"
_NAME = re.compile(
    r"(?=[" + _NAME_STARTS + r"])"
    r"(?<![A-Za-z0-9_./-])(?P<name>" + _NAMES + r")(?![A-Za-z])"
    # Looked ahead, not consumed: in "torch and cuda 11.8" the gap " and cuda " is refused
    # (not a plain gap, see _plain_gap) and "cuda" still gets its own match.
    r"(?=(?P<gap>[^\d\n]{0,24}?)"
    r"(?P<version>v?\d{1,3}(?:\.\d{1,4}){0,3})(?![\d])"
    r"(?P<label>\+(?:cu\d{2,3}|cpu|rocm\d{1,2}(?:\.\d{1,2}){0,2})|\s?\+\s?cu\d{2,3}|"
    r"\s\(cu\d{2,3}\))?"
    # "torch: 2.1.2+cpu -> 2.2.1+cpu": an upgrade, the version after the arrow is the one now
    r"(?:\s{0,3}(?:->|=>|\u2192)\s{0,3}(?P<upgraded>\d{1,3}(?:\.\d{1,4}){0,3}"
    r"(?:\+[a-z0-9.]{2,12})?))?)",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
# Packages whose version written in the text counts as installed: torch's companions, and
# packages with their own CUDA kernels (envcheck.rules.registry keeps them in mind).
_PACKAGES = frozenset({"torchvision", "torchaudio", "vllm", "xformers", "flash-attn",
                       "flash_attn", "bitsandbytes"})
_GPU_HINT = re.compile(r"rtx|gtx|tesla|quadro|titan|geforce|\b(?:[ahlvtpkb]\d|mx\d|\d{4})",
                       re.IGNORECASE)
# _GPU_HINT in two parts: its words (looked for in the lower-cased line, the same answer for
# a line of ASCII) and its numbers (only where the line holds a digit).
_GPU_HINT_WORDS = ("rtx", "gtx", "tesla", "quadro", "titan", "geforce")
_GPU_HINT_NUMBER = re.compile(r"\b(?:[ahlvtpkb]\d|mx\d|\d{4})", re.IGNORECASE)
# Words between a name and its number that make the number something else ("torch has 3
# issues", "python -m pip"): a gap is punctuation, markup and a few known words.
_GAP_WORDS = frozenset({
    "version", "versions", "ver", "v", "is", "=", "==", "-", "release", "runtime", "toolkit",
    "compilation", "tools", "installed", "build", "built", "driver", "gpu", "of", "with",
    "版本", "版", "バージョン", "версия", "version:", "api",
})
_GAP_PUNCT = re.compile(r"[\s:\uff1a=,\uff0c*`'\"|()\uff08\uff09\[\]<>_~-]+")
_TOOLKIT_WORDS = re.compile(
    r"nvcc|toolkit|cuda_home|cuda_path|/usr/local/cuda|system cuda|cuda compilation|"
    r"cudatoolkit|installed cuda|cuda installed|cuda-toolkit|local cuda", re.IGNORECASE)
_TORCH_WORDS = re.compile(r"compiled with|built with|torch|pytorch|\+cu\d", re.IGNORECASE)
_DRIVER_WORDS = re.compile(r"driver|nvidia-smi|驱动|ドライバ|драйвер", re.IGNORECASE)
# Texts one of which every match of each pattern holds (envcheck.reports.word_filters).
_TOOLKIT_NEEDS = ("nvcc", "toolkit", "cuda_home", "cuda_path", "/usr/local/cuda", "system cuda",
                  "cuda compilation", "installed cuda", "cuda installed", "local cuda")
_TORCH_NEEDS = ("compiled with", "built with", "torch", "+cu")
_DRIVER_NEEDS = ("driver", "nvidia-smi", "驱动", "ドライバ", "драйвер")
_OS = re.compile(
    r"(?<![\w.])(?P<os>(?:Ubuntu|Debian|CentOS|Rocky(?: Linux)?|AlmaLinux|RHEL|Fedora|"
    r"openSUSE|Arch Linux|Manjaro|Linux Mint|Pop!_OS)\s?\d{1,2}(?:\.\d{1,2}){0,2}(?:\s?LTS)?|"
    r"Windows\s?(?:10|11|Server\s?20\d\d)|WSL\s?2?|macOS\s?\d{1,2}(?:\.\d{1,2})?)(?![\w.])",
    re.IGNORECASE,
)
_GPU_CANDIDATE = re.compile(
    r"(?<![\w.])(?:(?P<count>\d{1,2})\s?[x\u00d7*]\s?)?"
    r"(?P<name>(?:NVIDIA\s)?(?:GeForce\s)?(?:Tesla\s|Quadro\s|TITAN\s)?"
    r"(?:(?:RTX|GTX|GT|MX)\s?(?:A|PRO\s)?\d{3,4}M?|[AHLVTPKB]\d{1,4}[GSMc]?|RTX\s?A\d{4}|"
    r"RTX\s?PRO\s?\d{4}|\d{4})"
    r"(?:\s?(?:Ti|SUPER|Laptop(?:\sGPU)?|Mobile|D|\d{2}GB|SXM\d?|PCIe))*)"
    # A sentence's full stop may follow ("GPU: RTX 2080 Ti."), a version's dot may not.
    r"(?:\s?[x\u00d7*]\s?(?P<count_after>\d{1,2}))?(?!\w|\.\w)",
    re.IGNORECASE,  # "gtx 950M", "a100", "rtx3090" as people type them
)
_BARE_NUMBER = re.compile(r"^\d{4}$")
_GPU_CUE = re.compile(r"gpu|card|显卡|グラフィック|видеокарт|rtx|gtx|geforce|nvidia|"
                      r"\d\s?[x\u00d7*]\s?",
                      re.IGNORECASE)
# Ultralytics' (YOLOv5/v8) start-up line; "CUDA:0 (name, MiB)" is what makes it a banner, the
# product name before it may be cut off in a paste.
_ULTRALYTICS = re.compile(
    r"(?:(?:Ultralytics|YOLO)\S*\s.{0,40}?)?(?:Python-(?P<python>\d\.\d{1,2}\.\d{1,3})\s)?"
    r"torch[- ](?P<torch>\d{1,2}\.\d{1,3}(?:\.\d{1,3})?(?:\+\w{1,12})?)\s+"
    r"(?:CUDA:(?P<index>\d{1,2})\s\((?P<gpu>[^,()]{2,60}),\s?(?P<mib>\d{3,7})MiB\)|"
    r"(?P<cpu>CPU)(?=\s|$))"
)
_PRODUCT = re.compile(r"Ultralytics|YOLO")
_TRANSFORMERS_ENV = re.compile(
    r"^\s*[-*]\s*PyTorch version \(GPU\?\):\s*(?P<torch>\d{1,2}\.\d{1,3}(?:\.\d{1,3})?"
    r"(?:\+\w{1,12})?)\s*\((?P<gpu>True|False)\)"
)
_PIP_GREP = re.compile(
    r"^\s*(?P<name>torch|torchvision|torchaudio|xformers|triton)\s{2,}(?P<version>\d{1,2}\.\d{1,3}"
    r"(?:\.\d{1,3})?(?:\+\w{1,12})?)\s*$"
)
_TOOLKIT_PATH = re.compile(
    r"(?:CUDA_HOME|CUDA_PATH|CUDA_TOOLKIT_ROOT_DIR|CUDACXX)\s*[=:]\s*[\"']?[^\s\"']*?cuda-"
    r"(?P<env>\d{1,2}\.\d)\b|/cuda-(?P<path>\d{1,2}\.\d)/bin/nvcc\b|"
    r"CUDA\\v(?P<windows>\d{1,2}\.\d)\\bin\\nvcc|"
    r"The CUDA compiler identification is NVIDIA (?P<cmake>\d{1,2}\.\d{1,2})\.\d|"
    r"Found CUDA: \S+ \(found (?:suitable )?version \"(?P<found>\d{1,2}\.\d{1,2})"
)
_GLIBC_MISSING = re.compile(r"GLIBC_(?P<glibc>2\.\d{1,2})['`]? not found")
_NVCC_ARCH = re.compile(r"Unsupported gpu architecture '(?P<arch>compute_\d{2,3}[a-z]?)'")
_NOT_COMPILED = re.compile(r"Torch not compiled with CUDA enabled")
_COMPILED_WITH = re.compile(
    r"(?:PyTorch|torch) (?:was |is )?(?:compiled|built) with CUDA (?P<cuda>\d{1,2}\.\d{1,2})\b",
    re.IGNORECASE)
_BUILDS_CUDA = re.compile(
    r"\bnvcc\b[^\n]{0,200}?\s-(?:c|gencode|arch|o)\b|/bin/nvcc['\"]? failed|nvcc fatal|"
    r"nvcc error|torch\.utils\.cpp_extension|cpp_extension\.py|CUDAExtension|\bbuild_ext\b|"
    r"Building CUDA object|enable_language\(CUDA\)|LANGUAGES[^\n]{0,30}\bCUDA\b|"
    r"CMAKE_CUDA_(?:COMPILER|ARCHITECTURES)|The CUDA compiler identification|"
    r"Unsupported gpu architecture|ptxas|\.cu\.o\b|TORCH_CUDA_ARCH_LIST|"
    # flash-attn's setup.py checking the toolkit before it compiles
    r"make sure nvcc has a supported version|"
    r"Building wheel for (?:flash[-_]attn|apex|xformers|mmcv|bitsandbytes|deepspeed|vllm|"
    r"detectron2|causal[-_]conv1d|mamba[-_]ssm|auto[-_]gptq|exllama\w*|pytorch3d|"
    r"torch[-_]scatter|torch[-_]sparse|spconv|nvdiffrast|tiny[-_]cuda[-_]nn|gsplat)",
    re.IGNORECASE,
)
# Texts without one of which _TOOLKIT_PATH (case-sensitive) and _BUILDS_CUDA (in lower case)
# cannot match: a substring test each is much cheaper than the patterns on a line of prose.
_TOOLKIT_PATH_WORDS = ("CUDA_", "CUDACXX", "/cuda-", "CUDA\\v", "compiler identification",
                       "Found CUDA: ")
_BUILDS_CUDA_WORDS = ("nvcc", "cpp_extension", "cudaextension", "build_ext", "cuda object",
                      "enable_language(cuda)", "languages", "cmake_cuda_",
                      "compiler identification", "unsupported gpu architecture", "ptxas",
                      ".cu.o", "torch_cuda_arch_list", "building wheel for ")
_DOCKER_RUN = re.compile(
    r"(?:^|[\s$#>`])(?:sudo\s+)?(?:docker|podman|nerdctl)\s+run\s(?P<args>.*)$")
_SHM = re.compile(r"--shm-size[= ](?P<size>\d{1,6}[kmgKMG]?[bB]?)")
_CONDA_INSTALL = re.compile(r"(?:^|[\s$>`])(?:conda|mamba|micromamba)\s+install\s(?P<args>.+)$")
_CONDA_TORCH = re.compile(
    r"(?<![\w-])(?:pytorch|torch)(?:={1,2}(?P<version>\d{1,2}\.\d{1,3}(?:\.\d{1,3})?))?"
    r"(?![\w.-])")
_CONDA_CUDA = re.compile(r"(?:cudatoolkit|pytorch-cuda|cuda-version)={1,2}(?P<cuda>\d{1,2}\.\d)")
_MANAGED = re.compile(r"(?<![\w.])(?:colab\.research\.google\.com|Google Colab|Colab|Kaggle)"
                      r"(?![\w-])", re.IGNORECASE)
_SMI_NOT_FOUND = re.compile(r"nvidia-smi: (?:command )?not found|'nvidia-smi' is not recognized")


def read_prose_versions(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    """Versions written after their names, in any sentence."""
    line = lines[index]
    if len(line) > 2_000 or _DIGIT.search(line) is None:  # no digit, no version
        return None
    facts = _versions(line)
    return None if facts is None else (1, facts)


def read_prose_os(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    """An operating system named with its version: "Ubuntu 18.04", "CentOS 7", "Windows 11"."""
    line = lines[index]
    if len(line) > 2_000 or (os_match := _OS.search(line)) is None:
        return None
    return 1, LineFacts(os=" ".join(os_match.group("os").split()))


def read_prose_gpus(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    """GPU names the GPU table knows, with a count: "2x RTX3090", "Tesla V100"."""
    line = lines[index]
    if len(line) > 2_000:
        return None
    if line.isascii():
        lowered = line.lower()
        hint, spans, cue = _ascii_reading(ascii_digit_shape(lowered))
        if not hint:
            return None
        candidates = _named(lowered, spans)
    else:
        if _GPU_HINT.search(line) is None:
            return None
        candidates = _gpu_candidates(line)
        cue = _GPU_CUE.search(line) is not None
    gpus, count = _gpus(candidates, cue)
    return (1, LineFacts(gpus=gpus, gpu_count=count)) if gpus else None


def _gpu_hint(line: str) -> bool:
    """Whether _GPU_HINT occurs in `line`, without its case-insensitive search at every
    character of a line of prose."""
    if not line.isascii():
        return _GPU_HINT.search(line) is not None
    return _ascii_reading(ascii_digit_shape(line.lower()))[0]


# _GPU_HINT, _GPU_CANDIDATE and _GPU_CUE tell no digit from another, so each matches a line
# and its digit shape at the same places (envcheck.reports.digit_shapes): a long log's lines
# that differ only in their numbers are searched once, the names and counts read from the
# line.
@lru_cache(maxsize=4_096)
def _ascii_reading(shape: str) -> tuple[bool, tuple[tuple[int, int, int, int], ...], bool]:
    """For a lower-cased ASCII line with its digits as 0: whether _GPU_HINT occurs, where
    _GPU_CANDIDATE_LOWER matches (name start, end, count start, end; the count's -1 when
    there is none) and whether _GPU_CUE occurs (the last two only with the hint)."""
    if not any(word in shape for word in _GPU_HINT_WORDS) and (
            _DIGIT.search(shape) is None or _GPU_HINT_NUMBER.search(shape) is None):
        return False, (), False
    spans = []
    for match in _GPU_CANDIDATE_LOWER.finditer(shape):
        count = "count" if match.group("count") else "count_after"
        spans.append((*match.span("name"), *match.span(count)))
    return True, tuple(spans), _GPU_CUE.search(shape) is not None


def _named(lowered: str, spans: tuple[tuple[int, int, int, int], ...]
           ) -> tuple[tuple[str, str | None], ...]:
    return tuple((lowered[name_start:name_end],
                  lowered[count_start:count_end] if count_start != -1 else None)
                 for name_start, name_end, count_start, count_end in spans)


def read_conda_command(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    """`conda install pytorch==1.12.1 torchvision cudatoolkit=11.3 -c pytorch`: the torch
    asked for, with the CUDA the command pairs it with (cudatoolkit= or pytorch-cuda=) as
    its build label, or +cpu for the `cpuonly` package."""
    match = _CONDA_INSTALL.search(lines[index])
    if match is None:
        return None
    args = match.group("args")
    torch = _CONDA_TORCH.search(args)
    if torch is None:
        return None
    cuda = _CONDA_CUDA.search(args)
    label = ""
    if cuda:
        label = "+cu" + cuda.group("cuda").replace(".", "")
    elif re.search(r"(?<![\w-])cpuonly(?![\w-])", args):
        label = "+cpu"
    version = torch.group("version")
    requested = Package(name="torch", version=(version + label) if version else "")
    return 1, LineFacts(requested=(requested,),
                        requested_index_cuda=_version(cuda.group("cuda")) if cuda else None)


def read_banner(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    """Start-up banners that print torch.__version__ and the device (measured by the tool)."""
    line = lines[index]
    if "torch" not in line and "PyTorch" not in line:
        return None
    # Every banner holds "torch-" or "torch " (the pattern is case-sensitive).
    if ("torch-" in line or "torch " in line) and (match := _ULTRALYTICS.search(line)) and (
            match.group("gpu") or _PRODUCT.search(line, 0, match.start("torch"))):
        # "CPU" counts only after the product name: "torch 2.0 CPU only" is a sentence
        torch = _version(match.group("torch"))
        gpus: tuple[ReportedGpu, ...] = ()
        if match.group("gpu"):
            gpus = (ReportedGpu(index=int(match.group("index")), name=match.group("gpu").strip(),
                                memory_mib=int(match.group("mib"))),)
        return 1, LineFacts(torch_version=torch, python_version=_version(match.group("python")),
                            gpus=gpus, cuda_available=True if gpus else None)
    if match := _TRANSFORMERS_ENV.match(line):
        return 1, LineFacts(torch_version=_version(match.group("torch")),
                            cuda_available=match.group("gpu") == "True")
    return None


def read_pip_grep(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    """`pip list | grep torch` without its header: "torch   2.14.1"."""
    match = _PIP_GREP.match(lines[index])
    if match is None:
        return None
    return 1, LineFacts(listed=(Package(name=match.group("name"),
                                        version=match.group("version")),))


def read_build_output(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    """Toolkit paths, CMake's CUDA lines, loader and nvcc messages, and CUDA code being built."""
    line = lines[index]
    if len(line) > 5_000:
        return None
    toolkit: Version | None = None
    if any(word in line for word in _TOOLKIT_PATH_WORDS) and (
            path := _TOOLKIT_PATH.search(line)):
        toolkit = _version(next(g for g in path.groups() if g))
    glibc = _GLIBC_MISSING.search(line) if "GLIBC_" in line else None
    arch = _NVCC_ARCH.search(line) if "architecture" in line else None
    cpu_build = "not compiled" in line and _NOT_COMPILED.search(line) is not None
    compiled = _COMPILED_WITH.search(line) if "with CUDA" in line else None
    lowered = line.lower()
    builds = any(word in lowered for word in _BUILDS_CUDA_WORDS) and (
        _BUILDS_CUDA.search(line) is not None)
    docker = _docker(_continued(lines, index)) if " run" in line else None
    smi_missing = "nvidia-smi" in line and _SMI_NOT_FOUND.search(line) is not None
    managed = _MANAGED.search(line) if "colab" in lowered or "kaggle" in lowered else None
    if not (toolkit or glibc or arch or cpu_build or compiled or builds or docker
            or smi_missing or managed):
        return None
    return 1, LineFacts(
        detected_nvcc=toolkit, glibc_missing=_version(glibc.group("glibc")) if glibc else None,
        nvcc_rejects_arch=arch.group("arch") if arch else None, torch_cpu_build=cpu_build,
        torch_cuda=_version(compiled.group("cuda")) if compiled else None,
        builds_cuda_code=builds or arch is not None, docker_run=docker,
        nvidia_smi_missing=smi_missing,
        managed_runtime=("Kaggle" if managed.group(0).lower() == "kaggle" else "Google Colab")
        if managed else None)


def build_output_reads_one_line(lines: Sequence[str], index: int) -> bool:
    """Whether read_build_output's answer at `index` depends on that line alone: it reads on
    only for a `docker run` continued over a trailing backslash (see _continued)."""
    line = lines[index]
    return " run" not in line or _CONTINUED.search(line) is None


# "only supported on CUDA 11.6 and above", "requires driver >= 525", "Python 3.8+": what a tool
# asks for, not what the machine has. Read as a fact, flash-attn's own CUDA check made a
# driver that "supports CUDA up to 11.6" out of its requirement (flashattn-825).
_REQUIRED_BEFORE = re.compile(
    r"(?:>=|≥|=>|\bat least|\brequires?|\brequired|\bneeds?|\bminimum(?: of)?|\bsupported on|"
    r"\bsupports only|\bonly supports|\bnewer than|\bhigher than|\bor newer|\bor later)"
    r"[\s:]*(?:the\s+)?(?:nvidia\s+)?$", re.IGNORECASE)
_REQUIRED_AFTER = re.compile(
    # "3.8+" only at the end of a phrase: "cuda 11.8 + torch 2.1" names two facts.
    r"^(?:\+(?=\s*(?:$|[,.;:)\]]|(?:is |are )?(?:required|needed|only)\b))|"
    r"\s*(?:and (?:above|later|newer|higher|up)\b|or (?:above|later|newer|higher|greater)\b|"
    r"以上|及以上|или выше|以降))", re.IGNORECASE)
_REQUIRED_BEFORE_NEEDS = (">=", "≥", "=>", "at least", "require", "need", "minimum",
                          "supported on", "supports only", "only supports", "newer than",
                          "higher than", "or newer", "or later")


def _is_requirement(line: str, match: re.Match[str]) -> bool:
    before = line[max(0, match.start() - 30):match.start()]
    end = match.end("label") if match.group("label") else match.end("version")
    after = line[end:end + 20]
    return bool(search_needing(_REQUIRED_BEFORE, _REQUIRED_BEFORE_NEEDS, before)
                or _REQUIRED_AFTER.match(after))


def _versions(line: str) -> LineFacts | None:
    """The versions after their names in `line`; None when there is none."""
    driver: DriverVersion | None = None
    branch: int | None = None
    mentions: list[CudaMention] = []
    torch_prose: Version | None = None
    torch_label: Version | None = None
    python: Version | None = None
    nvcc: Version | None = None
    listed: list[Package] = []
    for match in _NAME.finditer(line):
        if not _plain_gap(match.group("gap")) or _is_requirement(line, match):
            continue
        name = match.group("name").lower()
        number = match.group("version").lstrip("vV")
        label = "".join((match.group("label") or "").split()).strip("()")
        if match.group("upgraded"):
            number, _, label = match.group("upgraded").partition("+")
        if name in ("driver", "驱动", "ドライバ", "драйвер") or name.startswith("nvidia"):
            driver, branch = _driver(number) or (driver, branch)
        elif name == "cuda":
            cuda = _cuda(number)
            if cuda is not None:
                mentions.append(CudaMention(version=cuda, role=_role(line, match)))
        elif name == "nvcc":
            nvcc = _cuda(number) or nvcc
        elif name in _PACKAGES:
            if _version(number) is not None and "." in number:
                listed.append(Package(name=name.replace("_", "-"),
                                      version=number + (f"+{label.lstrip('+')}" if label
                                                        else "")))
        elif name in ("torch", "pytorch"):
            version = _torch(number, label)
            if version is not None and version.local:
                torch_label = version
            elif version is not None:
                torch_prose = version
        elif name in ("python", "py"):
            python = _python(number) or python
    if not mentions and not listed and all(
            value is None for value in (driver, branch, torch_prose, torch_label, python, nvcc)):
        return None
    return LineFacts(driver_version=driver, driver_branch=branch,
                     cuda_mentions=tuple(mentions), torch_prose=torch_prose,
                     torch_mention=torch_label, python_version=python, detected_nvcc=nvcc,
                     listed=tuple(listed))


def _plain_gap(gap: str) -> bool:
    if not gap.strip(" :"):
        return True  # "torch 2.1", "CUDA: 12.1", "py3": no word (the split below finds none)
    if "==" in gap or gap.strip() == "=":
        return False  # a requirement (torch==1.0.0): what was asked for, read elsewhere
    words = [w for w in _GAP_PUNCT.split(gap.lower()) if w]
    return len(words) <= 2 and all(w in _GAP_WORDS for w in words)


def _driver(number: str) -> tuple[DriverVersion | None, int | None] | None:
    parts = number.split(".")
    if not parts[0].isdecimal() or not 100 <= int(parts[0]) <= 999:
        return None
    if len(parts) == 1:
        return None, int(parts[0])
    try:
        return DriverVersion(number), None
    except ValueError:
        return None


def _cuda(number: str) -> Version | None:
    version = _version(number)
    if version is None or not 7 <= version.major <= 13:
        return None
    if len(version.release) == 1:
        return None  # "CUDA 12" names a major, not a version a rule can compare
    if version.minor > 9:
        return None
    return Version(f"{version.major}.{version.minor}")


def _torch(number: str, label: str) -> Version | None:
    version = _version(number + (f"+{label.lstrip('+')}" if label else ""))
    if version is None or version.major > 3 or len(version.release) < 2:
        return None
    if version.major == 0 and version.minor < 3:
        return None
    return version


def _python(number: str) -> Version | None:
    version = _version(number)
    if version is None or len(version.release) < 2 or version.major not in (2, 3):
        return None
    if version.major == 3 and version.minor > 20:
        return None
    return Version(f"{version.major}.{version.minor}" + (
        f".{version.release[2]}" if len(version.release) > 2 else ""))


def _role(line: str, match: re.Match[str]) -> CudaRole:
    before = line[max(0, match.start() - 60):match.start()]
    after = line[match.end():match.end() + 30]
    near = before + " " + after
    if search_needing(_TOOLKIT_WORDS, _TOOLKIT_NEEDS, near) or (
            "toolkit" in match.group("gap").lower()):
        return "toolkit"
    if search_needing(_TORCH_WORDS, _TORCH_NEEDS, before[-40:]):
        return "torch"
    if search_needing(_DRIVER_WORDS, _DRIVER_NEEDS, near):
        return "driver"
    return "unknown"


# The same pattern in lower case, for the lower-cased ASCII line: a case-insensitive search
# costs Python's re about half again as much (tests/unit/test_reports_fast_paths.py holds the
# two to the same matches on every recorded line).
_GPU_CANDIDATE_LOWER = re.compile(_GPU_CANDIDATE.pattern.lower().replace("(?p<", "(?P<"))


def _gpu_candidates(line: str) -> tuple[tuple[str, str | None], ...]:
    """Each _GPU_CANDIDATE match's (name, count or None), in order; an ASCII line's name
    lower-cased."""
    if line.isascii():
        lowered = line.lower()
        return _named(lowered, _ascii_reading(ascii_digit_shape(lowered))[1])
    return tuple((match.group("name"), match.group("count") or match.group("count_after"))
                 for match in _GPU_CANDIDATE.finditer(line))


def _gpus(candidates: Iterable[tuple[str, str | None]], cue: bool
          ) -> tuple[tuple[ReportedGpu, ...], int | None]:
    """The GPUs the table knows among `candidates` (name, count), with their count; a bare
    number only with a `cue` (_GPU_CUE) in the line."""
    found: list[ReportedGpu] = []
    count: int | None = None
    for name, number in candidates:
        if _BARE_NUMBER.match(name) and not cue:
            continue
        model = _known_gpu(name.strip())
        if model is None:
            continue
        if not any(gpu.name == model for gpu in found):
            found.append(ReportedGpu(index=None, name=model))
        if number and 1 <= int(number) <= 64:
            count = int(number)
    return tuple(found), count


@cache
def _known_gpu(name: str) -> str | None:
    """The table's name for what the user wrote, trying the brand words they leave out."""
    spaced = re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", name)
    spaced = re.sub(r"\s+", " ", spaced).strip()
    tries = [name, spaced]
    if _BARE_NUMBER.match(name.replace(" ", "")[:4]):
        tries += [f"RTX {spaced}", f"GTX {spaced}"]
    if re.match(r"^A\s?\d{4}", spaced):
        tries.append(f"RTX {spaced.replace(' ', '', 1)}")
    names = {model.name for model in (find_gpu(t) for t in tries) if model is not None}
    if len(names) != 1:
        return None
    return names.pop()


_CONTINUED = re.compile(r"\s[\\`^]$")


def _continued(lines: Sequence[str], index: int) -> str:
    """A shell command with the lines it continues onto (a trailing backslash, PowerShell's
    backtick, cmd's caret): `docker run --gpus all \\` puts --shm-size on the next line."""
    parts = [lines[index]]
    position = index
    while _CONTINUED.search(parts[-1]) and position + 1 < len(lines) and len(parts) < 40:
        position += 1
        parts[-1] = parts[-1][:-1]
        parts.append(lines[position].strip())
    return " ".join(parts)


def _docker(line: str) -> DockerRun | None:
    match = _DOCKER_RUN.search(line)
    if match is None:
        return None
    args = match.group("args")
    shm = _SHM.search(args)
    return DockerRun(gpus="--gpus" in args or "--device nvidia.com/gpu" in args
                     or "--device=nvidia.com/gpu" in args,
                     nvidia_runtime="--runtime=nvidia" in args or "--runtime nvidia" in args,
                     ipc_host="--ipc=host" in args or "--ipc host" in args,
                     shm_size=shm.group("size") if shm else None)


def _version(text: str | None) -> Version | None:
    return version_or_none(text, max_length=40)


def shows_cuda_build(text: str) -> bool:
    """Does this text show CUDA code being compiled (nvcc, cpp_extension, CMake's CUDA)?"""
    return _BUILDS_CUDA.search(text) is not None
