#!/usr/bin/env bash
# Boots the smoke variant of the kiosk image under QEMU and checks it end to end:
#   - inside the VM, kiosk-smoke-report.service (only in VARIANT=smoke images) checks that the
#     kiosk is active, the root is a read-only overlay on tmpfs, the data partition is mounted,
#     the hardware watchdog is armed, there is no getty, SysRq and blanking are off, the
#     sandbox's exposure is <= 4, and that the kiosk comes back after kill -9 and after a
#     freeze (watchdog), then prints `SMOKE …` lines on the serial console;
#   - from the host, QEMU's screendump shows the UI painted, and gives the time from QEMU's
#     start to the kiosk's first frame.
#
#   image-build/smoke-test.sh                     # builds out/amd64-smoke/kiosk.img if missing
#   IMAGE=… ACCEL=kvm image-build/smoke-test.sh   # another image; KVM instead of TCG
#   REPORT=image-build/SMOKE-TEST.md image-build/smoke-test.sh   # also write the record
#
# Exit status 0 only when every check passed. Everything is kept in out/<arch>-smoke/run/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=scripts/deps.sh
source "$repo/scripts/deps.sh"

ARCH=${ARCH:-amd64}
# TCG (software emulation) by default: it runs anywhere, CI containers included. ACCEL=kvm is
# much faster where /dev/kvm is usable.
ACCEL=${ACCEL:-tcg}
IMAGE=${IMAGE:-$here/out/$ARCH-smoke/kiosk.img}
TIMEOUT=${TIMEOUT:-900}
MEMORY_MIB=${MEMORY_MIB:-2048}
run=${RUN_DIR:-$(dirname "$IMAGE")/run}

case "$ARCH" in
amd64)
  ensure_packages qemu-system-x86 ovmf python3
  firmware=/usr/share/OVMF/OVMF_CODE_4M.fd vars=/usr/share/OVMF/OVMF_VARS_4M.fd
  # q35 with the standard VGA (bochs-drm in the guest gives the kiosk /dev/dri/card0) and the
  # Intel 6300ESB watchdog (i6300esb driver, /dev/watchdog0).
  machine=(qemu-system-x86_64 -machine q35 -vga std)
  ;;
arm64)
  # Not run on the amd64 build machine (see README); the same checks apply.
  ensure_packages qemu-system-arm qemu-efi-aarch64 python3
  firmware=/usr/share/AAVMF/AAVMF_CODE.fd vars=/usr/share/AAVMF/AAVMF_VARS.fd
  machine=(qemu-system-aarch64 -machine virt -device virtio-gpu-pci)
  ;;
*)
  echo "ARCH must be amd64 or arm64" >&2
  exit 2
  ;;
esac

# Under KVM the guest sees the host's CPU (without the arch-capabilities MSR, which nested
# hypervisors may refuse); under TCG the most capable emulated one. QEMU_CPU overrides.
if [ "$ACCEL" = kvm ]; then cpu=host,-arch-capabilities; else cpu=max; fi
machine+=(-cpu "${QEMU_CPU:-$cpu}")

if [ ! -f "$IMAGE" ]; then
  echo "==> no image at $IMAGE: building the smoke variant first"
  ARCH=$ARCH VARIANT=smoke "$here/build.sh"
fi

rm -rf "$run"
mkdir -p "$run"
cp "$vars" "$run/efivars.fd"

echo "==> booting $IMAGE ($ARCH, accel $ACCEL)"
# -snapshot: the test never changes the image (the store and key written at first start go
# to a temporary overlay). The serial console is a file the checker reads; QMP takes the
# screendumps. No network device: the kiosk must start without its server.
"${machine[@]}" -accel "$ACCEL" -smp 2 -m "$MEMORY_MIB" \
  -drive "if=pflash,format=raw,readonly=on,file=$firmware" \
  -drive "if=pflash,format=raw,file=$run/efivars.fd" \
  -drive "file=$IMAGE,format=raw,if=virtio" -snapshot \
  -device i6300esb -nic none \
  -device qemu-xhci -device usb-tablet \
  -display none -serial "file:$run/serial.log" \
  -qmp "unix:$run/qmp.sock,server=on,wait=off" \
  >"$run/qemu.log" 2>&1 &
qemu_pid=$!
started=$(date +%s.%N)
# Timings under TCG depend on what else the host runs: the report records it.
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
trap 'kill "$qemu_pid" 2>/dev/null || true' EXIT

# The host side: polls the screen and the serial console until the report ends.
status=0
python3 - "$run" "$started" "$TIMEOUT" "$qemu_pid" <<'PY' | tee "$run/output.txt" || status=$?
import json, os, socket, sys, time

run, started, timeout, qemu_pid = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
serial = os.path.join(run, "serial.log")


