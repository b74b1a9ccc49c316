#!/usr/bin/env bash
# Build mlmon's container images without a Docker engine or a registry: the Python base
# from Debian packages (mmdebstrap, bookworm minbase + python3), the images with buildah
# (chroot isolation). Three images, NAME:TAG being --image (default mlmon:<version>):
#
#   NAME-base:TAG   the Python base alone (to measure what mlmon adds)
#   NAME:TAG        the sidecar: base + `pip install mlmon` (no extras, so no pyarrow);
#                   runs `mlmon serve` as UID 10001, read-only root friendly
#   NAME-batch:TAG  base + mlmon with the Dockerfile's BATCH_EXTRAS (pyarrow), for
#                   `mlmon batch` and `mlmon profile build` jobs
#
# The Dockerfile builds the same two targets (--target sidecar / --target batch) on a
# python slim base; both read the batch extras from its `ARG BATCH_EXTRAS=`. Wheels come
# from PyPI (`pip download` for the base's Python) and from this checkout (`pip wheel`).
#
# Usage: scripts/build-image.sh [--image NAME:TAG] [--work DIR] [--rootfs-cache DIR] [--print]
#   --work DIR          keep the rootfs, wheels and logs there (default: a temporary directory)
#   --rootfs-cache DIR  reuse the base's root filesystem built in the last 7 days with the
#                       same mmdebstrap arguments (the tests keep it in .venv/image-cache)
#   --print             print what goes in each image and exit
# Environment: PYTHON (runs pip; default python3), DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR,
#   BUILDAH_OPTS (global buildah options, e.g. "--root DIR --runroot DIR --storage-driver vfs"
#   for a separate store, or vfs where overlay does not work).
# Needs root, buildah and mmdebstrap (apt-get install buildah mmdebstrap).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dockerfile="$root/Dockerfile"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/pyproject.toml" | head -n 1)"
batch_extras="$(sed -n 's/^ARG BATCH_EXTRAS=\(.*\)$/\1/p' "$dockerfile" | head -n 1)"
suite=bookworm
uid=10001
image="mlmon:$version"
work=""
cache=""
print=0

while [ $# -gt 0 ]; do
    case "$1" in
        --image) image="$2"; shift 2 ;;
        --work) work="$2"; shift 2 ;;
        --rootfs-cache) cache="$2"; shift 2 ;;
        --print) print=1; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-image: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$version" ] || [ -z "$batch_extras" ]; then
    echo "build-image: cannot read the version (pyproject.toml) or BATCH_EXTRAS (Dockerfile)" >&2
    exit 2
fi
name="${image%:*}"
tag="${image##*:}"
[ "$name" != "$image" ] || tag="$version"
base_image="$name-base:$tag"
sidecar_image="$name:$tag"
batch_image="$name-batch:$tag"
sidecar_req="mlmon"
batch_req="mlmon[$batch_extras]"
sidecar_cmd='["serve", "--config", "/etc/mlmon/mlmon.yaml", "--socket", "/var/run/mlmon/mlmon.sock", "--state-file", "/var/lib/mlmon/state.json"]'
batch_cmd='["--help"]'

if [ "$print" -eq 1 ]; then
    printf 'base %s debian %s minbase + python3\n' "$base_image" "$suite"
    printf 'sidecar %s %s\n' "$sidecar_image" "$sidecar_req"
    printf 'batch %s %s\n' "$batch_image" "$batch_req"
    exit 0
fi

for tool in buildah mmdebstrap; do
    if ! command -v "$tool" >/dev/null; then
        echo "build-image: $tool not installed (as root: apt-get install buildah mmdebstrap)" >&2
        exit 2
    fi
done
if [ "$(id -u)" -ne 0 ]; then
    echo "build-image: run as root (mmdebstrap and buildah's chroot isolation need it)" >&2
    exit 2
fi

python="${PYTHON:-python3}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
read -r -a bopts <<<"${BUILDAH_OPTS:-}"
b() { buildah "${bopts[@]}" "$@"; }

containers=()
cleanup() {
    for c in "${containers[@]}"; do b rm "$c" >/dev/null 2>&1 || true; done
    if [ -n "${tmpwork:-}" ]; then rm -rf "$tmpwork"; fi
}
trap cleanup EXIT
if [ -z "$work" ]; then
    tmpwork="$(mktemp -d)"
    work="$tmpwork"
