#!/bin/busybox sh
# Stage 1 of the dom0 that scripts/xenvm.sh boots: the /init of its initramfs, run by busybox.
# It mounts this machine's root file system (9p, read-only) under a tmpfs overlay so dom0 has a
# writable root holding the project checkout at the same path, mounts the session directory
# (9p, writable) over its own path, and hands over to stage 2 (scripts/xenvm/dom0-up.sh in the
# checkout, so stage 2 can change without rebuilding this image).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

arg() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" /proc/cmdline; }
RUN=$(arg xenvm.run)
STAGE2=$(arg xenvm.stage2)
fail() { echo "xenvm-init: $*" > /dev/hvc0; echo "xenvm-init: $*"; sleep 2; echo o > /proc/sysrq-trigger; }

# Order matters: each module needs the ones before it (modules.dep is not in this image).
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
         9pnet 9pnet_virtio netfs fscache 9p overlay; do
  insmod "/mods/$m.ko" 2>/dev/null || [ -d "/sys/module/$m" ] || fail "insmod $m failed"
done

mkdir -p /host /rw /newroot
# The host root is read-only and unchanged while dom0 runs: let 9p cache it (node loads
# thousands of files; uncached, every stat is a round trip through TCG).
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host \
  || fail "mounting the host root (9p tag hostroot) failed"
mount -t tmpfs -o size=75% tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /newroot \
  || fail "overlay root failed"
# The session directory: writable and uncached, so the host sees job output as it is written.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 xenvmrun "/newroot$RUN" \
  || fail "mounting the session directory $RUN failed"

for d in proc sys dev; do mount --move "/$d" "/newroot/$d"; done
exec switch_root /newroot /bin/bash "$STAGE2" "$RUN"
