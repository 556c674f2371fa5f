#!/bin/bash
# Build the MariaDB test image without any container registry: debootstrap a Debian
# rootfs with mariadb-server, `docker import` it, and layer docker/test-image/entrypoint.sh
# (the official images' contract) on top.
#
# Two caches, so CI steps and reruns stay fast:
#   - the image itself: skipped when the engine already has it with the same entrypoint
#     (label org.harbor-migrate.entrypoint-sha256);
#   - the debootstrap rootfs tarball, in $HARBOR_MIGRATE_IMAGE_CACHE
#     (default /var/cache/harbor-migrate): an engine without the image imports it in
#     seconds instead of debootstrapping again (about a minute and 600 MB of downloads).
#
# Usage: docker/build-test-image.sh [--force] [--refresh]
#   --force    rebuild the image even if it exists (reuses the rootfs tarball)
#   --refresh  debootstrap again, replacing the cached tarball (implies --force)
# Env: HARBOR_MIGRATE_TEST_IMAGE (default harbor-migrate-test-mariadb:10.11),
#      HARBOR_MIGRATE_IMAGE_CACHE, HARBOR_MIGRATE_DEBIAN_MIRROR (default deb.debian.org),
#      DOCKER_HOST (which engine). All output goes to stderr.
set -euo pipefail

IMAGE="${HARBOR_MIGRATE_TEST_IMAGE:-harbor-migrate-test-mariadb:10.11}"
CACHE_DIR="${HARBOR_MIGRATE_IMAGE_CACHE:-/var/cache/harbor-migrate}"
MIRROR="${HARBOR_MIGRATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
PACKAGES=mariadb-server,mariadb-client
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENTRYPOINT_SRC="$HERE/test-image/entrypoint.sh"
LABEL=org.harbor-migrate.entrypoint-sha256

FORCE=0
REFRESH=0
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        --refresh) FORCE=1; REFRESH=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 0 ;;
        *) echo "build-test-image: unknown argument $arg (see --help)" >&2; exit 2 ;;
    esac
done

exec 1>&2   # everything below logs to stderr; stdout stays clean for callers that eval
log() { echo "build-test-image: $*"; }
die() { echo "build-test-image: ERROR: $*"; exit 1; }
START=$SECONDS

command -v docker >/dev/null || die "no docker CLI: apt-get install -y docker.io (or run .ci/docker-setup.sh)"
docker info >/dev/null 2>&1 || die "no Docker engine answers at ${DOCKER_HOST:-the default socket}: start one with .ci/docker-setup.sh and eval its exports"

ENTRY_SHA="$(sha256sum "$ENTRYPOINT_SRC" | cut -c1-64)"
KEY="$(printf '%s %s' "$SUITE" "$PACKAGES" | sha256sum | cut -c1-12)"
TARBALL="$CACHE_DIR/rootfs-$SUITE-$KEY.tar"
BASE="harbor-migrate-test-mariadb-base:$SUITE-$KEY"

current="$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)"
if [ "$FORCE" = 0 ] && [ "$current" = "$ENTRY_SHA" ]; then
    log "$IMAGE already in the engine with this entrypoint; skipped (--force rebuilds) [$((SECONDS - START))s]"
    exit 0
fi

mkdir -p "$CACHE_DIR"
# One build at a time per cache: a second CI step waits, then finds the tarball.
exec 9>"$CACHE_DIR/.build.lock"
flock 9

T0=$SECONDS
if [ "$REFRESH" = 1 ] || [ ! -s "$TARBALL" ]; then
    command -v debootstrap >/dev/null || die "no debootstrap: apt-get install -y debootstrap"
    [ "$(id -u)" = 0 ] || die "debootstrap needs root: run as root or provide $TARBALL"
    WORK="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    log "debootstrap $SUITE with $PACKAGES from $MIRROR (about a minute)"
    if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$WORK/rootfs" "$MIRROR" \
            >"$WORK/debootstrap.log" 2>&1; then
        tail -n 20 "$WORK/debootstrap.log"
        die "debootstrap failed (log above): check that $MIRROR is reachable"
    fi
    # The package's postinst initialised a datadir; the entrypoint must see an empty one.
    rm -rf "$WORK/rootfs/var/lib/mysql" "$WORK/rootfs/var/lib/apt/lists/"* \
        "$WORK/rootfs/var/cache/apt/"*.bin "$WORK/rootfs/var/cache/apt/archives/"*.deb \
        "$WORK/rootfs/usr/share/doc" "$WORK/rootfs/usr/share/man" "$WORK/rootfs/usr/share/info"
    mkdir -p "$WORK/rootfs/var/lib/mysql"
    tar -C "$WORK/rootfs" --numeric-owner -cf "$WORK/rootfs.tar" .
    mv "$WORK/rootfs.tar" "$TARBALL"
    rm -rf "$WORK"
    trap - EXIT
    log "rootfs cached in $TARBALL ($(du -h "$TARBALL" | cut -f1)) [$((SECONDS - T0))s]"
else
    log "using the cached rootfs $TARBALL"
fi

T1=$SECONDS
if [ "$REFRESH" = 1 ] || ! docker image inspect "$BASE" >/dev/null 2>&1; then
    docker import "$TARBALL" "$BASE" >/dev/null
    log "imported $BASE [$((SECONDS - T1))s]"
fi

# Layer the entrypoint on the base: create, copy, commit (seconds; no builder needed).
STAGE="$(mktemp -d)"
cid=""
cleanup() { rm -rf "$STAGE"; if [ -n "$cid" ]; then docker rm -f "$cid" >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
mkdir -p "$STAGE/usr/local/bin" "$STAGE/docker-entrypoint-initdb.d"
install -m 0755 "$ENTRYPOINT_SRC" "$STAGE/usr/local/bin/docker-entrypoint.sh"
cid="$(docker create "$BASE" /bin/true)"
tar -C "$STAGE" --owner=0 --group=0 -c . | docker cp - "$cid:/"
docker commit \
    -c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    -c 'CMD ["mariadbd"]' \
    -c 'EXPOSE 3306' \
    -c 'ENV LANG=C.UTF-8' \
    -c "LABEL $LABEL=$ENTRY_SHA" \
    "$cid" "$IMAGE" >/dev/null
log "built $IMAGE in $((SECONDS - START))s"
