#!/usr/bin/env bash
# tsxend end-to-end smoke test on a real Xen dom0 (Debian 12, Xen 4.17).
#
# What it does: builds a tiny busybox initrd, starts a private tsxend on the real hypervisor
# (unless TSXEND_CONNECT points at one already running with --hypervisor xen), then
#   1. creates a PV guest with this dom0's own Debian kernel, paused; attaches to its console;
#      unpauses; waits for the initrd's marker on the console;
#   2. checks `tsxend list` and Xen's own view (xl list, xenstore) agree;
#   3. shuts it down (the guest powers off through xenbus) and waits until it is gone;
#   4. creates a second one with a disk, a nic (on $BRIDGE, default xenbr0, if it exists) and a
#      framebuffer (if Xen's device model is installed), whose init reports on its console what
#      it sees (test/xen/guest/init.sh); checks each device is there; destroys it;
#   5. checks nothing is left: no domain in Xen, no /local/domain/N, no /vm/UUID, no backends.
# It refuses to run where there is no Xen. Run as root:  scripts/dom0-smoke.sh
# Knobs: MODULES_DIR (the guest kernel's modules, default /lib/modules/$(uname -r)), BRIDGE,
# TSXEND (the tsxend command), TSXEND_CONNECT (use a running daemon), KERNEL
# (default /boot/vmlinuz-$(uname -r)), SMOKE_TIMEOUT (seconds per wait, default 60),
# TSXEND_SMOKE_PRIVCMD (the privcmd device looked for; for tests).
set -euo pipefail

PRIVCMD=${TSXEND_SMOKE_PRIVCMD:-/dev/xen/privcmd}
CAPS=${TSXEND_SMOKE_CAPABILITIES:-/proc/xen/capabilities}
TIMEOUT=${SMOKE_TIMEOUT:-60}
HERE=$(cd "$(dirname "$0")/.." && pwd)
TSXEND=${TSXEND:-"node $HERE/bin/tsxend.js"}
MARKER="TSXEND-SMOKE-OK"

say() { printf '[dom0-smoke] %s\n' "$*"; }
die() { printf '[dom0-smoke] FAIL: %s\n' "$*" >&2; exit 1; }
refuse() { printf '[dom0-smoke] refusing to run: %s\n' "$*" >&2; exit 2; }

# ---- 0. is this a Xen dom0? --------------------------------------------------------------
[ -e "$PRIVCMD" ] || refuse "$PRIVCMD is missing: this is not a Xen dom0 (boot the 'Debian GNU/Linux, with Xen hypervisor' GRUB entry; see docs/dom0.md)"
grep -qs control_d "$CAPS" || refuse "$CAPS does not say control_d: not the control domain"
[ "$(id -u)" = 0 ] || refuse "run as root (the hypervisor interface and xenstore need it)"
for tool in xenstore-read xenstore-ls cpio gzip timeout; do
  command -v "$tool" >/dev/null || refuse "$tool is missing (apt install xenstore-utils cpio gzip coreutils)"
done
BUSYBOX=$(command -v busybox || true)
# (ldd fails on a static binary: its status must not decide, only its words)
[ -n "$BUSYBOX" ] && case "$(ldd "$BUSYBOX" 2>&1 || true)" in *"not a dynamic"*) true ;; *) false ;; esac || refuse "a static busybox is needed for the test initrd (apt install busybox-static)"
KERNEL=${KERNEL:-/boot/vmlinuz-$(uname -r)}
[ -r "$KERNEL" ] || refuse "kernel $KERNEL is not readable (set KERNEL=)"

