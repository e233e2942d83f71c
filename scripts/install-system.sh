#!/usr/bin/env bash
# Install the Debian packages Pilu needs, only those missing. Safe to run again.
#   scripts/install-system.sh          runtime: Python 3 with venv and pip, CA certificates
#                                      (pip reaches PyPI over HTTPS), Pango, HarfBuzz subsetting,
#                                      fontconfig, poppler-utils (the console's PDF thumbnails),
#                                      the fallback faces' packages (fonts-noto-cjk,
#                                      fonts-lxgw-wenkai) and unicode-data (Unihan's kTGH:
#                                      通用规范汉字表, whose glyphs the install step converts for
#                                      the DOCX)
#   scripts/install-system.sh --test   also LibreOffice, PostgreSQL and Chromium for the tests
set -euo pipefail
source "$(dirname "$0")/debian-packages.sh"

# A fresh Debian 12 has no python3-venv (python3 -m venv fails without it) and, in a minimal
# install, no python3 or ca-certificates at all; git and make come before this script runs.
packages=(python3 python3-venv ca-certificates libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
  fontconfig shared-mime-info poppler-utils fonts-noto-cjk fonts-lxgw-wenkai unicode-data)
if [[ "${1:-}" == "--test" ]]; then
  # LibreOffice opens our DOCX; PostgreSQL backs the multi-node store; Playwright drives Chromium.
  packages+=(libreoffice-writer-nogui postgresql chromium)
fi
install_missing_packages "" "${packages[@]}"
