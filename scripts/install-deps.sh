#!/usr/bin/env bash
# Installs the Debian packages latent-tui builds and tests against. Idempotent:
# does nothing when they are all present.
set -euo pipefail
packages=(libopenblas-dev libncursesw5-dev libpng-dev libgif-dev tmux ncurses-term)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
