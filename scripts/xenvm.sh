#!/usr/bin/env bash
# Real Xen on a machine without Xen: boots Xen 4.17 and a Debian dom0 under QEMU (TCG), from
# Debian's packages alone, and runs commands in that dom0 as root.
#
#   scripts/xenvm.sh prepare                     fetch and unpack the boot artifacts (cached)
#   scripts/xenvm.sh run [--timeout S] -- CMD…   boot, run CMD in dom0 (in this directory), power off
#   scripts/xenvm.sh start [--timeout S]         boot a dom0 that stays up; prints its session dir
#   scripts/xenvm.sh exec [--timeout S] -- CMD…  run CMD in the running dom0 (XENVM_SESSION=DIR)
#   scripts/xenvm.sh exec --detach -- CMD…       start CMD there and return; its output is in
#                                                DIR/jobs/ID.out, its status in DIR/jobs/ID.rc
#   scripts/xenvm.sh stop                        power it off (XENVM_SESSION=DIR)
#
# Dom0 sees this machine's root file system (read-only, under a tmpfs overlay: writes stay in
# dom0), so the checkout, Node and Xen's user space are where they are here. The session
# directory is shared writable at its own path: CMD finds it in XENVM_RUN, guests' console logs
# in XENVM_RUN/console (xenconsoled --log=guest), the guest kernel in XENVM_KERNEL and its
# modules in XENVM_MODULES. Dom0 has xenstored (/run/xenstored/socket), xenconsoled, blkback,
# netback, loop and a bridge xenbr0 with XENVM_BRIDGE_ADDR; no network leaves the VM (QEMU
# user networking is restricted to the one forwarded port, XENVM_HOSTFWD, if set).
#
# Exit status of run/exec: CMD's own; 120 when the VM did not boot (or died), 124 when the
# timeout ran out. QEMU always runs under a timeout and is always stopped.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${XENVM_CACHE:-/var/cache/tsxend/xenvm}
EXIT_NOBOOT=120
EXIT_TIMEOUT=124
BOOT_TIMEOUT=${XENVM_BOOT_TIMEOUT:-600}
BRIDGE_ADDR=${XENVM_BRIDGE_ADDR:-198.18.0.1/24}   # RFC 2544's benchmarking range, inside the VM only
T_START=$(date +%s.%N)

say() { printf '[xenvm %6.1fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$T_START" 'BEGIN{print a-b}')" "$*" >&2; }
die() { printf '[xenvm] %s\n' "$1" >&2; exit "${2:-1}"; }

# ---- prepare: the hypervisor, the dom0/guest kernel and its modules, dom0's initramfs ----------
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1
}

prepare() {
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing: run scripts/install-deps.sh as root"
  local bb; bb=$(command -v busybox || true)
  [ -n "$bb" ] && case "$(ldd "$bb" 2>&1 || true)" in *"not a dynamic"*) true ;; *) false ;; esac \
    || die "a static busybox is missing (busybox-static): run scripts/install-deps.sh as root"
  local kpkg; kpkg=$(kernel_pkg)
  [ -n "$kpkg" ] || { apt-get update -qq; kpkg=$(kernel_pkg); }
  [ -n "$kpkg" ] || die "cannot tell which linux-image package linux-image-amd64 names (apt-get update?)"
  local key="$kpkg+xen-hypervisor-4.17-amd64+$(sha256sum "$HERE/xenvm/dom0-init.sh" | cut -c1-12)"
  if [ -f "$CACHE/ready" ] && [ "$(cat "$CACHE/ready")" = "$key" ]; then return 0; fi
  say "preparing boot artifacts in $CACHE ($kpkg)"
  local tmp; tmp=$(mktemp -d "${CACHE%/*}/.xenvm-prep.XXXXXX" 2>/dev/null || { mkdir -p "${CACHE%/*}"; mktemp -d "${CACHE%/*}/.xenvm-prep.XXXXXX"; })
  trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && apt-get download -q "$kpkg" xen-hypervisor-4.17-amd64 >/dev/null 2>&1) \
    || die "apt-get download $kpkg xen-hypervisor-4.17-amd64 failed"
  mkdir -p "$tmp/k" "$tmp/x" "$tmp/out"
  dpkg -x "$tmp"/linux-image-*.deb "$tmp/k"
  dpkg -x "$tmp"/xen-hypervisor-*.deb "$tmp/x"
  local kver; kver=$(ls "$tmp/k/lib/modules")
  zcat "$tmp/x/boot/xen-4.17-amd64.gz" > "$tmp/out/xen"
  cp "$tmp/k/boot/vmlinuz-$kver" "$tmp/out/vmlinuz"
  mkdir -p "$tmp/out/modules"
  mv "$tmp/k/lib/modules/$kver" "$tmp/out/modules/$kver"
  # depmod wants BASE/lib/modules/VER: give it that shape through a link.
  mkdir -p "$tmp/dm/lib/modules"; ln -s "$tmp/out/modules/$kver" "$tmp/dm/lib/modules/$kver"
  depmod -b "$tmp/dm" "$kver"
  echo "$kver" > "$tmp/out/kver"
  # dom0's initramfs: static busybox, stage 1, and the modules it needs to reach the host root.
  local ird="$tmp/initrd"
  mkdir -p "$ird/bin" "$ird/mods" "$ird/proc" "$ird/sys" "$ird/dev"
  cp "$(command -v busybox)" "$ird/bin/busybox"
  cp "$HERE/xenvm/dom0-init.sh" "$ird/init"; chmod 755 "$ird/init"
  local m f
  for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci 9pnet \
           9pnet_virtio netfs fscache 9p overlay; do
    f=$(find "$tmp/out/modules/$kver" -name "$m.ko*" | head -n1)
    [ -n "$f" ] || continue   # built into this kernel
    case "$f" in *.xz) xz -dc "$f" > "$ird/mods/$m.ko" ;; *.zst) zstd -qdc "$f" > "$ird/mods/$m.ko" ;; *) cp "$f" "$ird/mods/$m.ko" ;; esac
  done
  (cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > "$tmp/out/dom0-initrd.gz"
  rm -rf "$CACHE"; mkdir -p "${CACHE%/*}"; mv "$tmp/out" "$CACHE"
  echo "$key" > "$CACHE/ready"
  say "prepared: xen $(stat -c%s "$CACHE/xen") B, kernel $kver"
}

