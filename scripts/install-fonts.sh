#!/usr/bin/env bash
# Put the shipped font faces into fonts/ and check each against its sha256 in
# fonts/catalogue.toml. The Fandol files come from Debian's texlive-lang-chinese package, taken
# with `apt-get download` + `dpkg -x` so that the TeX installation it depends on is not pulled in.
set -euo pipefail
cd "$(dirname "$0")/../fonts"

verify() {
  python3 - <<'PY'
import hashlib, sys, tomllib
from pathlib import Path
faces = tomllib.loads(Path("catalogue.toml").read_text())["faces"]
bad = [f["file"] for f in faces.values()
       if not Path(f["file"]).exists()
       or hashlib.sha256(Path(f["file"]).read_bytes()).hexdigest() != f["sha256"]]
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}

verify >/dev/null && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "Fetching the Fandol fonts from Debian's texlive-lang-chinese package"
(cd "$work" && apt-get download -qq texlive-lang-chinese 2>/dev/null) || {
  apt-get update -qq && (cd "$work" && apt-get download -qq texlive-lang-chinese)
}
dpkg -x "$work"/texlive-lang-chinese_*.deb "$work/x"
cp "$work"/x/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/Fandol{Song-Regular,Song-Bold,Fang-Regular,Kai-Regular,Hei-Regular}.otf .

if ! bad=$(verify); then
  echo "Font files do not match fonts/catalogue.toml: $bad" >&2
  exit 1
fi
