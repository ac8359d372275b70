"""Reading a project's pyproject.toml: [tool.envcheck] into the records of project_model.

Every complaint names the file, the LINE and the key, and says what was expected and what was
seen. TOML parsers give values without positions, so the line comes from a small index of the
text (`key_lines`): table headers and `key =` lines, each with its full dotted path.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from envcheck.errors import UsageError
from envcheck.knowledge.model import TorchRelease
from envcheck.knowledge.torch_tables import parse_variant_name, torch_releases
from envcheck.project_model import (
    ContainerRuntime,
    PackageIndex,
    Profile,
    ProfileGpu,
    Project,
    RequiredRun,
    Target,
    TargetPlatform,
)
from envcheck.snapshot import DriverVersion

PYPROJECT = "pyproject.toml"
PLATFORMS: tuple[TargetPlatform, ...] = get_args(TargetPlatform)
RUNTIMES: tuple[ContainerRuntime, ...] = get_args(ContainerRuntime)
DEFAULT_PLATFORM: TargetPlatform = "linux/x86_64"

Path_ = tuple[str | int, ...]
"""A key path inside the document: ("tool", "envcheck", "profiles", "a", "gpus", 0, "name")."""


class ProjectError(UsageError):
    """pyproject.toml is missing or its [tool.envcheck] tables are malformed."""

    def __init__(self, message: str, *, hint: str | None = None, key: str | None = None,
                 line: int | None = None, problem: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.key = key
        self.line = line
        self.problem = problem or message


# --- where a key is written: the line index ---------------------------------------------------

_BARE = r"[A-Za-z0-9_-]+"
_BASIC = r'"(?:[^"\\\n]|\\.)*"'
_LITERAL = r"'[^'\n]*'"
_KEY = rf"(?:{_BARE}|{_BASIC}|{_LITERAL})"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_KEY_LINE = re.compile(rf"^\s*({_DOTTED})\s*=")
_KEY_PART = re.compile(_KEY)


@dataclass(frozen=True, kw_only=True)
class Section:
    """One `[table]` or `[[array]]` header and the lines up to the next header (0-based)."""

    path: tuple[str, ...]
    start: int
    end: int


def split_key(dotted: str) -> tuple[str, ...]:
    """`tool.envcheck."a b"` -> ("tool", "envcheck", "a b")."""
    parts = []
    for match in _KEY_PART.finditer(dotted):
        raw = match.group(0)
        if raw.startswith('"'):
            try:
                parts.append(str(json.loads(raw)))
            except json.JSONDecodeError:
                parts.append(raw[1:-1])
        elif raw.startswith("'"):
            parts.append(raw[1:-1])
        else:
            parts.append(raw)
    return tuple(parts)


def _code_lines(lines: Sequence[str]) -> list[tuple[int, str]]:
    """The lines that are TOML structure, not the inside of a multi-line string."""
    result = []
    inside: str | None = None
    for number, line in enumerate(lines):
        if inside is None:
            result.append((number, line))
        for quote in ('"""', "'''"):
            if (inside in {None, quote}) and line.count(quote) % 2 == 1:
                inside = None if inside == quote else quote
    return result


def sections(text: str) -> list[Section]:
    lines = text.split("\n")
    headers = [(number, split_key(match.group(2)))
               for number, line in _code_lines(lines)
               if (match := _HEADER.match(line))]
    return [Section(path=path, start=start,
                    end=headers[i + 1][0] if i + 1 < len(headers) else len(lines))
            for i, (start, path) in enumerate(headers)]


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Each table header and key's full path -> its first line (1-based)."""
    index: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in _code_lines(text.split("\n")):
        if header := _HEADER.match(line):
            table = split_key(header.group(2))
            index.setdefault(table, number + 1)
        elif key := _KEY_LINE.match(line):
            index.setdefault(table + split_key(key.group(1)), number + 1)
    return index


def line_of(index: Mapping[tuple[str, ...], int], path: Path_) -> int | None:
    """The line of `path`; else of the first key written inside it (a table known only from
    `[a.b.c]` headers); else of its nearest written ancestor (an inline table, a list)."""
    if all(isinstance(part, str) for part in path):
        inside = [line for key, line in index.items() if key[:len(path)] == path]
        if inside:
            return min(inside)
    for length in range(len(path), 0, -1):
        prefix = path[:length]
        if all(isinstance(part, str) for part in prefix):
            line = index.get(tuple(str(part) for part in prefix))
            if line is not None:
                return line
    return None


