"""The resolvers `envcheck lock` runs: uv (`uv pip compile`) and pip-tools (`pip-compile`).

Both run as subprocesses through the runner, never imported: their Python APIs are not
stable, and uv has none. Each turns a ResolveRequest into argv, runs it, and returns the
requirements text it wrote (pinned, with hashes); failures become envcheck errors carrying
the resolver's own explanation, with credentials scrubbed.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

from envcheck.adapters.runner import CommandResult, CommandRunner
from envcheck.errors import (
    CommandNotFoundError,
    CommandTimeoutError,
    ExitCode,
    ResolutionError,
    UsageError,
)
from envcheck.project_model import TargetPlatform
from envcheck.redaction import REDACTED, redact_text

ResolverName = Literal["uv", "pip-tools"]
RESOLVER_NAMES: tuple[ResolverName, ...] = ("uv", "pip-tools")
# Never `pip install envcheck`: that name on PyPI is another project's.
INSTALL_HINT = ("uv comes with envcheck: reinstall envcheck from its source (`pipx reinstall "
                "envcheck`, or `pip install --force-reinstall .` in its clone), or install uv "
                "on PATH (`pip install uv`)")
PIP_TOOLS_HINT = ("pip-tools is optional: install it into envcheck's environment "
                  "(`pipx inject envcheck pip-tools`, or `pip install pip-tools` in the "
                  "environment envcheck runs from), or use --resolver uv")

# uv resolves for a platform other than its own when told the wheel tag to aim at; torch's
# Linux wheels are manylinux_2_28 from 2.6 on.
_UV_PLATFORMS: Mapping[TargetPlatform, str] = {
    "linux/x86_64": "x86_64-manylinux_2_28",
    "linux/aarch64": "aarch64-manylinux_2_28",
}
# What the resolvers print when the index, not the requirements, is the problem.
_NETWORK_SIGNS = re.compile(
    r"Failed to fetch|error sending request|dns error|Connection refused|tcp connect error"
    r"|Could not fetch URL|Max retries exceeded|NewConnectionError|Failed to establish a new "
    r"connection|Temporary failure in name resolution|Name or service not known"
    r"|certificate verify failed|401 Unauthorized|403 Forbidden",
    re.IGNORECASE,
)
_VERSION = re.compile(r"(\d+(?:\.\d+)+)")
_STDERR_TAIL_LINES = 30


class ResolverUnavailableError(UsageError):
    """No resolver installed: nothing was resolved; the message says what to install."""


class IndexUnreachableError(ResolverUnavailableError):
    """The resolver could not read a package index, or hung on one: an outside failure."""

    exit_code = ExitCode.ENGINE


@dataclass(frozen=True, kw_only=True)
class PinnedIndex:
    """An index that serves only the named packages, never their dependencies: a PyTorch
    variant index hosts numpy, pillow and more, which must still come from the general index
    (issue 14). uv pins per package (an explicit index plus a source for each package, as
    [tool.uv.sources] does); pip has no such pinning, so pip-compile uses it as one more
    index."""

    name: str
    url: str
    """Credentials expanded: a secret, never written to a file or an argv."""
    flat: bool = False
    packages: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ResolveRequest:
    inputs: tuple[Path, ...]
    """requirements.in-style files, in order."""
    output: Path
    """Where the resolver writes; when it already holds a lock, that lock is the starting
    point (only `upgrade_packages` move)."""
    python: str
    platform: TargetPlatform
    index_urls: tuple[str, ...] = ()
    """Extra indexes, credentials expanded: secrets, passed through the environment only."""
    find_links: tuple[str, ...] = ()
    """Flat indexes (folders or pages of wheel links), passed the same way."""
    pinned: tuple[PinnedIndex, ...] = ()
    """Indexes that serve only some packages (see PinnedIndex)."""
    upgrade_packages: tuple[str, ...] = ()
    env: Mapping[str, str]
    """The environment the resolver runs in (PATH, HOME for netrc and caches, proxies)."""
    timeout: float = 1800.0


class Resolver(Protocol):
    name: ResolverName
    executable: Path

    def version(self) -> str: ...

    def argv(self, request: ResolveRequest) -> list[str]: ...

    def resolve(self, request: ResolveRequest) -> str:
        """The pinned, hashed requirements text; ResolutionError when nothing satisfies."""
        ...


def find_executable(program: str, *, bin_dirs: Sequence[Path], path: str | None) -> Path | None:
    """`program` in bin_dirs first (the venv envcheck was installed into, activated or not,
    and the folder of the uv binary envcheck depends on), then on PATH."""
    for folder in bin_dirs:
        candidate = folder / program
        if candidate.is_file():
            return candidate
    found = shutil.which(program, path=path)
    return Path(found) if found else None


class _SubprocessResolver:
    name: ResolverName
    executable: Path

    def __init__(self, executable: Path, runner: CommandRunner) -> None:
        self.executable = executable
        self.runner = runner

    @property
    def install_hint(self) -> str:
        return INSTALL_HINT if self.name == "uv" else PIP_TOOLS_HINT

    def _version_argv(self) -> list[str]:
        return [str(self.executable), "--version"]

    def version(self) -> str:
        result = self._run(self._version_argv(), env=None, timeout=30.0, secrets=())
        match = _VERSION.search(result.stdout) if result.ok else None
        if match is None:
            raise ResolverUnavailableError(
                f"{self.executable} --version did not name a version "
                f"({result.describe_failure() if not result.ok else result.stdout.strip()!r})",
                hint=self.install_hint)
        return match.group(1)

    def argv(self, request: ResolveRequest) -> list[str]:
        raise NotImplementedError

    def _index_env(self, request: ResolveRequest) -> dict[str, str]:
        raise NotImplementedError

    def resolve(self, request: ResolveRequest) -> str:
        env = {**request.env, **self._index_env(request)}
        secrets = (*request.index_urls, *request.find_links,
                   *(index.url for index in request.pinned))
        result = self._run(self.argv(request), env=env, timeout=request.timeout,
                           secrets=secrets)
        said = _scrub(result.stderr.strip() or result.stdout.strip(), secrets)
        if not result.ok:
            tail = explanation(said)
            if _NETWORK_SIGNS.search(said):
                raise IndexUnreachableError(
                    f"{self.name} could not read the package index:\n{tail}",
                    hint="check the index URLs in [tool.envcheck.indexes], the network, and "
                    "the credentials (${VARIABLE} in the URL, or ~/.netrc)")
            raise ResolutionError(
                f"{self.name} could not satisfy the requirements:\n{tail}",
                hint="change the conflicting pins, then run `envcheck lock` again; the "
                "previous lockfile is unchanged")
        try:
            return request.output.read_text(encoding="utf-8")
        except OSError as e:
            raise ResolutionError(
                f"{self.name} exited 0 but wrote no {request.output}: {e.strerror or e}") from e

    def _run(self, argv: list[str], *, env: Mapping[str, str] | None, timeout: float,
             secrets: Sequence[str]) -> CommandResult:
        try:
            return self.runner.run(argv, timeout=timeout, env=env)
        except CommandNotFoundError as e:
            raise ResolverUnavailableError(
                f"the {self.name} resolver ({self.executable}) cannot run: "
                f"{_scrub(str(e), secrets)}", hint=self.install_hint) from e
        except CommandTimeoutError as e:
            raise IndexUnreachableError(
                f"{self.name} did not finish within {timeout:g} s and was stopped; a slow or "
                "unreachable index is the usual cause", hint="check the index and retry") from e


def pins_path(request: ResolveRequest) -> Path:
    """Where uv reads the per-package index pins: a pyproject.toml beside the output."""
    return request.output.parent / "envcheck-index-pins" / "pyproject.toml"


def _without_credentials(url: str) -> tuple[str, str | None, str | None]:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    host = parts.netloc.rsplit("@", 1)[1]
    return (parts._replace(netloc=host).geturl(), unquote(parts.username or "") or None,
            unquote(parts.password or "") or None)


def _uv_index_variable(name: str) -> str:
    # uv reads a named index's credentials from UV_INDEX_<NAME>_USERNAME / _PASSWORD, the
    # name upper-cased with every other character than a letter or digit made `_`.
    return "UV_INDEX_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


def render_pins(pinned: Sequence[PinnedIndex]) -> str:
    """A pyproject.toml whose only job is [tool.uv.sources]: each pinned package from its
    explicit index, everything else from the general ones. Holds no credentials."""
    import tomlkit

    packages = [name for index in pinned for name in index.packages]
    document: dict[str, Any] = {
        "project": {"name": "envcheck-index-pins", "version": "0", "dependencies": packages},
        "tool": {"uv": {
            "sources": {name: {"index": index.name} for index in pinned
                        for name in index.packages},
            "index": [{"name": index.name, "url": _without_credentials(index.url)[0],
                       "explicit": True, **({"format": "flat"} if index.flat else {})}
                      for index in pinned],
        }},
    }
    return tomlkit.dumps(document)


class UvResolver(_SubprocessResolver):
    """`uv pip compile`: resolves for any target platform and Python from metadata alone."""

    name: ResolverName = "uv"

    def resolve(self, request: ResolveRequest) -> str:
        if request.pinned:
            path = pins_path(request)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render_pins(request.pinned), encoding="utf-8")
        return super().resolve(request)

    def argv(self, request: ResolveRequest) -> list[str]:
        inputs = (pins_path(request), *request.inputs) if request.pinned else request.inputs
        argv = [str(self.executable), "pip", "compile", *map(str, inputs),
                "--output-file", str(request.output), "--generate-hashes", "--no-header",
                "--quiet", "--python-version", request.python,
                "--python-platform", _UV_PLATFORMS[request.platform]]
        for package in request.upgrade_packages:
            argv += ["--upgrade-package", package]
        return argv

    def _index_env(self, request: ResolveRequest) -> dict[str, str]:
        # UV_INDEX indexes take priority over PyPI, so torch comes from the variant index
        # (uv's first-index strategy: no mixing of a +cu126 torch with PyPI's). Passed in
        # the environment, so credentials appear in no process listing.
        env = {}
        if request.index_urls:
            env["UV_INDEX"] = " ".join(request.index_urls)
        if request.find_links:
            env["UV_FIND_LINKS"] = ",".join(request.find_links)
        for index in request.pinned:
            _url, username, password = _without_credentials(index.url)
            if username:
                env[f"{_uv_index_variable(index.name)}_USERNAME"] = username
            if password:
                env[f"{_uv_index_variable(index.name)}_PASSWORD"] = password
        return env


class PipToolsResolver(_SubprocessResolver):
    """`pip-compile`: resolves for the interpreter it runs in, on this machine only."""

    name: ResolverName = "pip-tools"

    def argv(self, request: ResolveRequest) -> list[str]:
        argv = [str(self.executable), *map(str, request.inputs), "--output-file",
                str(request.output), "--generate-hashes", "--no-header", "--quiet",
                "--strip-extras", "--no-emit-index-url", "--no-emit-find-links",
                "--no-emit-trusted-host", "--allow-unsafe"]
        for package in request.upgrade_packages:
            argv += ["--upgrade-package", package]
        return argv

    def _index_env(self, request: ResolveRequest) -> dict[str, str]:
        # pip cannot take a package from one index only: a pinned index is one more index.
        index_urls = (*request.index_urls, *(i.url for i in request.pinned if not i.flat))
        find_links = (*request.find_links, *(i.url for i in request.pinned if i.flat))
        env = {}
        if index_urls:
            env["PIP_EXTRA_INDEX_URL"] = " ".join(index_urls)
        if find_links:
            env["PIP_FIND_LINKS"] = " ".join(find_links)
        return env


def make_resolver(name: ResolverName, *, runner: CommandRunner, bin_dirs: Sequence[Path],
                  path: str | None) -> Resolver:
    program = "uv" if name == "uv" else "pip-compile"
    executable = find_executable(program, bin_dirs=bin_dirs, path=path)
    if executable is None:
        raise ResolverUnavailableError(
            f"the {name} resolver is not installed ({program} is neither next to envcheck's "
            f"interpreter nor on PATH)", hint=INSTALL_HINT if name == "uv" else PIP_TOOLS_HINT)
    if name == "uv":
        return UvResolver(executable, runner)
    return PipToolsResolver(executable, runner)


def default_resolver(*, runner: CommandRunner, bin_dirs: Sequence[Path],
                     path: str | None) -> Resolver:
    """uv when installed (it can lock other platforms), else pip-tools."""
    for name in RESOLVER_NAMES:
        try:
            return make_resolver(name, runner=runner, bin_dirs=bin_dirs, path=path)
        except ResolverUnavailableError:
            continue
    raise ResolverUnavailableError(
        "no resolver is installed: envcheck lock runs uv (`uv pip compile`) or pip-tools "
        "(`pip-compile`)", hint=INSTALL_HINT)


def explanation(said: str) -> str:
    """What the resolver said, without the Python traceback pip-compile appends to its own
    explanation of a conflict; at most the last lines of it."""
    lines = said.splitlines()
    if "Traceback (most recent call last):" in lines:
        before = lines[: lines.index("Traceback (most recent call last):")]
        if any(line.strip() for line in before):
            lines = before
    return "\n".join(lines[-_STDERR_TAIL_LINES:]).strip()


def _scrub(text: str, secrets: Sequence[str]) -> str:
    """Take the credentials of the expanded index URLs out of what a resolver said."""
    for url in secrets:
        parts = urlsplit(url)
        if "@" not in parts.netloc:
            continue
        userinfo = parts.netloc.rsplit("@", 1)[0]
        text = text.replace(userinfo + "@", REDACTED + "@")
        if parts.password:
            text = text.replace(parts.password, REDACTED)
            text = text.replace(unquote(parts.password), REDACTED)
    return redact_text(text)
