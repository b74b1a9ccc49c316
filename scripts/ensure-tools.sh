#!/usr/bin/env bash
# Install the real programs the tests run on loopback, when missing and root.
# Under CI=true the test suite fails (never skips) when one is still missing.
set -euo pipefail

need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
# The long-term store test (tests/e2e/test_victoriametrics.py): Debian's package ships
# both the single-node server and the rule evaluator.
command -v victoria-metrics >/dev/null || need+=(victoria-metrics)
command -v vmalert >/dev/null || need+=(victoria-metrics)
# Java runs Spark in local mode (tests/spark/: mlmon's --engine spark; pyspark comes from
# the `spark` extra that `make test` installs).
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
# openssl makes the self-signed API-server certificate (tests/responder/test_kubernetes.py)
command -v openssl >/dev/null || need+=(openssl)
# Headless Chromium renders the status page (tests/e2e/test_status_page_browser.py); a font
# keeps its screenshot readable. Only in CI or as root: a developer's desktop is left alone.
case "${CI:-}" in 1 | true | TRUE | True | yes) ci=1 ;; *) ci=0 ;; esac
if [ "$ci" -eq 1 ] || [ "$(id -u)" -eq 0 ]; then
    command -v chromium >/dev/null || need+=(chromium)
    [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
    # The images are built for real, without Docker (tests/deploy/test_image.py).
    command -v buildah >/dev/null || need+=(buildah)
    command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
fi

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
mapfile -t pkgs < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-tools: missing ${pkgs[*]}; run as root or: apt-get install ${pkgs[*]}" >&2
    exit 0
fi
echo "ensure-tools: installing ${pkgs[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# openjdk's postinst fails where slim images dropped the man directories
mkdir -p /usr/share/man/man1
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
