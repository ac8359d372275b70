"""A flat index (a folder of wheels, pip's --find-links) of small pure-Python wheels that the
tests make themselves, so that a lock resolved in a test never depends on what the package
index serves today (issue 13: a new pyyaml on PyPI turned a fresh clone's CI red).

The resolvers are told to use nothing else: uv with UV_OFFLINE=1 (it has no environment
switch for --no-index, and offline it reads no registry), pip-compile and pip with
PIP_NO_INDEX=1. The names start with `ec-` so that no cached download of a real package can
stand in for one of them.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# The packages the lock tests resolve: one pinned app with a dependency tree, a package
# with two releases (so an upgrade has somewhere to go) and one that conflicts.
#   ec-app 1.0 -> ec-http >=2, ec-codec ; ec-http 2.x -> ec-idna ; ec-codec -> nothing
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True, kw_only=True)
class DemoWheel:
    name: str
    version: str
    requires: tuple[str, ...] = ()
    modules: Mapping[str, str] = field(default_factory=dict)
    """Files under the package's import folder (name with `-` as `_`), path -> text."""

    @property
    def import_name(self) -> str:
        return self.name.replace("-", "_")

    @property
    def filename(self) -> str:
        return f"{self.import_name}-{self.version}-py3-none-any.whl"


DEMO_WHEELS: tuple[DemoWheel, ...] = (
    DemoWheel(name="ec-app", version="1.0", requires=("ec-http>=2", "ec-codec")),
    DemoWheel(name="ec-http", version="2.0", requires=("ec-idna",)),
    DemoWheel(name="ec-http", version="2.1", requires=("ec-idna",)),
    DemoWheel(name="ec-idna", version="3.0"),
    DemoWheel(name="ec-codec", version="1.0"),
    DemoWheel(name="ec-codec", version="1.1"),
    DemoWheel(name="ec-six", version="1.16.0"),
    DemoWheel(name="ec-six", version="1.17.0"),
    DemoWheel(name="ec-tomli", version="2.2.1"),
    DemoWheel(name="ec-yaml", version="6.0.2", modules={
        "__init__.py": "__version__ = '6.0.2'\n", "reader.py": "def read(text): return text\n",
        "nodes.py": "class Node: pass\n"}),
)
NEWEST = {"ec-http": "2.1", "ec-codec": "1.1", "ec-six": "1.17.0"}

OFFLINE_ENV: Mapping[str, str] = {"UV_OFFLINE": "1", "PIP_NO_INDEX": "1"}
"""What keeps the resolvers and pip off every registry: only the flat index answers."""


def _urlsafe_sha256(content: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()


def build_wheel(folder: Path, wheel: DemoWheel) -> Path:
    """A real, installable wheel (METADATA, WHEEL, RECORD with hashes), byte-identical on
    every run: fixed timestamps, fixed order."""
    info = f"{wheel.import_name}-{wheel.version}.dist-info"
    modules = dict(wheel.modules) or {"__init__.py": f"__version__ = {wheel.version!r}\n"}
    files: dict[str, bytes] = {
        f"{wheel.import_name}/{path}": text.encode() for path, text in modules.items()}
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {wheel.name}\nVersion: {wheel.version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in wheel.requires)).encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: envcheck-tests\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = [f"{path},sha256={_urlsafe_sha256(content)},{len(content)}"
              for path, content in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    path = folder / wheel.filename
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, _FIXED_TIME), content)
    return path


def make_flat_index(folder: Path, wheels: Iterable[DemoWheel] = DEMO_WHEELS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        build_wheel(folder, wheel)
    return folder


def index_table(folder: Path, name: str = "test-wheels") -> str:
    """The pyproject.toml table that points envcheck at the folder."""
    return f'\n[tool.envcheck.indexes.{name}]\nurl = "{folder}"\nformat = "flat"\n'
