#!/usr/bin/env bash
# Builds the kiosk's OS image: a raw GPT disk (Debian bookworm, systemd, the kiosk binary and
# nothing else of ours) that a hall writes to the kiosk's disk, and that smoke-test.sh boots
# under QEMU. Design and layout: image-build/README.md.
#
#   sudo image-build/build.sh                      # amd64, builds the kiosk if KIOSK_BIN is unset
#   KIOSK_BIN=path/to/kiosk image-build/build.sh   # use a kiosk binary built before
#   VARIANT=smoke image-build/build.sh             # adds the smoke-test report on ttyS0
#   ARCH=arm64 KIOSK_BIN=… image-build/build.sh    # the same recipe for arm64 (see README)
#
# Output: image-build/out/<arch>-<variant>/kiosk.img (and its parts). Needs root: mmdebstrap
# installs packages into a directory as root, and mkfs.ext4 -d copies owners from it. No loop
# device and no mount is needed: the file systems are made from directories (mkfs.ext4 -d,
# mtools) and written into the disk file at their partitions' offsets.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=scripts/deps.sh
source "$repo/scripts/deps.sh"

ARCH=${ARCH:-amd64}
VARIANT=${VARIANT:-release}
SUITE=bookworm
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
DATA_SIZE_MIB=${DATA_SIZE_MIB:-1024}
ESP_SIZE_MIB=256
# Per-kiosk settings (KIOSK_DEVICE_TOKEN=…, KIOSK_SERVER_URL=…) to put on the data partition.
SITE_ENV=${SITE_ENV:-}
# The hall's private CA (PEM) for HTTPS to the central server, put beside it as ca.pem.
SITE_CA=${SITE_CA:-}
# REUSE_ROOTFS=1: keep out/…/rootfs from the last build and only apply customize.sh again
# (quick iterations on rootfs/ and the binary; packages are not updated).
REUSE_ROOTFS=${REUSE_ROOTFS:-}
# Appended to the kernel command line (e.g. `systemd.log_level=debug` while debugging).
EXTRA_CMDLINE=${EXTRA_CMDLINE:-}
OUT=${OUT:-$here/out/$ARCH-$VARIANT}

case "$VARIANT" in release | smoke) ;; *)
  echo "VARIANT must be release or smoke, not '$VARIANT'" >&2
  exit 2
  ;;
esac
# Per architecture: the Rust target, the kernel flavour, the EFI names, and the GPT type of the
# root partition (from the Discoverable Partitions Specification, so tools recognise it).
case "$ARCH" in
amd64)
  rust_target=x86_64-unknown-linux-gnu elf_machine=x86-64 kernel=linux-image-amd64
  efi_arch=x64 efi_boot=BOOTX64.EFI root_type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
  ;;
arm64)
  rust_target=aarch64-unknown-linux-gnu elf_machine=aarch64 kernel=linux-image-arm64
  efi_arch=aa64 efi_boot=BOOTAA64.EFI root_type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE
  ;;
*)
  echo "ARCH must be amd64 or arm64, not '$ARCH'" >&2
  exit 2
  ;;
esac
esp_type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
linux_data_type=0FC63DAF-8483-4772-8E79-3D69D8477DE4

if [ "$(id -u)" -ne 0 ]; then
  echo "build.sh needs root (mmdebstrap installs packages as root; file owners go into the image)." >&2
  exit 1
fi

# --- Host tools: only what is missing.
host_arch=$(dpkg --print-architecture)
host_tools=(mmdebstrap fdisk dosfstools mtools e2fsprogs uuid-runtime file)
if [ "$ARCH" != "$host_arch" ]; then
  # Installing a foreign-architecture system runs its maintainer scripts through qemu-user;
  # binfmt-support registers it with the kernel (the host kernel needs binfmt_misc).
  host_tools+=(qemu-user-static binfmt-support arch-test)