# ---- sessions ---------------------------------------------------------------------------------
session_alive() { [ -f "$1/qemu.pid" ] && kill -0 "$(cat "$1/qemu.pid")" 2>/dev/null; }

boot() { # boot DIR LIFETIME: QEMU in the background under a timeout; waits until dom0 is ready
  local run=$1 lifetime=$2
  prepare
  local kver; kver=$(cat "$CACHE/kver")
  mkdir -p "$run/jobs" "$run/console"
  cat > "$run/env" <<EOF
XENVM_CACHE=$CACHE
XENVM_KVER=$kver
XENVM_MODULES=$CACHE/modules/$kver
XENVM_KERNEL=$CACHE/vmlinuz
XENVM_BRIDGE_ADDR=$BRIDGE_ADDR
XENVM_RUN=$run
EOF
  local xen_cmd="console=com1 com1=115200,8n1 dom0_mem=${XENVM_DOM0_MEM:-1536M},max:${XENVM_DOM0_MEM:-1536M} dom0_max_vcpus=2 loglvl=all guest_loglvl=all"
  local dom0_cmd="console=hvc0 earlyprintk=xen xenvm.run=$run xenvm.stage2=$HERE/xenvm/dom0-up.sh"
  local nic="none"
  if [ -n "${XENVM_HOSTFWD:-}" ]; then   # e.g. 127.0.0.1:8095-:8095 (host loopback only)
    nic="user,model=virtio-net-pci,restrict=on,hostfwd=tcp:${XENVM_HOSTFWD}"
  fi
  say "booting Xen + dom0 (session $run)"
  # setsid: the VM outlives this shell in session mode; stopped by stop/timeout, never orphaned
  # past its lifetime.
  setsid timeout --kill-after=10 "$lifetime" qemu-system-x86_64 \
    -accel tcg -smp 2 -m "${XENVM_MEM:-4096}" -display none -no-reboot -monitor none \
    -serial "file:$run/serial.log" \
    -kernel "$CACHE/xen" -append "$xen_cmd" \
    -initrd "$CACHE/vmlinuz $dom0_cmd,$CACHE/dom0-initrd.gz" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$run,mount_tag=xenvmrun,security_model=none,multidevs=remap" \
    -nic "$nic" \
    >"$run/qemu.log" 2>&1 </dev/null &
  echo $! > "$run/qemu.pid"
  local deadline=$(( $(date +%s) + BOOT_TIMEOUT ))
  while [ ! -e "$run/ready" ]; do
    if ! session_alive "$run"; then
      say "the VM died before dom0 was up; last lines of its console:"; tail -n 25 "$run/serial.log" >&2 || true
      tail -n 5 "$run/qemu.log" >&2 || true
      return $EXIT_NOBOOT
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "dom0 not up after ${BOOT_TIMEOUT}s; last lines of its console:"; tail -n 25 "$run/serial.log" >&2 || true
      halt "$run"; return $EXIT_NOBOOT
    fi
    sleep 0.5
  done
  if [ "$(cat "$run/ready")" != ok ]; then
    say "dom0 came up broken: $(cat "$run/ready")"; tail -n 30 "$run/dom0.log" >&2 || true
    halt "$run"; return $EXIT_NOBOOT
  fi
  say "dom0 up"
}

