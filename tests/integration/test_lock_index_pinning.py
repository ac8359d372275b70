"""A PyTorch variant index serves the torch family only, with the real uv, hermetically.

Two flat indexes on disk stand in for PyPI and download.pytorch.org/whl/cu126: the variant
index also hosts a newer numpy, as the real one hosts numpy, pillow and more. uv runs offline,
so no registry is asked and the result does not depend on what PyPI serves today.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from tests.integration.conftest import CliRunner


def _wheel(folder: Path, dist: str, version: str, requires: tuple[str, ...] = ()) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    module = dist.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    metadata = (f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
                + "".join(f"Requires-Dist: {r}\n" for r in requires))
    files = {f"{module}/__init__.py": b"", f"{info}/METADATA": metadata.encode(),
             f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: envcheck-tests\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{path},sha256="
              f"{base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b'=').decode()},"
              f"{len(body)}" for path, body in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(folder / f"{module}-{version}-py3-none-any.whl", "w") as wheel:
        for path, body in files.items():
            wheel.writestr(path, body)


def test_numpy_comes_from_the_general_index_not_the_pytorch_one(
        envcheck_cli: CliRunner, tmp_path: Path) -> None:
    general, variant = tmp_path / "general", tmp_path / "pytorch-cu126"
    _wheel(general, "numpy", "1.0")
    _wheel(general, "torch", "2.10.0", ("numpy",))
    _wheel(general, "torchvision", "0.25.0", ("torch==2.10.0",))
    _wheel(variant, "torch", "2.10.0+cu126", ("numpy",))
    _wheel(variant, "torchvision", "0.25.0+cu126", ("torch==2.10.0",))
    _wheel(variant, "numpy", "9.9")
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.in").write_text("torchvision\nnumpy\n")
    (project / "pyproject.toml").write_text(f"""\
[project]
name = "demo"
version = "0.1.0"

[tool.envcheck.indexes.general]
url = "{general}"
format = "flat"

[tool.envcheck.indexes.pytorch-cu126]
url = "{variant}"
format = "flat"
variants = ["cu126"]

[tool.envcheck.targets.train]
python = "3.11"
cuda = "cu126"
torch = "==2.10.0"
requirements = "requirements.in"
""")
    result = envcheck_cli("lock", "--json", cwd=project,
                          env={"UV_OFFLINE": "1", "UV_CACHE_DIR": str(tmp_path / "uv-cache")})
    assert result.returncode == 0, result.stderr
    [document] = result.json()
    versions = {p["name"]: p["version"] for p in document["packages"]}
    assert versions == {"numpy": "1.0", "torch": "2.10.0+cu126",
                        "torchvision": "0.25.0+cu126"}
