#!/usr/bin/env bash
# Installs the Debian packages MyStyle Studio needs to build, run and test (idempotent; uses sudo when not root).
#   build:   gcc (C parts of some crates), pkg-config
#   run:     X11/GL client libraries (loaded at run time), Mesa's software Vulkan so wgpu has an adapter without a GPU
#   test:    xvfb (a real X server for the window test), imagemagick (`import` takes the screenshot)
set -euo pipefail
packages=(build-essential pkg-config libx11-6 libxcursor1 libxi6 libxrandr2 libxkbcommon-x11-0 libgl1 libegl1
  libgl1-mesa-dri libvulkan1 mesa-vulkan-drivers xvfb imagemagick)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust 1.95 or newer (https://rustup.rs)" >&2; exit 1; }
