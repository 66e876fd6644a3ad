#!/bin/busybox sh
# /init of the real-Xen tests' PV guest. It reports on its console what the guest sees, one
# "TSXREPORT key value..." line per fact, then "TSXREPORT end", then counts once a second
# ("TSXCOUNT n cpus=ONLINE mem=KB blk=xvda,... net=eth0,...") until the domain is shut down,
# rebooted or destroyed; a line typed on its console is echoed back ("TSXECHO line").
# Kernel command line knobs: tsx.ip=ADDR/LEN (eth0's address), tsx.ping=ADDR (what to ping),
# tsx.crash=N (panic after N counts: the domain crashes).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
r() { echo "TSXREPORT $*"; }
arg() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" /proc/cmdline; }

r boot "$(uname -r)" uuid "$(cat /sys/hypervisor/uuid 2>/dev/null)"
r console "$(readlink /proc/1/fd/1 2>/dev/null)"
while read -r m; do insmod "/lib/modules/$m.ko" 2>/dev/null || r insmod-failed "$m"; done < /modules

# xenbus devices come up asynchronously: wait (bounded) for every frontend to leave Initialising.
i=0
while [ $i -lt 100 ]; do
  pending=0
  for d in /sys/bus/xen/devices/*; do
    [ -e "$d/state" ] || continue
    case "$(cat "$d/state")" in Connected|Closed) ;; *) pending=1 ;; esac
  done
  [ $pending = 0 ] && break
  sleep 0.2; i=$((i + 1))
done
for d in /sys/bus/xen/devices/*; do
  [ -e "$d" ] || continue
  r xenbus "${d##*/}" state "$(cat "$d/state" 2>/dev/null)" nodename "$(cat "$d/nodename" 2>/dev/null)"
done

# vbd: each block device's first bytes hold the marker the test wrote into its backing file.
for b in /sys/block/xvd*; do
  [ -e "$b" ] || continue
  n=${b##*/}
  r vbd "$n" size "$(cat "$b/size")" ro "$(cat "$b/ro")" marker "$(head -c 64 "/dev/$n" | tr -cd 'A-Za-z0-9:_-')"
done

# vif: each interface; eth0 gets tsx.ip and pings tsx.ping through dom0's bridge.
for n in /sys/class/net/eth*; do
  [ -e "$n" ] || continue
  r vif "${n##*/}" mac "$(cat "$n/address")"
done
ip=$(arg tsx.ip); peer=$(arg tsx.ping)
if [ -n "$ip" ] && [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  ip addr add "$ip" dev eth0
  if ping -c 3 -W 5 "$peer" > /tmp/ping 2>&1; then r ping "$peer" ok; else r ping "$peer" failed "$(tail -n 1 /tmp/ping)"; fi
fi

# vfb and vkbd: a framebuffer device and Xen's virtual keyboard and pointer input devices.
for f in /sys/class/graphics/fb[0-9]*; do
  [ -e "$f" ] || continue
  r vfb "${f##*/}" name "$(cat "$f/name" 2>/dev/null | tr ' ' _)" size "$(cat "$f/virtual_size" 2>/dev/null)"
done
grep '^N: Name=' /proc/bus/input/devices 2>/dev/null | sed 's/^N: Name="\(.*\)"/\1/' | tr ' ' _ | while read -r n; do r input "$n"; done

# vtpm: the frontend binds and reports its state; without a vTPM manager domain no TPM answers.
for t in /sys/bus/xen/devices/vtpm-*; do
  [ -e "$t" ] || continue
  r vtpm "${t##*/}" state "$(cat "$t/state")"
done
[ -e /dev/tpm0 ] && r tpmdev /dev/tpm0
r end

crash=$(arg tsx.crash)
list() { ls "$1" 2>/dev/null | grep "^$2" | tr '\n' , | sed 's/,$//'; }
n=0
while :; do
  n=$((n + 1))
  echo "TSXCOUNT $n cpus=$(cat /sys/devices/system/cpu/online) mem=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) blk=$(list /sys/block xvd) net=$(list /sys/class/net eth)"
  [ -n "$crash" ] && [ "$n" -ge "$crash" ] && echo c > /proc/sysrq-trigger
  # What udev does on a distribution (this kernel has no uevent helper): a vcpu the toolstack
  # made available again appears offline, and is put online.
  for c in /sys/devices/system/cpu/cpu[1-9]*/online; do [ -e "$c" ] && [ "$(cat "$c")" = 0 ] && echo 1 > "$c"; done
  # A line typed on the console comes back, so a test can show input reaches the guest.
  if read -r -t 1 line; then echo "TSXECHO $line"; fi
done
