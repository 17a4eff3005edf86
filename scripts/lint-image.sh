#!/usr/bin/env bash
# Runs shellcheck over every shell script of the tooling: scripts/ and image-build/
# (the build and smoke-test scripts, and the shell scripts that go into the image).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages shellcheck

with_shebang=()
sourced=()
for file in scripts/* image-build/*.sh image-build/smoke/usr/local/sbin/* \
  image-build/rootfs/etc/initramfs-tools/hooks/* \
  image-build/rootfs/etc/initramfs-tools/scripts/*/*; do
  [ -f "$file" ] || continue
  case "$(head -c 64 "$file")" in
  '#!'*sh*) with_shebang+=("$file") ;;
  '#!'*) ;; # another language
  *) [[ "$file" == *.sh ]] && sourced+=("$file") ;; # sourced by bash scripts (deps.sh)
  esac
done

echo "==> shellcheck (${#with_shebang[@]} scripts, ${#sourced[@]} sourced files)"
printf "   %s\n" "${with_shebang[@]}" "${sourced[@]}"
shellcheck -x "${with_shebang[@]}"
if [ "${#sourced[@]}" -gt 0 ]; then
  shellcheck -x --shell=bash "${sourced[@]}"
fi