def qmp_connect():
    for _ in range(100):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(os.path.join(run, "qmp.sock"))
            f = s.makefile("rw")
            json.loads(f.readline())  # greeting
            qmp(f, "qmp_capabilities")
            return f
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.1)
    sys.exit("QMP socket never came up: see qemu.log")


def qmp(f, command, **arguments):
    f.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
    f.flush()
    while True:
        reply = json.loads(f.readline())
        if "return" in reply or "error" in reply:
            return reply


def screen(f, path):
    """Dumps the screen; returns (width, height, distinct colours, a coarse signature)."""
    reply = qmp(f, "screendump", filename=path)
    if "error" in reply:
        return None
    with open(path, "rb") as ppm:
        data = ppm.read()
    # P6 header: magic, width, height, maxval, each followed by whitespace.
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pixels = data[pos + 1:]
    width, height = int(fields[1]), int(fields[2])
    colours = len({pixels[i:i + 3] for i in range(0, len(pixels), 3)})
    # Every 8th pixel of every 8th row: enough to recognise the same picture again.
    signature = [pixels[(y * width + x) * 3:(y * width + x) * 3 + 3]
                 for y in range(0, height, 8) for x in range(0, width, 8)]
    return width, height, colours, signature


def serial_text():
    try:
        with open(serial, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


f = qmp_connect()
samples = []  # (seconds since QEMU started, width, height, colours, signature)
shot = os.path.join(run, "screen.ppm")
while True:
    now = time.time() - started
    got = screen(f, shot)
    if got:
        samples.append((now,) + got)
    text = serial_text()
    if "SMOKE-END" in text:
        break
    if now > timeout:
        print(f"SMOKE host-timeout FAIL no SMOKE-END within {timeout:.0f} s")
        break
    try:
        os.kill(qemu_pid, 0)
    except ProcessLookupError:
        print("SMOKE host-qemu FAIL QEMU exited early: see qemu.log")
        break
    time.sleep(1)

# The final screen: the kiosk after two restarts. Painted means far more colours than a text
# console (16) or a blank screen (1).
time.sleep(5)
final_path = os.path.join(run, "final.ppm")
final = screen(f, final_path)
results = []
if final:
    w, h, colours, signature = final
    results.append(("ui-painted", colours >= 64, f"{w}x{h}, {colours} distinct colours on screen"))
    # First frame: the first screendump that already shows (almost) the final picture.
    first = None
    for (t, sw, sh, sc, ssig) in samples:
        if (sw, sh) == (w, h) and sc >= 64:
            same = sum(a == b for a, b in zip(ssig, signature)) / len(signature)
            if same >= 0.95:
                first = t
                break
    results.append(("first-frame-host", first is not None,
                    f"{first:.1f} s from QEMU start to the kiosk's first frame (screendump every ~1 s)"
                    if first is not None else "the final picture never appeared before the end"))
else:
    results.append(("ui-painted", False, "screendump failed"))

text = serial_text()
print("---- serial console (SMOKE lines) ----")
for line in text.splitlines():
    if line.startswith("SMOKE"):
        print(line.rstrip())
print("---- host ----")
for name, ok, detail in results:
    print(f"SMOKE {name} {'ok' if ok else 'FAIL'} {detail}")
qmp(f, "quit")
passed = "SMOKE-END PASS" in text and all(ok for _, ok, _ in results)
print("RESULT", "PASS" if passed else "FAIL")
sys.exit(0 if passed else 1)
PY
wait "$qemu_pid" 2>/dev/null || true
trap - EXIT
if command -v convert >/dev/null 2>&1 && [ -f "$run/final.ppm" ]; then
  convert "$run/final.ppm" "$run/final.png" && rm -f "$run/final.ppm" "$run/screen.ppm"
fi
echo "serial log: $run/serial.log; final screen: $run/final.png"

if [ -n "${REPORT:-}" ]; then
  {
    echo "# Smoke test of the kiosk image"
    echo
    echo "Written by \`image-build/smoke-test.sh\` (\`REPORT=\`); how to run it: \`image-build/README.md\`."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr); load average at the start: $load_at_start"
    echo "- QEMU: $("${machine[0]}" --version | head -n 1), accel $ACCEL, ${MEMORY_MIB} MiB, 2 vCPUs, OVMF"
    echo "- result: $(tail -n 1 "$run/output.txt" | sed 's/^RESULT //')"
    echo
    echo "## The image"
    echo
    echo '```'
    cat "$(dirname "$IMAGE")/build-info.txt" 2>/dev/null || echo "(no build-info.txt next to $IMAGE)"
    echo '```'
    echo
    echo "## Output"
    echo
    echo '```'
    cat "$run/output.txt"
    echo '```'
  } >"$REPORT"
  echo "report: $REPORT"
fi
exit "$status"