fi
ensure_packages "${host_tools[@]}"
if [ "$ARCH" != "$host_arch" ] && ! arch-test "$ARCH" >/dev/null; then
  # In a container binfmt_misc may be unmounted or qemu's entries not yet registered.
  mountpoint -q /proc/sys/fs/binfmt_misc \
    || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  update-binfmts --enable >/dev/null 2>&1 || true
  if ! arch-test "$ARCH" >/dev/null; then
    echo "This host cannot run $ARCH binaries: binfmt_misc with qemu-user-static is needed." >&2
    exit 1
  fi
fi

# --- The kiosk binary: built here for the host's architecture, or given.
if [ -z "${KIOSK_BIN:-}" ]; then
  if [ "$ARCH" != "$host_arch" ]; then
    cat >&2 <<TXT
Set KIOSK_BIN to a kiosk built for $ARCH ($rust_target). Either build on an $ARCH machine
  (cargo build --release -p kiosk --features linuxkms --bin kiosk), or cross-build with
  rustup target add $rust_target, the $ARCH -dev packages of scripts/deps.sh (dpkg multiarch)
  and a cross linker (gcc-aarch64-linux-gnu), then
  cargo build --release -p kiosk --features linuxkms --bin kiosk --target $rust_target
TXT
    exit 1
  fi
  ensure_build_deps
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target-image}
  (cd "$repo" && cargo build --locked --release -p kiosk --features linuxkms --bin kiosk)
  KIOSK_BIN=$CARGO_TARGET_DIR/release/kiosk
fi
if ! file -L "$KIOSK_BIN" | grep -q "ELF 64-bit.*$elf_machine"; then
  echo "$KIOSK_BIN is not a $ARCH ($elf_machine) executable: $(file -L "$KIOSK_BIN")" >&2
  exit 1
fi
KIOSK_BIN=$(realpath "$KIOSK_BIN")
# kiosk.toml refuses unknown keys: let this very binary read the image's file before it ships.
if [ "$ARCH" = "$host_arch" ]; then
  scratch=$(mktemp -d)
  KIOSK_DATA_DIR=$scratch "$KIOSK_BIN" --config "$here/rootfs/etc/kiosk/kiosk.toml" store-status >/dev/null
  rm -rf "$scratch"
fi

# --- What the image holds. The libraries are those `ldd` lists for the kiosk built with
# --features linuxkms (checked again inside the image below), plus the data they read at run
# time (fonts, Rime dictionaries, the zinnia model).
packages=(
  # The system: init, device manager, kernel, initramfs with the overlay script, network.
  systemd systemd-sysv udev dbus "$kernel" initramfs-tools kmod e2fsprogs util-linux
  systemd-resolved systemd-timesyncd systemd-boot-efi ca-certificates tzdata kbd
  # Libraries the kiosk links (its ELF NEEDED entries): SQLCipher's libcrypto, fontconfig,
  # libinput/libudev/libxkbcommon for touch, the Chinese input engines. Slint's linuxkms
  # software renderer drives DRM with plain ioctls: no libdrm, no libgbm.
  libssl3 libfontconfig1 fontconfig libinput10 libudev1 libxkbcommon0 librime1 libzinnia0
  # zstd: initramfs-tools compresses with it, so the initramfs unpacks faster at boot.
  zstd
  # Data those libraries read.
  fonts-noto-cjk xkb-data rime-prelude rime-essay rime-data-luna-pinyin rime-data-pinyin-simp
  libopencc-data tegaki-zinnia-simplified-chinese
  # Elder mode's voice: espeak-ng (its Mandarin data) synthesises, aplay plays through ALSA.
  espeak-ng alsa-utils
)
include=$(IFS=,; echo "${packages[*]}")

