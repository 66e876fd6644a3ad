#!/usr/bin/env bash
# Installs, as root, the Debian packages the test suite uses: the real xenstore daemons and
# clients, Xen's libraries and headers, the hotplug scripts, a C compiler for the test stubs,
# and the networking tools the vif-bridge test needs. Idempotent; a no-op when all are present.
set -euo pipefail
pkgs=(xen-utils-4.17 xen-utils-common xenstore-utils python3-pyxs libxenmisc4.17 libxen-dev
      gcc libc6-dev make iproute2 util-linux systemd kmod procps)
# The web console's browser tests (playwright-core drives Debian's chromium) and the console
# tests' terminal (tmux) and pty helper (python3).
pkgs+=(chromium fonts-dejavu-core tmux python3)
# Real Xen under QEMU (scripts/xenvm.sh, test/xen): QEMU, Xen's device model for the guests'
# vfb/vkbd, a static busybox and cpio for initramfs images, openssl for the API's certificate.
pkgs+=(qemu-system-x86 qemu-system-xen busybox-static cpio gzip openssl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The hypervisor and the dom0/guest kernel are unpacked from their packages, never installed
# (no boot loader or initramfs hooks on this machine): scripts/xenvm.sh prepare caches them.
prepare_xenvm() { if [ "$(id -u)" -eq 0 ]; then "$(dirname "$0")/xenvm.sh" prepare; fi; }
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  prepare_xenvm
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run this script as root to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
prepare_xenvm
