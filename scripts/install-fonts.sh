#!/usr/bin/env bash
# Put the shipped font faces into fonts/ and check each against its sha256 in
# fonts/catalogue.toml.
# - The Fandol files come from Debian's texlive-lang-chinese package, taken with
#   `apt-get download` + `dpkg -x` so that the TeX installation it depends on is not pulled in.
# - The fallback faces (a `source` in the catalogue) come from the installed fonts-noto-cjk and
#   fonts-lxgw-wenkai packages (scripts/install-system.sh), copied out by scripts/extract-font.py:
#   the face `index` of a collection, without the tables in `drop`.
set -euo pipefail
cd "$(dirname "$0")/../fonts"

# The catalogue entries whose file is missing or does not match: "file|source|index|drop".
mismatched() {
  python3 - <<'PY'
import hashlib, tomllib
from pathlib import Path
faces = tomllib.loads(Path("catalogue.toml").read_text())["faces"]
for f in faces.values():
    p = Path(f["file"])
    if not p.exists() or hashlib.sha256(p.read_bytes()).hexdigest() != f["sha256"]:
        drop = ",".join(f.get("drop", []))
        print(f["file"], f.get("source", ""), f.get("index", "-"), drop, sep="|")
PY
}

bad=$(mismatched)
[[ -z $bad ]] && exit 0

if grep -q '^Fandol[^|]*||' <<<"$bad"; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "Fetching the Fandol fonts from Debian's texlive-lang-chinese package"
  (cd "$work" && apt-get download -qq texlive-lang-chinese 2>/dev/null) || {
    apt-get update -qq && (cd "$work" && apt-get download -qq texlive-lang-chinese)
  }
  dpkg -x "$work"/texlive-lang-chinese_*.deb "$work/x"
  cp "$work"/x/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/Fandol{Song-Regular,Song-Bold,Fang-Regular,Kai-Regular,Hei-Regular}.otf .
fi

while IFS="|" read -r file source index drop; do
  [[ -z $source ]] && continue
  if [[ ! -f $source ]]; then
    echo "Fallback face $file: $source is missing (scripts/install-system.sh installs it)" >&2
    exit 1
  fi
  echo "Fallback face $file from $source"
  rm -f "$file"
  python3 ../scripts/extract-font.py "$source" "$index" "$file" "$drop"
done <<<"$bad"

if bad=$(mismatched) && [[ -n $bad ]]; then
  echo "Font files do not match fonts/catalogue.toml: $(cut -d"|" -f1 <<<"$bad" | tr '\n' ' ')" >&2
  exit 1
fi
