#!/bin/sh
# /init of brindle's VM test initramfs (built by test/vm/runner). It prints serial markers the
# runner waits for and reports the result through isa-debug-exit: writing 0 to port 0xf4 makes
# qemu exit 1 (PASS), writing 1 makes it exit 3 (FAIL).
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# The kernel does not mount devtmpfs by itself for an initramfs root.
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run/netns /tmp
echo "VMTEST-BOOTED kernel $(uname -r)"

failed=""
for m in $(cat /etc/vmtest-modules); do
	modprobe "$m" || failed="$failed $m"
done
echo "VMTEST-MODULES-LOADED"

rc=1
if [ -n "$failed" ]; then
	echo "VMTEST-ERROR: modprobe failed for:$failed"
elif [ -z "$(ls /sys/bus/virtio/devices 2>/dev/null)" ]; then
	echo "VMTEST-ERROR: no virtio device; the runner shares the scenarios over 9p (-virtfs)"
elif ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 vmshare /mnt; then
	echo "VMTEST-ERROR: mounting the 9p share failed"
elif [ ! -x /mnt/run.sh ]; then
	echo "VMTEST-ERROR: the share has no executable run.sh"
else
	/mnt/run.sh
	rc=$?
fi
echo "VMTEST-END"
if [ "$rc" = 0 ]; then
	echo "VMTEST-RESULT: PASS"
	code='\000'
else
	echo "VMTEST-RESULT: FAIL rc=$rc"
	code='\001'
fi
sync
printf "$code" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
# Only reached if isa-debug-exit is missing: the runner then fails on the exit code.
poweroff -f
