#!/usr/bin/env bash
# Install the Debian packages Pilu needs, only those missing. Safe to run again.
#   scripts/install-system.sh          runtime: Pango, HarfBuzz subsetting, fontconfig
#   scripts/install-system.sh --test   also the programs the tests read documents with
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig shared-mime-info)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(poppler-utils libreoffice-writer-nogui postgresql)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
