#!/usr/bin/env bash
# The newcomer's path (issue 14): build the wheel with pypa/build, install it into a clean
# venv, and run `envcheck doctor`, `inspect --json` and `lock` from outside the checkout, on a
# tiny project whose one pinned requirement comes from a flat local index (uv offline: no
# registry is asked, so the result does not depend on what PyPI serves today).
#
# Usage: bash .ci/wheel-smoke.sh [PYTHON]   (default .venv/bin/python, which has `build`)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
python=${1:-.venv/bin/python}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "wheel-smoke: building the wheel"
"$python" -m build --wheel --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/envcheck-*.whl)

echo "wheel-smoke: installing $(basename "$wheel") into a clean venv"
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel"
envcheck=$work/venv/bin/envcheck

# Outside the checkout, so nothing of the source tree can be imported by accident.
cd "$work"
"$work/venv/bin/python" - "$repo" <<'EOF'
import sys
from pathlib import Path

import envcheck

where = Path(envcheck.__file__).resolve()
assert Path(sys.argv[1]).resolve() not in where.parents, f"imported from the checkout: {where}"
EOF

"$envcheck" --help >/dev/null
status=0
"$envcheck" doctor >"$work/doctor.txt" 2>&1 || status=$?
# 0: no errors; 3: findings (a CI machine has no GPU). Anything else is a failure to run.
if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
    cat "$work/doctor.txt"; echo "wheel-smoke: envcheck doctor exited $status"; exit 1
fi
"$envcheck" inspect --json >"$work/inspect.json"
"$work/venv/bin/python" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["schema"] == "envcheck.snapshot/1", d.get("schema")' "$work/inspect.json"

# A one-file wheel for the flat index, written by hand (no build backend needed).
mkdir -p "$work/wheels" "$work/project/src"
"$work/venv/bin/python" - "$work/wheels" <<'EOF'
import base64, hashlib, sys, zipfile
from pathlib import Path

name, version = "envcheck_smoke_dep", "1.0.0"
info = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": b"",
    f"{info}/METADATA": f"Metadata-Version: 2.1\nName: envcheck-smoke-dep\nVersion: {version}\n".encode(),
    f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: envcheck-ci\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b'=').decode()},{len(body)}"
          for path, body in files.items()]
files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
with zipfile.ZipFile(Path(sys.argv[1]) / f"{name}-{version}-py3-none-any.whl", "w") as wheel:
    for path, body in files.items():
        wheel.writestr(path, body)
EOF
cat >"$work/project/pyproject.toml" <<EOF
[project]
name = "smoke"
version = "0.1.0"

[tool.envcheck.indexes.local]
url = "$work/wheels"
format = "flat"

[tool.envcheck.targets.app]
python = "3.11"
cuda = "cpu"
requirements = "requirements.in"
EOF
echo "envcheck-smoke-dep==1.0.0" >"$work/project/requirements.in"

# From a subfolder: the project is found upward. uv comes with the wheel (no extra needed).
cd "$work/project/src"
UV_OFFLINE=1 UV_CACHE_DIR="$work/uv-cache" "$envcheck" lock
grep -q '^envcheck-smoke-dep==1.0.0' "$work/project/lockfiles/app.txt"
"$envcheck" lock --check
echo "wheel-smoke: ok (doctor exit $status, inspect --json, lock from a subfolder)"
