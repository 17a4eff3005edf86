#!/usr/bin/env bash
# mmdebstrap's customize hook (called by build.sh with the root directory as $1): puts our
# files and the kiosk binary into the image, creates the kiosk user, turns services on and the
# consoles off, and rebuilds the initramfs with the overlay script. Idempotent, so that
# REUSE_ROOTFS=1 build.sh can run it again over an existing root.
set -euo pipefail

root=$1
here=${IMAGE_BUILD_DIR:?run by build.sh}
in_root() { chroot "$root" "$@"; }

# Our files (owned by root whoever checked the repository out; modes kept).
cp -a --no-preserve=ownership "$here/rootfs/." "$root/"
if [ "${VARIANT:?}" = smoke ]; then
  cp -a --no-preserve=ownership "$here/smoke/." "$root/"
fi
install -m 0755 -o root -g root "${KIOSK_BIN:?}" "$root/usr/local/bin/kiosk"

# The kiosk's user: no login, no home of its own; it reaches the display, input devices, the
# serial reader and cameras through these groups (render exists once udev is installed).
in_root getent passwd kiosk >/dev/null || in_root useradd --system --user-group --no-create-home --home-dir /var/lib/kiosk \
  --shell /usr/sbin/nologin --groups video,input,render,dialout kiosk
mkdir -p "$root/var/lib/kiosk"
# Nobody logs in: root's password stays locked.
in_root passwd --lock root >/dev/null

# Hall time (the wizard's dates and the review status are shown in local time).
ln -sf /usr/share/zoneinfo/Asia/Shanghai "$root/etc/localtime"
echo Asia/Shanghai >"$root/etc/timezone"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tkiosk\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# An empty machine-id: systemd makes a new one at each boot in the tmpfs overlay, and the
# image carries no identity shared by every kiosk.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

in_root systemctl enable kiosk.service kiosk-novt.service systemd-networkd.service \
  systemd-resolved.service systemd-timesyncd.service
if [ "$VARIANT" = smoke ]; then
  in_root systemctl enable kiosk-smoke-report.service
fi
# No login prompt on any console, serial ones included; no first-boot questions on the
# screen; no reboot from the keyboard; no debug shell.
in_root systemctl mask getty@.service serial-getty@.service autovt@.service \
  console-getty.service container-getty@.service systemd-firstboot.service \
  ctrl-alt-del.target debug-shell.service

# The kernel package built an initramfs before our hook and script were in place.
in_root update-initramfs -u -k all
