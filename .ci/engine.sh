#!/usr/bin/env bash
# Make sure a Docker engine answers on the default socket, installing and starting one if not.
#
# Run it (bash .ci/engine.sh) or source it; either way it leaves dockerd running in the
# background. A second call returns as soon as `docker info` answers.
#
# These machines (Debian 12, root) have no systemd, so dockerd is started by hand. Nothing is
# pulled from a registry: tests build their own base image with scripts/make-base-image.sh.
#
# Environment:
#   ENVCHECK_DOCKER_STORAGE_DRIVER  force a storage driver (default: overlay2 when an overlay
#                                   mount works on the data root's file system, else vfs)
#   ENVCHECK_DOCKERD_LOG            where dockerd writes its log (default /tmp/dockerd.log)
set -euo pipefail

_engine_socket=/var/run/docker.sock
_engine_data_root=/var/lib/docker
_engine_log=${ENVCHECK_DOCKERD_LOG:-/tmp/dockerd.log}
_engine_wait_seconds=60

_engine_answers() {
    # Talk to the default socket even when the caller's DOCKER_HOST points elsewhere.
    [ -S "$_engine_socket" ] && DOCKER_HOST="unix://$_engine_socket" timeout 10 docker info >/dev/null 2>&1
}

_engine_missing_packages() {
    local package status
    for package in docker.io debootstrap docker-registry iproute2 gcc make; do
        status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || printf '%s\n' "$package"
    done
}

_engine_install() {
    local missing
    missing=$(_engine_missing_packages)
    if [ -z "$missing" ] && command -v dockerd >/dev/null && command -v docker >/dev/null; then
        return 0
    fi
    if [ "$(id -u)" != 0 ] || [ ! -r /etc/debian_version ]; then
        echo "engine.sh: no Docker engine answers and this is not root on Debian, so it cannot" \
            "install one; start dockerd yourself (missing packages: ${missing:-none})." >&2
        return 1
    fi
    echo "engine.sh: installing ${missing//$'\n'/ }" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086  # one package name per word
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

_engine_storage_driver() {
    if [ -n "${ENVCHECK_DOCKER_STORAGE_DRIVER:-}" ]; then
        printf '%s\n' "$ENVCHECK_DOCKER_STORAGE_DRIVER"
        return 0
    fi
    # overlay2 fails when the data root is itself on overlayfs (an engine inside a container)
    # or the kernel lacks overlay; try a real overlay mount where the layers would live.
    local probe driver=vfs
    mkdir -p "$_engine_data_root"
    probe=$(mktemp -d "$_engine_data_root/.overlay-probe.XXXXXX")
    mkdir "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
    if mount -t overlay overlay \
        -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
        "$probe/merged" 2>/dev/null; then
        touch "$probe/merged/written" 2>/dev/null && [ -e "$probe/upper/written" ] && driver=overlay2
        umount "$probe/merged"
    fi
    rm -rf "$probe"
    printf '%s\n' "$driver"
}

_engine_start() {
    local driver pid
    pid=$(cat /var/run/docker.pid 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        echo "engine.sh: dockerd is already running but not answering yet; waiting for it" >&2
    else
        driver=$(_engine_storage_driver)
        echo "engine.sh: starting dockerd (storage driver $driver, log $_engine_log)" >&2
        # setsid: the engine must outlive this script and the CI step's process group.
        setsid nohup dockerd --host "unix://$_engine_socket" --storage-driver "$driver" \
            >"$_engine_log" 2>&1 </dev/null &
        pid=$!
    fi
    local waited=0
    until _engine_answers; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$waited" -ge "$_engine_wait_seconds" ]; then
            echo "engine.sh: dockerd exited or did not answer within ${_engine_wait_seconds}s;" \
                "last lines of $_engine_log:" >&2
            tail -n 40 "$_engine_log" >&2 || true
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    echo "engine.sh: engine up after ${waited}s:" \
        "$(DOCKER_HOST="unix://$_engine_socket" docker info --format \
            '{{.ServerVersion}} storage={{.Driver}} cgroup={{.CgroupVersion}}')" >&2
}

envcheck_engine_up() {
    _engine_answers && return 0
    local started=$SECONDS
    _engine_install
    _engine_start
    echo "engine.sh: install and start took $((SECONDS - started))s" >&2
}

# Sourced: define envcheck_engine_up and run it; executed: run it and exit with its status.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    envcheck_engine_up
else
    envcheck_engine_up || return 1
fi
