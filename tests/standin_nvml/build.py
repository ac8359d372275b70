"""Compile the stand-in ``libnvidia-ml.so.1`` that the real pynvml loads in tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).with_name("libnvml.c")
LIBRARY_NAME = "libnvidia-ml.so.1"
GCC_FLAGS = ("-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror")


def build_standin_nvml(dest: Path) -> Path:
    """Build ``dest/libnvidia-ml.so.1`` and return ``dest``, the folder for LD_LIBRARY_PATH.

    The build is skipped when the library is already newer than the C source.
    """
    library = dest / LIBRARY_NAME
    if library.exists() and library.stat().st_mtime >= SOURCE.stat().st_mtime:
        return dest
    gcc = shutil.which("gcc")
    if gcc is None:
        msg = (
            f"gcc not found on PATH; it is needed to build the stand-in {LIBRARY_NAME} "
            f"from {SOURCE}. Install it (Debian: apt-get install gcc) and run the tests again."
        )
        raise RuntimeError(msg)
    dest.mkdir(parents=True, exist_ok=True)
    # Compile to a private name and rename, so a concurrent test never loads half a file.
    partial = dest / f".{LIBRARY_NAME}.{os.getpid()}.tmp"
    try:
        subprocess.run(
            [gcc, *GCC_FLAGS, "-o", str(partial), str(SOURCE)],
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as e:
        partial.unlink(missing_ok=True)
        msg = f"gcc failed to build {LIBRARY_NAME} from {SOURCE} (exit {e.returncode}):\n{e.stderr}"
        raise RuntimeError(msg) from e
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(library)
    return dest
