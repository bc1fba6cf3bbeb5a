#!/usr/bin/env bash
# Installs the Debian packages NormSharp's tests and experiments use, when they are missing:
#   openmpi-bin  - distributed (MPI) training and its tests
# Safe to run again: it installs only what is absent. Needs root or sudo.
set -euo pipefail

packages=()
command -v mpirun >/dev/null 2>&1 || packages+=(openmpi-bin)

if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
echo "installing: ${packages[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