def dotted(path: Path_) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if re.fullmatch(_BARE, part) else json.dumps(part)
            text += f".{key}" if text else key
    return text


# --- reading ----------------------------------------------------------------------------------


def load_project(root: Path) -> Project:
    """The project in `root`: its pyproject.toml read and validated."""
    return parse_project(read_pyproject(root), root=root)


def _declares_envcheck(pyproject: Path) -> bool:
    try:
        document = parse_toml(pyproject.read_text(encoding="utf-8"), source=str(pyproject))
    except (OSError, UnicodeDecodeError, ProjectError):
        return False
    tool = document.get("tool")
    return isinstance(tool, dict) and "envcheck" in tool


def find_project_root(start: Path) -> Path:
    """The folder of the project `start` is in, found upward like git, uv and ruff do: the
    nearest folder from `start` up whose pyproject.toml has [tool.envcheck], else the nearest
    with any pyproject.toml (a project that declares no target yet)."""
    start = start.absolute()
    candidates = [folder for folder in (start, *start.parents)
                  if (folder / PYPROJECT).is_file()]
    for folder in candidates:
        if _declares_envcheck(folder / PYPROJECT):
            return folder
    if candidates:
        return candidates[0]
    raise ProjectError(
        f"no {PYPROJECT} in {start} or any folder above it",
        hint="run envcheck inside your project (any subfolder works) or name it with "
        f"--project DIR. {_how_to_start(start)}")


def _how_to_start(folder: Path) -> str:
    # A new pyproject.toml belongs at the top of the work tree, never in a subfolder of it:
    # a nested project would hide the real one from every later command.
    top = next((f for f in (folder, *folder.parents) if (f / ".git").exists()), folder)
    return (f"To start a project, create {top / PYPROJECT} (`uv init --bare` in {top}, or a "
            'file holding [project] name = "..." and version = "0.1.0").')


def read_pyproject(root: Path) -> str:
    path = root / PYPROJECT
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError) as e:
        above = next((f for f in root.absolute().parents if (f / PYPROJECT).is_file()), None)
        if above is not None:
            hint = (f"{root} is inside the project at {above}: pass --project {above}, or "
                    "leave --project out (envcheck finds the project upward from the current "
                    "folder).")
        else:
            hint = (f"envcheck reads the project's targets and profiles from {PYPROJECT}. "
                    f"{_how_to_start(root.absolute())}")
        raise ProjectError(f"no {PYPROJECT} in {root.absolute()}", hint=hint) from e
    except IsADirectoryError as e:
        raise ProjectError(f"{path} is a folder, not a file") from e
    except UnicodeDecodeError as e:
        raise ProjectError(f"{path} is not UTF-8 text: {e.reason} at byte {e.start}") from e
    except OSError as e:
        raise ProjectError(f"cannot read {path}: {e.strerror or e}") from e


def parse_toml(text: str, *, source: str) -> dict[str, Any]:
    """Plain Python values; a syntax error becomes a ProjectError naming the line."""
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            found = re.search(r"at line (\d+)", str(e))
            line = int(found.group(1)) if found else None
            raise _syntax_error(source, line, str(e)) from e
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        return tomlkit.parse(text).unwrap()
    except ParseError as e:
        raise _syntax_error(source, e.line, str(e)) from e


def _syntax_error(source: str, line: int | None, detail: str) -> ProjectError:
    where = f"{source}:{line}" if line else source
    return ProjectError(f"{where}: not valid TOML: {detail}", line=line,
                        problem=f"not valid TOML: {detail}",
                        hint="Fix the syntax there; TOML strings need quotes, "
                        "tables are [name] on their own line.")


