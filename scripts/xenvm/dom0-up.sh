#!/bin/bash
# Stage 2 of the dom0 that scripts/xenvm.sh boots: runs as PID 1 in dom0, on the overlay of this
# machine's root file system. Brings dom0 up as a Debian dom0 would (modules, xenfs, devpts,
# /dev/fd links, loopback, xenstored, xen-init-dom0, xenconsoled, the bridge xenbr0), then serves
# jobs the host drops into the session directory until told to power off.
#
# Session directory protocol (all files written by the host atomically, by rename):
#   env            KEY=VALUE lines: XENVM_CACHE, XENVM_KVER, ... (written before boot)
#   jobs/ID.sh     a job: bash script; run once, in its own session, output to jobs/ID.out
#   jobs/ID.rc     written (by rename) when the job ends: its exit status
#   ready          written once dom0's services are up; "failed: WHY" if bring-up failed
#   poweroff       when present, dom0 stops its jobs and powers off
RUN=$1
set -u
exec >>"$RUN/dom0.log" 2>&1
# shellcheck disable=SC1091
. "$RUN/env"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
t0=$(cut -d' ' -f1 /proc/uptime)
phase() { echo "xenvm-dom0: [$(cut -d' ' -f1 /proc/uptime)s] $*"; }
failed() { phase "bring-up failed: $*"; echo "failed: $*" > "$RUN/ready.tmp"; mv "$RUN/ready.tmp" "$RUN/ready"; }
phase "stage 2 (stage 1 done at ${t0}s of dom0 uptime)"

# ---- file systems ----------------------------------------------------------------------------
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/lock /run/xen /run/xenstored /var/lib/xen /var/log/xen/console /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts   # xenconsoled needs ptys
mount -t tmpfs tmpfs /dev/shm
# What udev would make: the hotplug scripts' locking (locking.sh) stats /dev/stdin.
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
hostname xenvm-dom0

# ---- the dom0 kernel's modules ---------------------------------------------------------------
mkdir -p "/lib/modules/$XENVM_KVER"
mount --bind "$XENVM_MODULES" "/lib/modules/$XENVM_KVER"
for m in xen-evtchn xen-privcmd xen-gntdev xen-gntalloc xenfs xen-blkback xen-netback loop \
         bridge virtio_net tun; do
  modprobe "$m" || { failed "modprobe $m"; }
done
mount -t xenfs xenfs /proc/xen || failed "mount xenfs"
# blkback's block script needs loop devices; devtmpfs makes the nodes once loop is loaded.
phase "modules loaded"

# ---- network: loopback (the device model's VNC binds 127.0.0.1), the guests' bridge, and the
# host-forwarded NIC (QEMU user networking, restricted: only the host's forwarded port reaches it)
ip link set lo up
ip link add xenbr0 type bridge
ip addr add "$XENVM_BRIDGE_ADDR" dev xenbr0
ip link set xenbr0 up
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  ip addr add 10.0.2.15/24 dev eth0
fi

# ---- Xen's daemons ---------------------------------------------------------------------------
XENBIN=/usr/lib/xen-4.17/bin
# -T: every request is traced, so tests can count what each toolstack asks (test/xen/xl-oracle).
"$XENBIN/xenstored" --pid-file /run/xenstored.pid -T /run/xenstored.trace || failed "xenstored"
for _ in $(seq 50); do [ -S /run/xenstored/socket ] && break; sleep 0.2; done
"$XENBIN/xen-init-dom0" || failed "xen-init-dom0"
mkdir -p "$RUN/console"
"$XENBIN/xenconsoled" --pid-file=/run/xenconsoled.pid --log=guest --log-dir="$RUN/console" \
  || failed "xenconsoled"
phase "xenstored, xen-init-dom0 and xenconsoled up"
[ -e "$RUN/ready" ] || { echo ok > "$RUN/ready.tmp"; mv "$RUN/ready.tmp" "$RUN/ready"; }

# ---- jobs --------------------------------------------------------------------------------------
mkdir -p "$RUN/jobs"
mkfifo /run/xenvm.tick
exec 9<>/run/xenvm.tick   # read -t on it is a sleep without spawning a process (120 ms here)
declare -A started=()
while [ ! -e "$RUN/poweroff" ]; do
  for job in "$RUN"/jobs/*.sh; do
    [ -e "$job" ] || continue
    id=${job##*/}; id=${id%.sh}
    [ -n "${started[$id]:-}" ] && continue
    started[$id]=1
    phase "job $id started"
    (
      setsid bash "$job" >"$RUN/jobs/$id.out" 2>&1 </dev/null
      rc=$?
      echo "$rc" > "$RUN/jobs/$id.rc.tmp"; mv "$RUN/jobs/$id.rc.tmp" "$RUN/jobs/$id.rc"
      phase "job $id exited $rc"
    ) &
  done
  read -r -t 0.3 -u 9 _ || true
done

phase "powering off"
kill -TERM -1 2>/dev/null
sleep 1
sync
echo o > /proc/sysrq-trigger
sleep 30