WORK=$(mktemp -d /tmp/tsxend-smoke.XXXXXX)
DAEMON_PID=
DOMS=()
cleanup() {
  local rc=$?
  for d in "${DOMS[@]:-}"; do [ -n "$d" ] && $TSXEND destroy "$d" --force >/dev/null 2>&1 || true; done
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null || true
  if [ $rc -ne 0 ] && [ -f "$WORK/daemon.log" ]; then say "daemon log (last 40 lines):"; tail -n 40 "$WORK/daemon.log" >&2; fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

# ---- 1. the initrd: print the marker, then wait; xenbus poweroff runs /sbin/poweroff ----------
cat > "$WORK/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
echo "TSXEND-SMOKE-OK $(/bin/busybox uname -r)" > /dev/hvc0
while :; do /bin/busybox sleep 3600; done
INIT
"$HERE/scripts/xenvm/guest-initrd.sh" "$WORK/initrd.gz" "$WORK/init"

NAME="tsxend-smoke-$$"
cat > "$WORK/guest.cfg" <<CFG
name = "$NAME"
type = "pv"
kernel = "$KERNEL"
ramdisk = "$WORK/initrd.gz"
extra = "console=hvc0 rdinit=/init quiet"
memory = 256
vcpus = 1
on_poweroff = "destroy"
CFG

# ---- 2. the daemon ---------------------------------------------------------------------------
if [ -z "${TSXEND_CONNECT:-}" ]; then
  export TSXEND_CONNECT="unix:$WORK/tsxend.sock"
  say "starting a private tsxend on the real hypervisor ($WORK)"
  $TSXEND serve --hypervisor xen --xenstore socket:/run/xenstored/socket \
    --listen "$TSXEND_CONNECT" --state-dir "$WORK/state" --runtime-dir "$WORK/run" \
    --log-level debug >"$WORK/daemon.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 1 "$TIMEOUT"); do
    $TSXEND list >/dev/null 2>&1 && break
    kill -0 "$DAEMON_PID" 2>/dev/null || die "tsxend serve exited: $(tail -n 5 "$WORK/daemon.log")"
    sleep 1
  done
fi
$TSXEND info >/dev/null || die "tsxend does not answer on $TSXEND_CONNECT"
$TSXEND info --json | grep -q '"hypervisor": *"xen"' || die "the daemon is not running on real Xen (start it with --hypervisor xen)"

field() { # field NAME KEY: one field of the domain's view
  $TSXEND list --json "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[0];const x=v?v[process.argv[1]]:undefined;process.stdout.write(x===undefined?"":String(x))})' "$2"
}

# ---- 3. create paused, watch the console, unpause --------------------------------------------
say "create $NAME (paused) with $KERNEL"
DOMS+=("$NAME")
$TSXEND create "$WORK/guest.cfg" -p --quiet
DOMID=$(field "$NAME" domid)
UUID=$(field "$NAME" uuid)
[ -n "$DOMID" ] || die "no domid for $NAME"
say "domid $DOMID uuid $UUID"
TTY=$(xenstore-read "/local/domain/$DOMID/console/tty" 2>/dev/null || true)
for _ in $(seq 1 "$TIMEOUT"); do [ -n "$TTY" ] && break; sleep 1; TTY=$(xenstore-read "/local/domain/$DOMID/console/tty" 2>/dev/null || true); done
[ -n "$TTY" ] || die "xenconsoled gave no console tty (is xenconsoled running? systemctl status xen)"
timeout "$TIMEOUT" grep -a -m1 "$MARKER" <"$TTY" >"$WORK/console.out" &
READER=$!
$TSXEND unpause "$NAME"
wait "$READER" || die "no '$MARKER' on the console within ${TIMEOUT}s"
say "console: $(tr -d '\r' <"$WORK/console.out")"

# ---- 4. list: tsxend, xl and xenstore agree --------------------------------------------------
[ "$(field "$NAME" state)" = running ] || die "tsxend list says $(field "$NAME" state), not running"
if command -v xl >/dev/null; then xl list "$DOMID" >/dev/null 2>&1 || die "xl list does not know domain $DOMID"; fi
[ "$(xenstore-read "/local/domain/$DOMID/name")" = "$NAME" ] || die "/local/domain/$DOMID/name is not $NAME"

# ---- 5. shutdown: the guest powers off and the domain goes ------------------------------------
say "shutdown $NAME"
$TSXEND shutdown "$NAME"
for _ in $(seq 1 "$TIMEOUT"); do
  xenstore-read "/local/domain/$DOMID/name" >/dev/null 2>&1 || break
  sleep 1
done
xenstore-read "/local/domain/$DOMID/name" >/dev/null 2>&1 && die "domain $DOMID still in xenstore ${TIMEOUT}s after shutdown"

# ---- 6. devices, from inside a second guest; then destroyed while running ---------------------
# The guest's init (test/xen/guest/init.sh, the one the real-Xen test suite uses) reports what it
# sees on its console: each disk with the marker written into its backing file, each nic, the
# framebuffer and input devices. Its frontend drivers come from MODULES_DIR.
NAME2="$NAME-b"
MODULES_DIR=${MODULES_DIR:-/lib/modules/$(uname -r)}
BRIDGE=${BRIDGE:-xenbr0}
MODULES_DIR=$MODULES_DIR "$HERE/scripts/xenvm/guest-initrd.sh" "$WORK/report-initrd.gz" "$HERE/test/xen/guest/init.sh" xen-blkfront xen-netfront \
  || die "could not build the report initrd from $MODULES_DIR (set MODULES_DIR to the guest kernel's modules)"
truncate -s 16M "$WORK/disk.img"
printf 'SMOKEDISK' | dd of="$WORK/disk.img" conv=notrunc status=none
{
  sed -e "s/^name = .*/name = \"$NAME2\"/" -e "s|^ramdisk = .*|ramdisk = \"$WORK/report-initrd.gz\"|" -e 's/^extra = .*/extra = "console=hvc0"/' "$WORK/guest.cfg"
  echo "disk = [ 'file:$WORK/disk.img,xvda,w' ]"
  if ip link show "$BRIDGE" >/dev/null 2>&1; then echo "vif = [ 'bridge=$BRIDGE' ]"; fi
  if [ -x /usr/libexec/xen-qemu-system-i386 ]; then echo "vfb = [ 'vnc=1,vnclisten=127.0.0.1' ]"; echo "vkb = [ '' ]"; fi
} >"$WORK/guest2.cfg"
DOMS+=("$NAME2")
say "create $NAME2 (paused) with $(grep -cE '^(disk|vif|vfb)' "$WORK/guest2.cfg") kinds of device"
$TSXEND create "$WORK/guest2.cfg" -p --quiet
DOMID2=$(field "$NAME2" domid)
UUID2=$(field "$NAME2" uuid)
TTY2=$(xenstore-read "/local/domain/$DOMID2/console/tty" 2>/dev/null || true)
for _ in $(seq 1 "$TIMEOUT"); do [ -n "$TTY2" ] && break; sleep 1; TTY2=$(xenstore-read "/local/domain/$DOMID2/console/tty" 2>/dev/null || true); done
[ -n "$TTY2" ] || die "no console tty for $NAME2"
timeout "$TIMEOUT" sed -n -e '/TSXREPORT end/q' -e '/TSXREPORT/p' <"$TTY2" | tr -d '\r' >"$WORK/report.txt" &
READER=$!
$TSXEND unpause "$NAME2"
wait "$READER" || true
grep -q 'TSXREPORT vbd xvda .* marker SMOKEDISK' "$WORK/report.txt" || die "the guest did not see its disk with the marker: $(cat "$WORK/report.txt")"
if grep -q '^vif' "$WORK/guest2.cfg"; then
  grep -q 'TSXREPORT xenbus vif-0 state Connected' "$WORK/report.txt" || die "the guest's nic is not connected: $(cat "$WORK/report.txt")"
fi
if grep -q '^vfb' "$WORK/guest2.cfg"; then
  grep -q 'TSXREPORT vfb fb0' "$WORK/report.txt" && grep -q 'TSXREPORT input Xen_Virtual_Keyboard' "$WORK/report.txt" \
    || die "the guest has no framebuffer or keyboard: $(cat "$WORK/report.txt")"
fi
say "the guest sees: $(grep -oE 'TSXREPORT (vbd|vif|vfb|input) [^ ]+' "$WORK/report.txt" | sed 's/TSXREPORT //' | tr '\n' ' ')"
say "destroy $NAME2 (domid $DOMID2)"
$TSXEND destroy "$NAME2"

# ---- 7. nothing left ------------------------------------------------------------------------
for d in "$DOMID" "$DOMID2"; do
  if command -v xl >/dev/null && xl list "$d" >/dev/null 2>&1; then die "Xen still has domain $d"; fi
  xenstore-ls "/local/domain/$d" >/dev/null 2>&1 && die "/local/domain/$d is left"
  for class in $(xenstore-list /local/domain/0/backend 2>/dev/null); do
    xenstore-ls "/local/domain/0/backend/$class/$d" >/dev/null 2>&1 && die "backend/$class/$d is left"
  done
done
for u in "$UUID" "$UUID2"; do xenstore-ls "/vm/$u" >/dev/null 2>&1 && die "/vm/$u is left"; done
[ -z "$(losetup -j "$WORK/disk.img" 2>/dev/null)" ] || die "a loop device still holds $WORK/disk.img"
$TSXEND list --json | grep -q "$NAME" && die "tsxend still lists a smoke domain"
DOMS=()
say "PASS: create, console, list, shutdown, devices seen by the guest, destroy, nothing left"