halt() { # power dom0 off cleanly, then make sure QEMU is gone
  local run=$1 i
  session_alive "$run" || return 0
  : > "$run/poweroff"
  for i in $(seq 60); do session_alive "$run" || break; sleep 0.5; done
  if session_alive "$run"; then kill -TERM -- "-$(cat "$run/qemu.pid")" 2>/dev/null || true; sleep 1; kill -KILL -- "-$(cat "$run/qemu.pid")" 2>/dev/null || true; fi
  say "VM stopped"
}

submit() { # submit DIR CMD…: hand CMD to dom0; prints the job id
  local run=$1; shift
  local id; id=$(date +%s%N)-$$
  {
    echo "set -a; . '$run/env'; set +a"
    printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
    # The caller's environment for the tests' own knobs (CI, TSXEND_*, XENVM_*, …).
    { env | grep -E '^(CI|TSXEND_[A-Z0-9_]*|XENVM_TEST_[A-Z0-9_]*|NODE_OPTIONS)=' || true; } | while IFS= read -r kv; do printf 'export %q\n' "$kv"; done
    printf 'exec'; printf ' %q' "$@"; printf '\n'
  } > "$run/jobs/$id.tmp"
  : > "$run/jobs/$id.out"
  mv "$run/jobs/$id.tmp" "$run/jobs/$id.sh"
  echo "$id"
}

job() { # job DIR TIMEOUT CMD…: run CMD in dom0, stream its output, return its status
  local run=$1 tmo=$2; shift 2
  local id; id=$(submit "$run" "$@")
  tail -n +1 -f --pid=$$ "$run/jobs/$id.out" &
  local tailer=$! deadline=$(( $(date +%s) + tmo )) rc=
  while :; do
    if [ -e "$run/jobs/$id.rc" ]; then rc=$(cat "$run/jobs/$id.rc"); break; fi
    if ! session_alive "$run"; then say "the VM died during the command"; rc=$EXIT_NOBOOT; break; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then say "timed out after ${tmo}s"; rc=$EXIT_TIMEOUT; break; fi
    sleep 0.3
  done
  sleep 0.5; kill "$tailer" 2>/dev/null; wait "$tailer" 2>/dev/null || true
  return "$rc"
}

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

cmd=${1:-}; [ $# -gt 0 ] && shift
timeout_s=${XENVM_TIMEOUT:-1800}
detach=
while [ $# -gt 0 ]; do
  case "$1" in
    --detach) detach=1; shift ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --timeout=*) timeout_s=${1#*=}; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ "$(id -u)" = 0 ] || [ "$cmd" = "" ] || die "run as root (dom0 needs this machine's whole root file system)" 2

case "$cmd" in
  prepare) prepare ;;
  run)
    [ $# -gt 0 ] || usage
    run=$(mktemp -d /tmp/xenvm.XXXXXX)
    trap 'halt "$run"; [ -n "${XENVM_KEEP:-}" ] || rm -rf "$run"' EXIT
    # The VM's own lifetime bounds the whole call: boot + command + power-off.
    rc=0; boot "$run" $(( timeout_s + BOOT_TIMEOUT + 60 )) || rc=$?
    [ $rc -eq 0 ] || exit $rc
    say "running: $*"
    rc=0; job "$run" "$timeout_s" "$@" || rc=$?
    say "command exited $rc"
    exit $rc ;;
  start)
    run=$(mktemp -d /tmp/xenvm.XXXXXX)
    rc=0; boot "$run" "$timeout_s" || rc=$?
    if [ $rc -ne 0 ]; then rm -rf "$run"; exit $rc; fi
    echo "$run" ;;
  exec)
    run=${XENVM_SESSION:?set XENVM_SESSION to the directory xenvm.sh start printed}
    [ $# -gt 0 ] || usage
    session_alive "$run" || die "no VM runs for session $run" $EXIT_NOBOOT
    if [ -n "$detach" ]; then submit "$run" "$@"; exit 0; fi
    rc=0; job "$run" "$timeout_s" "$@" || rc=$?
    exit $rc ;;
  stop)
    run=${XENVM_SESSION:?set XENVM_SESSION to the directory xenvm.sh start printed}
    halt "$run"; [ -n "${XENVM_KEEP:-}" ] || rm -rf "$run" ;;
  *) usage ;;
esac
