"""The content hash of an installed tree (a virtual environment), run inside the image.

Standard library only, Python 3.8+: it runs under the image's own interpreter during the
build, copied there as a file. The hash covers, for every entry in sorted order, its path
relative to the root, its kind, whether it is executable, and its bytes (a symlink: its
target). Timestamps, owners and byte-code caches are left out: they differ between two
builds of the same lock without changing what runs.

Usage: python tree_hash.py ROOT     (prints sha256:<hex>)
       python tree_hash.py --site   (the site-packages/dist-packages folders on sys.path,
                                     each hashed, then the list hashed: `envcheck
                                     fingerprint` on an image envcheck did not build)
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys

_SKIPPED_DIRS = {"__pycache__"}
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


def tree_sha256(root: str) -> str:
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        # Symlinked folders are listed in `dirs`, not followed: hash them as links.
        entries = sorted(files + [d for d in dirs if os.path.islink(os.path.join(folder, d))])
        for name in entries:
            if name.endswith(_SKIPPED_SUFFIXES):
                continue
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                record = b"L\0" + os.readlink(path).encode("utf-8", "surrogateescape")
            else:
                executable = b"x" if info.st_mode & 0o111 else b"-"
                content = hashlib.sha256()
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        content.update(block)
                record = b"F" + executable + b"\0" + content.hexdigest().encode("ascii")
            digest.update(relative.encode("utf-8", "surrogateescape") + b"\0" + record + b"\n")
    return "sha256:" + digest.hexdigest()


def site_sha256() -> str:
    folders = []
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        wanted = os.path.basename(real) in ("site-packages", "dist-packages")
        if wanted and os.path.isdir(real) and real not in folders:
            folders.append(real)
    digest = hashlib.sha256()
    for folder in folders:
        digest.update(folder.encode("utf-8", "surrogateescape") + b"\0"
                      + tree_sha256(folder).encode("ascii") + b"\n")
    return "sha256:" + digest.hexdigest()


if __name__ == "__main__":
    answer = site_sha256() if sys.argv[1] == "--site" else tree_sha256(sys.argv[1])
    sys.stdout.write(answer + "\n")
