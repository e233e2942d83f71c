#!/usr/bin/env bash
# Check the README's promise on a fresh Debian 12: in a minimal bookworm root made by debootstrap,
# with only git and make added (what the README asks a newcomer to bring), `make run` from a
# clone of this checkout must install what is missing and serve /readyz and a render.
#
#   sudo scripts/check-fresh-debian.sh [ROOT_DIR]
#
# Needs root (debootstrap, chroot, bind mounts) and the Debian mirror this machine's apt uses.
# It takes several minutes (the root, then LibreOffice-free runtime packages and the Python
# wheels), so it is run by hand before a release, not by CI. The root is removed at the end
# unless KEEP_ROOT=1.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-$(mktemp -d /tmp/pilu-fresh-debian.XXXXXX)}
port=${PORT:-18765}
started=$(date +%s)

mirror=$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
  /etc/apt/sources.list.d/*.list 2>/dev/null | grep -m1 -E '/debian/?$' | awk '{print $2}' || true)
mirror=${mirror:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null

server=""
cleanup() {
  set +e  # a step that fails here must not skip the unmounting
  if [[ -n "$server" ]] && kill -TERM -- "-$server" 2>/dev/null; then
    sleep 3
    kill -KILL -- "-$server" 2>/dev/null
  fi
  for m in dev/shm dev/pts dev proc sys; do umountpoint "$root/$m"; done
  # never delete through a mount that is still there (it would be the host's /dev or /proc)
  if grep -q " $root/" /proc/mounts; then
    echo "mounts left under $root; not removing it" >&2
  elif [[ "${KEEP_ROOT:-0}" != 1 ]]; then
    rm -rf "$root" "$root.debootstrap.log"
  fi
}
umountpoint() { mountpoint -q "$1" 2>/dev/null && umount -l "$1" || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { echo "[$(( $(date +%s) - started )) s] $*"; }

step "debootstrap --variant=minbase bookworm from $mirror into $root"
[[ -e "$root/etc/debian_version" ]] && { echo "$root already holds a system; give a new folder" >&2; exit 1; }
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 \
  || { tail -20 "$root.debootstrap.log"; exit 1; }
mount --bind /dev "$root/dev"; mount --bind /dev/pts "$root/dev/pts"
mount --bind /dev/shm "$root/dev/shm"
mount -t proc proc "$root/proc"; mount -t sysfs sys "$root/sys"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Certificate authorities this machine adds locally (a TLS-inspecting proxy on the way to PyPI)
# go into the root too, and pip is pointed at the system bundle: without them pip cannot reach
# PyPI from here at all, which says nothing about a newcomer's machine. The bundle itself comes
# from ca-certificates, which install-system.sh brings.
pip_env=""
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  pip_env="PIP_CERT=/etc/ssl/certs/ca-certificates.crt"
fi

in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 bash -c "$1"; }

step "what the README asks for first: git and make"
in_root "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git make >/dev/null"
in_root "command -v python3 && echo 'python3 present before make' || echo 'no python3 before make'"

step "a clone of this checkout (HEAD) at /src"
git -C "$here" bundle create "$root/pilu.bundle" HEAD >/dev/null 2>&1
in_root "git clone -q /pilu.bundle /src"

step "make run (in the background), then /readyz and a render"
# its own session, so that the server and its workers can be stopped as one process group
setsid chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  $pip_env bash -c "cd /src && exec make run PORT=$port" >"$root/src/make-run.log" 2>&1 &
server=$!
ok=0
for _ in $(seq 1 900); do
  kill -0 "$server" 2>/dev/null || break  # make run ended: it failed
  if in_root "cd /src && test -x .venv/bin/python && .venv/bin/python -c \"import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:$port/readyz', timeout=2).status == 200 else 1)\"" 2>/dev/null; then
    ok=1; break
  fi
  sleep 1
done
if [[ $ok != 1 ]]; then
  step "FAILED: /readyz did not answer; the end of make run's output:"
  tail -40 "$root/src/make-run.log"; exit 1
fi
step "/readyz 200; rendering the example"
in_root "cd /src && .venv/bin/python - <<'PY'
import urllib.request
key = open('var/dev-api-key').read().strip()
body = open('examples/xiaokang-life-2023.json', 'rb').read()
request = urllib.request.Request('http://127.0.0.1:$port/v1/render?format=pdf', data=body,
                                 headers={'Authorization': 'Bearer ' + key})
pdf = urllib.request.urlopen(request, timeout=120).read()
assert pdf.startswith(b'%PDF'), pdf[:100]
print(f'render: {len(pdf)} bytes of PDF')
PY"
kill -TERM -- "-$server"; wait "$server" || true; server=""
step "PASSED: a fresh Debian 12 with git and make runs 'make run'"