def parse_project(text: str, *, root: Path, source: str | None = None) -> Project:
    """The project a pyproject.toml text declares; `source` names it in errors."""
    pyproject = root / PYPROJECT
    reader = _Reader(text, source or str(pyproject))
    document = parse_toml(text, source=reader.source)
    dependencies = reader.dependencies(document.get("project"))
    tool = document.get("tool", {})
    config = tool.get("envcheck", {}) if isinstance(tool, dict) else {}
    base: Path_ = ("tool", "envcheck")
    reader.table(base, config)
    reader.known_keys(base, config, ("targets", "profiles", "indexes", "runners", "require"))
    profiles = {name: reader.profile((*base, "profiles", name), name, table)
                for name, table in reader.named_tables((*base, "profiles"),
                                                       config.get("profiles"), "profile")}
    targets = {name: reader.target((*base, "targets", name), name, table, profiles)
               for name, table in reader.named_tables((*base, "targets"),
                                                      config.get("targets"), "target")}
    indexes = tuple(reader.index((*base, "indexes", name), name, table)
                    for name, table in reader.named_tables((*base, "indexes"),
                                                           config.get("indexes"), "index"))
    runners = reader.runners((*base, "runners"), config.get("runners"), profiles)
    requires = reader.requires((*base, "require"), config.get("require"), targets, runners)
    return Project(root=root, pyproject=pyproject, dependencies=dependencies, targets=targets,
                   profiles=profiles, indexes=indexes, runners=runners, requires=requires)


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PYTHON = re.compile(r"\d+\.\d+")
_COMPUTE_CAPABILITY = re.compile(r"\d+\.\d+")
_VARIANT_EXAMPLE = '"cpu" or "cu" and the CUDA version without its dot ("cu126", "cu128", "cu130")'

_TARGET_KEYS = ("python", "platform", "cuda", "torch", "requirements", "base_image", "profiles")
_PROFILE_KEYS = ("driver", "cuda_driver_api", "runtime", "glibc", "os", "gpus")
_GPU_KEYS = ("name", "compute_capability", "memory_mib", "count")
_INDEX_KEYS = ("url", "variants", "format")
_REQUIRE_KEYS = ("target", "runner")


def check_name(kind: str, name: str) -> str | None:
    """Why `name` cannot name a target/profile/index, or None when it can."""
    if _NAME.fullmatch(name):
        return None
    return (f"a {kind} name is letters, digits, '.', '_' and '-', starting with a letter or "
            f"digit; got {json.dumps(name)}")


def check_variant(value: str) -> str | None:
    if value == "cpu" or parse_variant_name(value) is not None:
        return None
    return f"expected a torch variant: {_VARIANT_EXAMPLE}, got {json.dumps(value)}"


def _variant_hint(value: str) -> str | None:
    match = re.fullmatch(r"(?:cuda|cu)?\s*(\d+)\.(\d)", value.strip().lower())
    return f'write "cu{match.group(1)}{match.group(2)}"' if match else None


def torch_variant_conflict(torch: str, cuda: str,
                           releases: Sequence[TorchRelease] | None = None) -> str | None:
    """Why no torch that `torch` admits is built as `cuda`; None when one is, or when the
    knowledge cannot tell.

    The table lists every variant only for some releases; for others it has just the PyPI
    build. So this refuses only when every admitted release lists a download.pytorch.org
    build besides its PyPI default (its variants were sourced), and none lists `cuda`. CPU
    builds exist for every release but are not always listed: "cpu" is never refused.
    """
    if cuda == "cpu":
        return None
    specifier = SpecifierSet(torch)
    admitted = [release for release in (torch_releases() if releases is None else releases)
                if specifier.contains(release.version, prereleases=True)]
    if not admitted:
        return None
    if any(variant.name == cuda for release in admitted for variant in release.variants):
        return None
    if not all(len(release.variants) > 1 for release in admitted):
        return None
    variants = sorted({variant.name for release in admitted for variant in release.variants},
                      key=lambda name: (parse_variant_name(name) or Version("999"), name))
    versions = ", ".join(str(release.version) for release in admitted)
    return (f"no torch release that {json.dumps(torch)} admits is built for {cuda}: "
            f"{versions} {'is' if len(admitted) == 1 else 'are'} built as "
            f"{', '.join(variants)}")


def _describe(value: object, raw: str | None = None) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int | float):
        return f"{raw or value} (a number)"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"{value} (a {type(value).__name__})"