rootfs=$OUT/rootfs
mkdir -p "$OUT"
rm -f "$OUT"/*.img
export IMAGE_BUILD_DIR=$here VARIANT KIOSK_BIN SITE_ENV
if [ -n "$REUSE_ROOTFS" ] && [ -x "$rootfs/usr/local/bin/kiosk" ]; then
  echo "==> reusing $rootfs, customizing it again"
  # What mmdebstrap provides to its hooks: /proc, /sys and /dev inside the root, in a private
  # mount namespace so nothing stays mounted.
  # shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
  unshare --mount --propagation private bash -euc 'mount -t proc proc "$1/proc"
    mount --rbind /sys "$1/sys"; mount --rbind /dev "$1/dev"; "$2/customize.sh" "$1"' \
    customize "$rootfs" "$here"
else
  rm -rf "$rootfs"
  echo "==> $SUITE $ARCH root file system ($VARIANT) in $rootfs"
  # Downloaded packages are kept between builds in out/apt-cache (mmdebstrap's documented
  # hooks for a persistent cache), so a rebuild does not fetch ~400 MB again.
  cache=$here/out/apt-cache-$ARCH
  mkdir -p "$cache"
  # shellcheck disable=SC2016 # "$1" in the hooks is the root directory, expanded by mmdebstrap
  mmdebstrap --variant=minbase --architectures="$ARCH" --include="$include" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --skip=essential/unlink \
    --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
    --setup-hook="sync-in $cache /var/cache/apt/archives/" \
    --customize-hook="sync-out /var/cache/apt/archives $cache" \
    --customize-hook="$here/customize.sh \"\$1\"" \
    "$SUITE" "$rootfs" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
    "deb $SECURITY_MIRROR $SUITE-security main"
fi

# --- The kiosk must find every library it links, inside the image.
echo "==> libraries of the kiosk inside the image"
if chroot "$rootfs" ldd /usr/local/bin/kiosk | tee "$OUT/ldd.txt" | grep 'not found'; then
  echo "the image lacks libraries the kiosk needs (above)" >&2
  exit 1
fi

# --- Partitions. The root partition is the image's directory as ext4; the data partition
# starts with an empty store directory owned by the kiosk user.
kiosk_uid=$(awk -F: '$1 == "kiosk" { print $3 }' "$rootfs/etc/passwd")
kiosk_gid=$(awk -F: '$1 == "kiosk" { print $4 }' "$rootfs/etc/passwd")
kernel_file=$(find "$rootfs/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
initrd_file=$rootfs/boot/initrd.img-${kernel_file##*/vmlinuz-}
if [ ! -s "$kernel_file" ] || [ ! -s "$initrd_file" ]; then
  echo "no kernel or initramfs in $rootfs/boot" >&2
  exit 1
fi

root_uuid=$(uuidgen) root_partuuid=$(uuidgen) esp_partuuid=$(uuidgen) data_partuuid=$(uuidgen)
cmdline="root=PARTUUID=$root_partuuid ro rootfstype=ext4 rootwait quiet loglevel=3"
# No blanking, no cursor on the console under the UI, no auto-mounting of GPT partitions by
# type (the fstab says what is mounted).
cmdline+=" consoleblank=0 vt.global_cursor_default=0 systemd.gpt_auto=0 systemd.show_status=false"
if [ "$VARIANT" = smoke ]; then
  # The report goes to ttyS0; the kernel's messages too, so a failed boot can be read.
  cmdline+=" console=tty1 console=ttyS0,115200"
fi
cmdline+=${EXTRA_CMDLINE:+ $EXTRA_CMDLINE}

echo "==> EFI system partition (systemd-boot, kernel, initramfs)"
esp=$OUT/esp.img
mkfs.vfat -F 32 -n KIOSKESP -C "$esp" $((ESP_SIZE_MIB * 1024)) >/dev/null
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
mcopy -i "$esp" "$rootfs/usr/lib/systemd/boot/efi/systemd-boot$efi_arch.efi" "::/EFI/BOOT/$efi_boot"
mcopy -i "$esp" "$kernel_file" ::/vmlinuz
mcopy -i "$esp" "$initrd_file" ::/initrd.img
# No menu, and no editing of the kernel command line from the keyboard (it could turn the
# overlay off or start a shell).
printf 'timeout 0\ndefault kiosk.conf\neditor no\nauto-entries no\nauto-firmware no\nconsole-mode keep\n' \
  | mcopy -i "$esp" - ::/loader/loader.conf
printf 'title Kiosk\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n' "$cmdline" \
  | mcopy -i "$esp" - ::/loader/entries/kiosk.conf

