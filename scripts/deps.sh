# shellcheck shell=bash
# Sourced by scripts/run and scripts/test: installs what is missing, and nothing else.
# Idempotent: apt runs only when a package is absent.

# Debian packages needed to build and test everything in the workspace.
KIOSK_BUILD_PACKAGES=(
  build-essential   # cc for SQLCipher and other C parts
  pkg-config
  libssl-dev        # SQLCipher links libcrypto
  libfontconfig-dev # Slint finds system fonts through fontconfig
  fonts-noto-cjk    # full-coverage Chinese font: ID-card names hold rare characters
  libudev-dev       # the kiosk flavour (linuxkms feature): DRM/KMS and libinput
  libinput-dev
  libxkbcommon-dev
  clang libclang-dev                # bindgen for librime-sys
  librime-dev libzinnia-dev         # Chinese input: pinyin (librime) and handwriting (zinnia)
  librime1 libzinnia0 rime-prelude rime-essay rime-data-luna-pinyin rime-data-pinyin-simp
  libopencc-data tegaki-zinnia-simplified-chinese
  espeak-ng alsa-utils              # elder mode's voice: offline synthesis, ALSA playback (aplay)
)

# Debian packages only the tests need: the reviewer console's pages are tested in a real browser.
KIOSK_TEST_PACKAGES=(chromium chromium-driver)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_packages PKG... — installs the packages that are not installed yet.
ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing missing packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is missing: install Rust (rustup) first; every other dependency is installed by this script." >&2
    exit 1
  fi
}

ensure_build_deps() {
  ensure_rust
  ensure_packages "${KIOSK_BUILD_PACKAGES[@]}"
}

ensure_test_deps() {
  ensure_packages "${KIOSK_TEST_PACKAGES[@]}"
}