fi
mkdir -p "$work"
work="$(cd "$work" && pwd)"
log() { printf 'build-image: %s %s\n' "$(date -u +%T)" "$*" >&2; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

# Bytes of the files in a container's root filesystem (du of the mounted rootfs).
rootfs_bytes() {
    local mnt bytes
    mnt="$(b mount "$1")"
    bytes="$(du -sbx "$mnt" | cut -f1)"
    b umount "$1" >/dev/null
    echo "$bytes"
}

# ---- the Python base: Debian minbase + python3, no docs, no apt lists ---------------
# force-unsafe-io: no fsync per file; the tree only ever becomes a tarball.
mmdebstrap_args=(--variant=minbase --include=python3 --dpkgopt=force-unsafe-io
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-include=/usr/share/locale/locale.alias'
    "$suite" "$work/rootfs.tar"
    "deb $mirror $suite main" "deb $mirror $suite-updates main"
    "deb $security $suite-security main")
cached=""
if [ -n "$cache" ]; then
    key="$(printf '%s\n' "${mmdebstrap_args[@]}" | sed "s|$work|WORK|" | sha256sum | cut -c1-16)"
    cached="$cache/rootfs-$suite-$key.tar"
fi
if [ -n "$cached" ] && [ -n "$(find "$cached" -mtime -7 2>/dev/null)" ]; then
    log "base root filesystem from the cache: $cached"
    cp "$cached" "$work/rootfs.tar"
else
    log "mmdebstrap $suite minbase + python3 (log: $work/mmdebstrap.log)"
    mmdebstrap "${mmdebstrap_args[@]}" >"$work/mmdebstrap.log" 2>&1 \
        || { tail -n 20 "$work/mmdebstrap.log" >&2; exit 1; }
    if [ -n "$cached" ]; then
        mkdir -p "$cache"
        rm -f "$cache"/rootfs-"$suite"-*.tar
        cp "$work/rootfs.tar" "$cached.tmp" && mv "$cached.tmp" "$cached"
    fi
fi

labels=(--label org.opencontainers.image.title=mlmon
        --label "org.opencontainers.image.version=$version"
        --label org.opencontainers.image.licenses=Apache-2.0
        --label "org.opencontainers.image.base.name=debian:$suite minbase + python3")
base="$(b from scratch)"
containers+=("$base")
b add "$base" "$work/rootfs.tar" / >/dev/null
b config --env LANG=C.UTF-8 --cmd '["python3"]' "${labels[@]}" \
    --label "org.opencontainers.image.description=Python base of the mlmon images" "$base"
pyver="$(b run --isolation chroot "$base" -- python3 -c \
    'import sys; print("%d.%d" % sys.version_info[:2])')"
base_bytes="$(rootfs_bytes "$base")"
b commit --quiet "$base" "$base_image" >/dev/null
log "$base_image: Python $pyver"

# ---- wheels: mlmon from this checkout, the rest from PyPI for the base's Python -----
log "wheels for Python $pyver (log: $work/pip.log)"
rm -rf "$work/src" "$work/wheels"
mkdir -p "$work/src" "$work/wheels"
cp -r "$root/pyproject.toml" "$root/setup.py" "$root/MANIFEST.in" "$root/README.md" \
    "$root/exporter" "$root/rules" "$root/alertmanager" "$root/grafana" "$root/prometheus" \
    "$work/src/"
mkdir -p "$work/src/k8s/base"  # the deployment files the wheel carries (setup.py)
cp "$root/k8s/base/prometheusrule.yaml" "$work/src/k8s/base/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
arch="$(uname -m)"
platforms=()
for p in manylinux_2_36 manylinux_2_34 manylinux_2_28 manylinux_2_17 manylinux2014; do
    platforms+=(--platform "${p}_$arch")
done
{
    "$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/wheels" "$work/src"
    wheel="$(ls "$work/wheels"/mlmon-*.whl)"
    "$python" -m pip download --quiet --only-binary=:all: --python-version "$pyver" \
        --implementation cp "${platforms[@]}" --dest "$work/wheels" \
        "$wheel[$batch_extras]" pip
} >"$work/pip.log" 2>&1 || { tail -n 20 "$work/pip.log" >&2; exit 1; }
pip_wheel="$(cd "$work/wheels" && ls pip-*.whl)"

# ---- the two images: one venv in /opt/mlmon, no pip, no wheels left behind ----------
build() {  # build TARGET REQUIREMENT IMAGE CMD DESCRIPTION
    local c bytes
    c="$(b from "$base_image")"
    containers+=("$c")
    # pip runs from its wheel, so it never lands in the image.
    b run --isolation chroot -v "$work/wheels:/wheels:ro" "$c" -- sh -c "
        set -e
        python3 -m venv --without-pip /opt/mlmon
        PIP_DISABLE_PIP_VERSION_CHECK=1 /opt/mlmon/bin/python /wheels/$pip_wheel/pip \
            install --quiet --no-cache-dir --no-index --find-links=/wheels '$2'
        groupadd --system --gid $uid mlmon
        useradd --system --uid $uid --gid $uid --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin mlmon
        mkdir -p /var/run/mlmon /var/lib/mlmon /etc/mlmon
        chown $uid:$uid /var/run/mlmon /var/lib/mlmon"
    b run --isolation chroot "$c" -- rmdir /wheels
    # (buildah warns that the CMD becomes the entrypoint's arguments: that is the point)
    b --log-level error config --cmd "$4" "$c"
    b --log-level error config --user "$uid:$uid" --workingdir /var/lib/mlmon \
        --env PATH=/opt/mlmon/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env PYTHONDONTWRITEBYTECODE=1 --env PYTHONUNBUFFERED=1 \
        --entrypoint '["mlmon"]' "${labels[@]}" \
        --label "org.opencontainers.image.description=$5" "$c"
    if [ "$1" = sidecar ]; then b config --port 9847 "$c"; fi
    bytes="$(rootfs_bytes "$c")"
    b commit --quiet "$c" "$3" >/dev/null
    printf '%s %s %s %s\n' "$1" "$3" "$bytes" "$((bytes - base_bytes))" >>"$work/sizes"
}
: >"$work/sizes"
log "$sidecar_image: $sidecar_req"
build sidecar "$sidecar_req" "$sidecar_image" "$sidecar_cmd" \
    "Prometheus-native monitoring sidecar for ML models: drift, prediction distribution and accuracy."
log "$batch_image: $batch_req"
build batch "$batch_req" "$batch_image" "$batch_cmd" \
    "mlmon for batch jobs: drift and performance reports of CSV/Parquet/JSONL files, reference profiles."

echo "image sizes (du of the root filesystem, MB = 10^6 bytes):"
echo "  $base_image: $(mb "$base_bytes") MB"
while read -r _ img bytes over; do
    echo "  $img: $(mb "$bytes") MB, $(mb "$over") MB over the base"
done <"$work/sizes"