echo "==> root partition (ext4, mounted read-only under a tmpfs overlay)"
root_img=$OUT/root.img
root_mib=$(du -sm --apparent-size "$rootfs" | cut -f1)
# Room for ext4's own metadata and small files' blocks, plus a little for an update.
root_mib=$((root_mib * 115 / 100 + 200))
mkfs.ext4 -q -F -L KIOSKROOT -U "$root_uuid" -m 0 -d "$rootfs" "$root_img" "${root_mib}M"

echo "==> data partition (ext4, label KIOSKDATA, at /var/lib/kiosk)"
data_stage=$OUT/data-stage
rm -rf "$data_stage"
mkdir -p "$data_stage/store"
chown "$kiosk_uid:$kiosk_gid" "$data_stage/store"
chmod 0700 "$data_stage/store"
# Per-kiosk settings, root-only: the kiosk user may read its store but not rewrite these.
if [ -n "$SITE_ENV" ]; then
  cp "$SITE_ENV" "$data_stage/kiosk.env"
else
  cat >"$data_stage/kiosk.env" <<'ENV'
# Per-kiosk settings, read by kiosk.service (EnvironmentFile=) and overriding
# /etc/kiosk/kiosk.toml. Root-only. Single quotes keep a '$' in the PIN hash literal.
# KIOSK_SERVER_URL=https://central.example
# KIOSK_DEVICE_TOKEN='token printed by `central device enrol`'
# KIOSK_STAFF_PIN_HASH='hash printed by `kiosk staff-pin-hash`'
# KIOSK_SERVER_CA=/var/lib/kiosk/ca.pem      (the hall's CA: trusted alone, needs https://)
ENV
fi
chmod 0600 "$data_stage/kiosk.env"
if [ -n "$SITE_CA" ]; then
  install -m 0644 "$SITE_CA" "$data_stage/ca.pem"
fi
data_img=$OUT/data.img
mkfs.ext4 -q -F -L KIOSKDATA -d "$data_stage" "$data_img" "${DATA_SIZE_MIB}M"

echo "==> disk image (GPT: ESP, root, data)"
disk=$OUT/kiosk.img
mib=2048 # sectors per MiB
esp_start=$mib
root_start=$((esp_start + ESP_SIZE_MIB * mib))
data_start=$((root_start + root_mib * mib))
end=$((data_start + DATA_SIZE_MIB * mib))
rm -f "$disk"
# One MiB after the last partition for the backup GPT.
truncate -s $(((end + mib) * 512)) "$disk"
sfdisk --quiet --no-reread --no-tell-kernel "$disk" <<SFDISK
label: gpt
unit: sectors
start=$esp_start, size=$((ESP_SIZE_MIB * mib)), type=$esp_type, uuid=$esp_partuuid, name="esp"
start=$root_start, size=$((root_mib * mib)), type=$root_type, uuid=$root_partuuid, name="root"
start=$data_start, size=$((DATA_SIZE_MIB * mib)), type=$linux_data_type, uuid=$data_partuuid, name="kiosk-data"
SFDISK
for part in "$esp:$esp_start" "$root_img:$root_start" "$data_img:$data_start"; do
  dd if="${part%%:*}" of="$disk" bs=1M seek=$((${part##*:} / mib)) conv=notrunc,sparse status=none
done
rm -f "$esp" "$root_img" "$data_img"

echo "==> sandbox of kiosk.service (systemd-analyze security, offline)"
chroot "$rootfs" systemd-analyze security --offline=true /etc/systemd/system/kiosk.service \
  >"$OUT/security.txt" 2>&1 || true
tail -n 1 "$OUT/security.txt"

cat >"$OUT/build-info.txt" <<INFO
built: $(date -u +%Y-%m-%dT%H:%M:%SZ)
suite: $SUITE $ARCH ($VARIANT)
kernel: ${kernel_file##*/}
kiosk: $(sha256sum "$KIOSK_BIN" | cut -d' ' -f1)
root PARTUUID: $root_partuuid
kernel command line: $cmdline
partitions: esp ${ESP_SIZE_MIB} MiB, root ${root_mib} MiB, data ${DATA_SIZE_MIB} MiB
INFO
cat "$OUT/build-info.txt"
echo "==> $disk ($(du -h --apparent-size "$disk" | cut -f1))"
