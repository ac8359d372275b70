#!/usr/bin/env bash
# Build the test base image envcheck-test/bookworm-python:2 without any registry.
#
# Docker Hub cannot be reached from the development machines or CI, so the image is a
# debootstrap'ed Debian bookworm (minbase + python3 + python3-venv) imported with `docker import`.
# python3-venv is Debian's split-out ensurepip: image builds make virtual environments offline.
# The root file system is cached as a tarball, because the engine's data root may be wiped
# between runs while the cache folder stays: then re-creating the image is a `docker import`.
#
# Environment:
#   ENVCHECK_TEST_CACHE      cache folder (default /var/cache/envcheck-test)
#   ENVCHECK_DEBIAN_MIRROR   Debian mirror (default: the one apt uses here, else deb.debian.org)
#   ENVCHECK_BASE_IMAGE      tag to create (default envcheck-test/bookworm-python:2)
set -euo pipefail

image=${ENVCHECK_BASE_IMAGE:-envcheck-test/bookworm-python:2}
cache_dir=${ENVCHECK_TEST_CACHE:-/var/cache/envcheck-test}
packages=python3-minimal,python3,python3-venv
# The package set is in the name: a tarball cached by an older version of this script is not reused.
tarball=$cache_dir/bookworm-python-venv.tar
suite=bookworm
started=$SECONDS

say() { echo "make-base-image: $*" >&2; }

debian_mirror() {
    if [ -n "${ENVCHECK_DEBIAN_MIRROR:-}" ]; then
        printf '%s\n' "$ENVCHECK_DEBIAN_MIRROR"
        return 0
    fi
    # The mirror apt already reaches: deb822 "URIs:" lines or one-line "deb URI suite ...",
    # the main archive only (not debian-security).
    local uri
    uri=$(
        {
            sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null
            sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
                /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
        } | tr ' ' '\n' | grep -E '^https?://[^[:space:]]+/debian/?$' | head -n 1 || true
    )
    printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

build_tarball() {
    local mirror rootfs
    mirror=$(debian_mirror)
    command -v debootstrap >/dev/null || {
        say "debootstrap is not installed; run .ci/engine.sh or apt-get install debootstrap"
        return 1
    }
    rootfs=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
    # shellcheck disable=SC2064  # expand now: the folder is known here
    trap "rm -rf '$rootfs'" EXIT
    say "debootstrap $suite from $mirror into $rootfs"
    if ! debootstrap --variant=minbase --include="$packages" \
        "$suite" "$rootfs" "$mirror" >"$cache_dir/debootstrap.log" 2>&1; then
        say "debootstrap failed; last lines of $cache_dir/debootstrap.log:"
        tail -n 30 "$cache_dir/debootstrap.log" >&2
        [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
        return 1
    fi
    # Small image: no package lists, archives, docs, man pages or locales besides C.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
        "$rootfs"/usr/share/locale/* "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/debootstrap
    # The host's resolver and hostname would leak into the image; the engine bind-mounts its own.
    : >"$rootfs/etc/resolv.conf"
    : >"$rootfs/etc/hostname"
    # Write aside and rename, so an interrupted run never leaves a half tarball in the cache.
    tar --numeric-owner -C "$rootfs" -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
    rm -rf "$rootfs"
    trap - EXIT
    say "cached $(du -h "$tarball" | cut -f1) root file system at $tarball"
}

if docker image inspect "$image" >/dev/null 2>&1; then
    say "$image is already there ($((SECONDS - started))s)"
    exit 0
fi
mkdir -p "$cache_dir"
# One builder at a time (parallel test sessions); the others wait, then find the image.
exec 9>"$cache_dir/.lock"
flock 9
if docker image inspect "$image" >/dev/null 2>&1; then
    say "$image was made by another run meanwhile ($((SECONDS - started))s)"
    exit 0
fi
if [ ! -s "$tarball" ]; then
    build_tarball
fi
docker import --change 'CMD ["python3"]' \
    --message "debootstrap --variant=minbase --include=$packages $suite" \
    "$tarball" "$image" >/dev/null
say "imported $image from $tarball in $((SECONDS - started))s"