class _Reader:
    """Validation of one document, with the line index for its messages."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines = text.split("\n")
        self.key_index = key_lines(text)
        self.sections = sections(text)

    def fail(self, path: Path_, problem: str, hint: str | None = None) -> ProjectError:
        line = self.array_line(path) or line_of(self.key_index, path)
        key = dotted(path)
        where = f"{self.source}:{line}" if line else self.source
        return ProjectError(f"{where}: {key}: {problem}", hint=hint, key=key, line=line,
                            problem=problem)

    def array_line(self, path: Path_) -> int | None:
        """The line of a key inside the i-th `[[array]]` table: the key index keeps only the
        first header of an array of tables, so every element would point at element 0."""
        for at, part in enumerate(path):
            if not isinstance(part, int) or at == 0:
                continue
            table = path[:at]
            if not all(isinstance(key, str) for key in table):
                return None
            headers = [section for section in self.sections if section.path == table]
            if part >= len(headers):
                return None
            section = headers[part]
            rest = [key for key in path[at + 1:] if isinstance(key, str)]
            for number in range(section.start + 1, section.end):
                found = _KEY_LINE.match(self.lines[number])
                if rest and found and split_key(found.group(1)) == (rest[0],):
                    return number + 1
            return section.start + 1
        return None

    def got(self, path: Path_, value: object) -> str:
        """The value as written: 3.10 stays 3.10, not the float 3.1 it parses to."""
        raw = None
        exact = self.key_index.get(tuple(str(part) for part in path))
        if isinstance(value, int | float) and exact is not None:
            found = re.search(r"=\s*([-+0-9._eE]+)", self.lines[exact - 1])
            raw = found.group(1) if found else None
        return _describe(value, raw)

    # shapes

    def table(self, path: Path_, value: object) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a table, got {self.got(path, value)}")
        return value

    def known_keys(self, path: Path_, table: Mapping[str, Any], known: Sequence[str]) -> None:
        for key in table:
            if key not in known:
                raise self.fail((*path, key), f"unknown key; expected one of "
                                f"{', '.join(known)}")

    def named_tables(self, path: Path_, value: object, kind: str
                     ) -> list[tuple[str, dict[str, Any]]]:
        if value is None:
            return []
        tables = self.table(path, value)
        result = []
        for name, table in tables.items():
            problem = check_name(kind, name)
            if problem:
                raise self.fail((*path, name), problem)
            result.append((name, self.table((*path, name), table)))
        return result

    def string(self, path: Path_, value: object, expected: str = "a string") -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected {expected}, got {self.got(path, value)}")
        return value

    def optional_string(self, path: Path_, table: Mapping[str, Any], key: str) -> str | None:
        return None if key not in table else self.string((*path, key), table[key])

    def required(self, path: Path_, table: Mapping[str, Any], key: str, what: str) -> object:
        if key not in table:
            raise self.fail(path, f"{key} is missing; a {what} needs one")
        return table[key]

    def strings(self, path: Path_, value: object) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list of strings, got {self.got(path, value)}")
        return tuple(self.string((*path, i), item) for i, item in enumerate(value))

    def version(self, path: Path_, value: object, example: str) -> Version:
        text = self.string(path, value, f'a version like "{example}"')
        try:
            return Version(text)
        except InvalidVersion as e:
            raise self.fail(path, f'expected a version like "{example}", got '
                            f"{json.dumps(text)}") from e

    # [project]

    def dependencies(self, project: object) -> tuple[str, ...]:
        if not isinstance(project, dict) or "dependencies" not in project:
            return ()
        return self.strings(("project", "dependencies"), project["dependencies"])

    # [tool.envcheck.targets.<name>]

    def target(self, path: Path_, name: str, table: Mapping[str, Any],
               profiles: Mapping[str, Profile]) -> Target:
        self.known_keys(path, table, _TARGET_KEYS)
        python = self.required(path, table, "python", "target")
        if not isinstance(python, str) or not _PYTHON.fullmatch(python):
            raise self.fail((*path, "python"), 'expected a Python version like "3.11", got '
                            f"{self.got((*path, 'python'), python)}",
                            hint='Quote it: python = "3.11" (a TOML number 3.10 is 3.1).')
        return Target(
            name=name, python=python,
            platform=self.platform((*path, "platform"), table.get("platform", DEFAULT_PLATFORM)),
            cuda=self.cuda((*path, "cuda"), self.required(path, table, "cuda", "target")),
            torch=self.torch(path, table),
            requirements=self.optional_string(path, table, "requirements"),
            base_image=self.optional_string(path, table, "base_image"),
            profiles=self.target_profiles((*path, "profiles"), table.get("profiles", []),
                                          profiles),
        )

    def platform(self, path: Path_, value: object) -> TargetPlatform:
        for platform in PLATFORMS:
            if value == platform:
                return platform
        raise self.fail(path, f"expected one of {', '.join(PLATFORMS)}, "
                        f"got {self.got(path, value)}")

    def cuda(self, path: Path_, value: object) -> str:
        text = self.string(path, value, f"a torch variant: {_VARIANT_EXAMPLE}")
        problem = check_variant(text)
        if problem:
            raise self.fail(path, problem, hint=_variant_hint(text))
        return text

    def torch(self, path: Path_, table: Mapping[str, Any]) -> str | None:
        if "torch" not in table:
            return None
        text = self.string((*path, "torch"), table["torch"], 'a specifier like ">=2.7,<2.8"')
        try:
            SpecifierSet(text)
        except InvalidSpecifier as e:
            hint = None
            if text.strip().lower().startswith("torch"):
                hint = f"write only the specifier: {json.dumps(text.strip()[5:].strip())}"
            with contextlib.suppress(InvalidVersion):
                hint = f'write "=={Version(text)}" for exactly that release'
            raise self.fail((*path, "torch"), f'expected a version specifier like '
                            f'">=2.7,<2.8" or "==2.7.1", got {json.dumps(text)}',
                            hint=hint) from e
        cuda = table.get("cuda")
        conflict = torch_variant_conflict(text, cuda) if isinstance(cuda, str) else None
        if conflict:
            raise self.fail((*path, "cuda"), conflict,
                            hint="Pick one of those variants, or a torch specifier that "
                            "admits a release built for this one (`envcheck compat torch "
                            "VERSION` lists a release's variants).")
        return text

    def target_profiles(self, path: Path_, value: object, profiles: Mapping[str, Profile]
                        ) -> tuple[str, ...]:
        names = self.strings(path, value)
        for i, name in enumerate(names):
            if name not in profiles:
                known = ", ".join(profiles) or "none yet"
                raise self.fail((*path, i), f"unknown profile {json.dumps(name)} "
                                f"(the profiles are: {known})",
                                hint=f"Describe that machine with `envcheck profile save {name}`"
                                " (on it, or with --snapshot FILE from it).")
            if name in names[:i]:
                raise self.fail((*path, i), f"profile {json.dumps(name)} is listed twice")
        return names

    # [tool.envcheck.profiles.<name>]

    def profile(self, path: Path_, name: str, table: Mapping[str, Any]) -> Profile:
        self.known_keys(path, table, _PROFILE_KEYS)
        if "driver" not in table:
            raise self.fail(path, "driver is missing; a profile names the NVIDIA driver of "
                            "its machine", hint='Add driver = "550.54.15", or save the profile '
                            "from the machine with `envcheck profile save`.")
        driver_text = self.string((*path, "driver"), table["driver"],
                                  'an NVIDIA driver version like "550.54.15"')
        try:
            driver = DriverVersion(driver_text)
        except ValueError as e:
            raise self.fail((*path, "driver"), 'expected an NVIDIA driver version like '
                            f'"550.54.15", got {json.dumps(driver_text)}') from e
        runtime = table.get("runtime", "docker+nvidia")
        return Profile(
            name=name, driver=driver,
            cuda_driver_api=(self.version((*path, "cuda_driver_api"), table["cuda_driver_api"],
                                          "12.4") if "cuda_driver_api" in table else None),
            gpus=self.gpus((*path, "gpus"), table.get("gpus", [])),
            runtime=self.runtime((*path, "runtime"), runtime),
            glibc=(self.version((*path, "glibc"), table["glibc"], "2.35")
                   if "glibc" in table else None),
            os=self.optional_string(path, table, "os"),
        )

    def runtime(self, path: Path_, value: object) -> ContainerRuntime:
        for runtime in RUNTIMES:
            if value == runtime:
                return runtime
        raise self.fail(path, f"expected one of {', '.join(RUNTIMES)}, "
                        f"got {self.got(path, value)}")

    def gpus(self, path: Path_, value: object) -> tuple[ProfileGpu, ...]:
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list of GPU tables, got {self.got(path, value)}")
        return tuple(self.gpu((*path, i), self.table((*path, i), item))
                     for i, item in enumerate(value))

    def gpu(self, path: Path_, table: Mapping[str, Any]) -> ProfileGpu:
        self.known_keys(path, table, _GPU_KEYS)
        name = self.optional_string(path, table, "name")
        capability = self.optional_string(path, table, "compute_capability")
        if capability is not None and not _COMPUTE_CAPABILITY.fullmatch(capability):
            raise self.fail((*path, "compute_capability"), 'expected a compute capability '
                            f'like "8.9", got {json.dumps(capability)}')
        if name is None and capability is None:
            raise self.fail(path, "a GPU needs a name (\"NVIDIA GeForce RTX 4090\") or a "
                            "compute_capability (\"8.9\")")
        return ProfileGpu(name=name, compute_capability=capability,
                          memory_mib=self.count(path, table, "memory_mib", None),
                          count=self.count(path, table, "count", 1) or 1)

    def count(self, path: Path_, table: Mapping[str, Any], key: str, default: int | None
              ) -> int | None:
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail((*path, key), f"expected a whole number of at least 1, got "
                            f"{self.got((*path, key), value)}")
        return value

    # [tool.envcheck.indexes.<name>] and [tool.envcheck.runners]

    def index(self, path: Path_, name: str, table: Mapping[str, Any]) -> PackageIndex:
        self.known_keys(path, table, _INDEX_KEYS)
        url = self.string((*path, "url"), self.required(path, table, "url", "package index"),
                          "the index URL")
        variants = self.strings((*path, "variants"), table.get("variants", []))
        for i, variant in enumerate(variants):
            problem = check_variant(variant)
            if problem:
                raise self.fail((*path, "variants", i), problem, hint=_variant_hint(variant))
        index_format = table.get("format", "simple")
        if index_format not in ("simple", "flat"):
            raise self.fail((*path, "format"), f'expected "simple" (a PEP 503 index) or "flat" '
                            f"(a folder of wheels, pip's --find-links), got "
                            f"{_describe(index_format)}")
        return PackageIndex(name=name, url=url, variants=variants,
                            format="flat" if index_format == "flat" else "simple")

    def runners(self, path: Path_, value: object, profiles: Mapping[str, Profile]
                ) -> dict[str, str]:
        if value is None:
            return {}
        runners = {}
        for label, profile in self.table(path, value).items():
            name = self.string((*path, label), profile, "a profile name")
            if name not in profiles:
                raise self.fail((*path, label), f"unknown profile {json.dumps(name)} (the "
                                f"profiles are: {', '.join(profiles) or 'none yet'})")
            runners[label] = name
        return runners

    # [[tool.envcheck.require]]

    def requires(self, path: Path_, value: object, targets: Mapping[str, Target],
                 runners: Mapping[str, str]) -> tuple[RequiredRun, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(path, f"expected an array of tables ([[tool.envcheck.require]] "
                            f"with target and runner), got {self.got(path, value)}")
        result: list[RequiredRun] = []
        for i, item in enumerate(value):
            table = self.table((*path, i), item)
            self.known_keys((*path, i), table, _REQUIRE_KEYS)
            target = self.string((*path, i, "target"),
                                 self.required((*path, i), table, "target", "require entry"),
                                 "a target name")
            runner = self.string((*path, i, "runner"),
                                 self.required((*path, i), table, "runner", "require entry"),
                                 "a runner label")
            if target not in targets:
                raise self.fail((*path, i, "target"), f"unknown target {json.dumps(target)} "
                                f"(the targets are: {', '.join(targets) or 'none yet'})",
                                hint="Name a table of [tool.envcheck.targets], or add it with "
                                "`envcheck target add`.")
            if runner not in runners:
                raise self.fail((*path, i, "runner"), f"unknown runner {json.dumps(runner)} "
                                f"(the runners are: {', '.join(runners) or 'none yet'})",
                                hint=f'Map it to a profile in [tool.envcheck.runners]: '
                                f'{json.dumps(runner)} = "PROFILE".')
            required = RequiredRun(target=target, runner=runner)
            if required in result:
                raise self.fail((*path, i), f"{target} on {runner} is required twice")
            result.append(required)
        return tuple(result)
