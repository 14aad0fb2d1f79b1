#!/usr/bin/env bash
# Installs what the full test suite needs beyond Go, from Debian's packages:
# openssl (key interoperability tests), tcpdump (msgdump's real-capture
# test), python3 (CI's summary.csv check), OpenSSH server and client, iproute2
# and util-linux (the multi-host testbed, scripts/testbed.sh), ansible-core
# (the built-in inventory readers are compared with ansible-inventory), and
# node with npm for hdr-histogram-js (HdrHistogram's JavaScript reader, which
# the tests compare replbench's percentiles with; pinned in scripts/hdrjs).
# Needs root; installs only what is missing.
set -euo pipefail
missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v tcpdump >/dev/null || missing+=(tcpdump)
command -v python3 >/dev/null || missing+=(python3-minimal)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null || missing+=(openssh-client)
command -v ip >/dev/null || missing+=(iproute2)
command -v unshare >/dev/null || missing+=(util-linux)
command -v pgrep >/dev/null || missing+=(procps)
command -v ansible-inventory >/dev/null || missing+=(ansible-core)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

hdrjs="$(cd "$(dirname "$0")" && pwd)/hdrjs"
if [ ! -f "$hdrjs/node_modules/hdr-histogram-js/package.json" ]; then
  echo "installing: hdr-histogram-js (npm ci in $hdrjs)"
  npm ci --prefix "$hdrjs" --no-audit --no-fund --silent
fi
