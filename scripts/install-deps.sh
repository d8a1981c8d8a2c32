#!/usr/bin/env bash
# Installs the Debian packages latent-tui builds and tests against (and, where python3
# is present, numpy and safetensors for one cross-check test). Idempotent:
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
# The cross-check with Python's safetensors reader (a test skips itself without it).
if command -v python3 >/dev/null && ! python3 -c "import numpy, safetensors" 2>/dev/null; then
    echo "installing: numpy safetensors (pip)"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore numpy safetensors \
        || echo "pip could not install numpy and safetensors: the Python cross-check will be skipped"
fi
