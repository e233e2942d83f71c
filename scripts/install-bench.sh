#!/usr/bin/env bash
# Install what `make bench` compares Pilu with, only what is missing. Safe to run again.
#
#   Debian:  chromium                              (headless print over CDP)
#            libreoffice-writer-nogui, python3-uno (soffice --convert-to, and a resident soffice
#                                                   driven over UNO by Debian's /usr/bin/python3:
#                                                   UNO binds only to the system Python)
#            poppler-utils                         (pdfinfo/pdffonts: page and font checks)
#   PyPI, into .venv:
#            typst        the Typst compiler as a Python binding (the speed limit of the field)
#            websockets   a CDP client for Chromium
#            docxtpl      template fill, the first half of "the LibreOffice pipeline"
#            pyinstrument bench/profile.py
#
# Needs the project's venv (`make install` makes it). Touches nothing outside the venv and
# Debian's package manager.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV_PY=${VENV_PY:-.venv/bin/python}
if [[ ! -x "$VENV_PY" ]]; then
  echo "install-bench: $VENV_PY missing; run 'make install' first" >&2
  exit 1
fi

source scripts/debian-packages.sh
install_missing_packages " for the benchmark" \
  chromium libreoffice-writer-nogui python3-uno poppler-utils fontconfig

# UNO must import in Debian's own Python (the one python3-uno is built for).
if ! /usr/bin/python3 -c 'import uno' 2>/dev/null; then
  echo "install-bench: /usr/bin/python3 cannot import uno after installing python3-uno" >&2
  exit 1
fi

# Python packages: install only those that do not import.
declare -A modules=([typst]=typst [websockets]=websockets [docxtpl]=docxtpl [pyinstrument]=pyinstrument)
declare -A specs=([typst]='typst>=0.13' [websockets]='websockets>=12' [docxtpl]='docxtpl>=0.16' [pyinstrument]='pyinstrument>=4.6')
want=()
for name in "${!modules[@]}"; do
  "$VENV_PY" -c "import ${modules[$name]}" 2>/dev/null || want+=("${specs[$name]}")
done
if [[ ${#want[@]} -gt 0 ]]; then
  echo "Installing into .venv for the benchmark: ${want[*]}"
  "$VENV_PY" -m pip install -q "${want[@]}"
fi
