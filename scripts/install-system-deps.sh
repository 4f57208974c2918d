#!/usr/bin/env bash
# Debian packages the tests use: the IPv6-only lab (unbound, tayga, nginx, socat, dnsperf,
# nftables for the path-MTU black hole),
# the browser and PDF tools for the report tests, and WeasyPrint's libraries.
# Installs only what is missing; without root it says what the skipped tests need.
set -euo pipefail

PACKAGES=(
  iproute2 unbound tayga nginx-light socat dnsutils dnsperf curl openssl nftables
  chromium poppler-utils
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1
  fonts-dejavu-core
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-system-deps: not root or no apt-get; missing: ${missing[*]}" >&2
  echo "install-system-deps: lab, browser and PDF tests will skip with their reason" >&2
  exit 0
fi
echo "install-system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
