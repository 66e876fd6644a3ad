#!/usr/bin/env bash
# Builds a PV guest's initramfs: a static busybox, the given /init, and kernel modules with
# everything they depend on (from MODULES_DIR/modules.dep, in load order, listed in /modules).
#   scripts/xenvm/guest-initrd.sh OUT.gz INIT [MODULE...]
# MODULES_DIR defaults to $XENVM_MODULES (set in the dom0 of scripts/xenvm.sh); without modules
# none is needed. Used by the real-Xen tests and scripts/dom0-smoke.sh.
set -euo pipefail
out=$1 init=$2; shift 2
mods=${MODULES_DIR:-${XENVM_MODULES:-}}
bb=$(command -v busybox) || { echo "guest-initrd: busybox-static is missing" >&2; exit 1; }
case "$(ldd "$bb" 2>&1 || true)" in *"not a dynamic"*) ;; *) echo "guest-initrd: $bb is not static (install busybox-static)" >&2; exit 1 ;; esac
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,sbin,proc,sys,dev,tmp,mnt,lib/modules}
cp "$bb" "$work/bin/busybox"
cp "$init" "$work/init"; chmod 755 "$work/init"
# The kernel runs /sbin/poweroff for a xenbus "poweroff" and /sbin/reboot for "reboot" (its
# orderly_poweroff helper); our /init is no busybox init that would take the signal.
printf '#!/bin/busybox sh\nexec /bin/busybox poweroff -f\n' > "$work/sbin/poweroff"
printf '#!/bin/busybox sh\nexec /bin/busybox reboot -f\n' > "$work/sbin/reboot"
chmod 755 "$work/sbin/poweroff" "$work/sbin/reboot"
: > "$work/modules"
if [ $# -gt 0 ]; then
  [ -f "$mods/modules.dep" ] || { echo "guest-initrd: no modules.dep in '$mods' (set MODULES_DIR)" >&2; exit 1; }
  declare -A seen=()
  add() { # depth-first: dependencies before the module
    local name=$1 line path dep
    line=$(grep -E "(^|/)${name//[-_]/[-_]}\.ko(\.[a-z]+)?:" "$mods/modules.dep" | head -n1) \
      || { echo "guest-initrd: no module $name" >&2; exit 1; }
    path=${line%%:*}
    [ -n "${seen[$path]:-}" ] && return 0
    seen[$path]=1
    for dep in ${line#*:}; do add "$(basename "${dep%%.ko*}")"; done
    local base; base=$(basename "${path%%.ko*}")
    case "$path" in
      *.xz) xz -dc "$mods/$path" > "$work/lib/modules/$base.ko" ;;
      *.zst) zstd -qdc "$mods/$path" > "$work/lib/modules/$base.ko" ;;
      *) cp "$mods/$path" "$work/lib/modules/$base.ko" ;;
    esac
    echo "$base" >> "$work/modules"
  }
  for m in "$@"; do add "$m"; done
fi
(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
