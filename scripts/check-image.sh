#!/usr/bin/env bash
# Build the Dockerfile's image and check that it serves as its unprivileged user against
# root-owned, read-only files:
#   bash scripts/check-image.sh            # build (cached layers are reused), run, check, remove
#   IMAGE=pilu:test bash scripts/check-image.sh --no-build
#
# The container runs with its whole file system read-only (`--read-only`), only /tmp and the
# data folder /app/var writable (tmpfs, the latter owned by the image's user 10001). The script
# checks that the process runs as uid 10001, that the install tree (code, fonts, the glyph cache
# fonts/build/docx) is root's and not writable by it, waits for /readyz, then renders the
# reference example through POST /v1/render as PDF and DOCX and checks what comes back: a PDF
# whose fonts are all embedded (pdffonts, when poppler-utils is installed here) and a DOCX.
# Needs docker and curl; the build needs the base image (python:3.11-slim-bookworm), apt and PyPI.
# Exit 0 all checks passed, 1 a check failed, 2 docker missing or not running.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-pilu:check}
NAME=pilu-check-$$
BUILD=1
for arg in "$@"; do
    case $arg in
        --no-build) BUILD=0 ;;
        *) echo "check-image: unknown option $arg" >&2; exit 64 ;;
    esac
done
docker info >/dev/null 2>&1 || { echo "check-image: docker is not running" >&2; exit 2; }
work=$(mktemp -d)
cleanup() { docker rm -f "$NAME" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; docker logs --tail 40 "$NAME" >&2 2>/dev/null || true; exit 1; }

if [[ $BUILD == 1 ]]; then
    start=$(date +%s)
    docker build -q -t "$IMAGE" . >/dev/null
    echo "built $IMAGE in $(($(date +%s) - start)) s"
fi
echo "image size: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')"

KEY=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
docker run -d --name "$NAME" --read-only --tmpfs /tmp \
    --tmpfs /app/var:rw,uid=10001,gid=10001,mode=0700 \
    -e PILU_API_KEYS="$KEY:*:check" -p 127.0.0.1::8080 "$IMAGE" >/dev/null
PORT=$(docker port "$NAME" 8080/tcp | head -1 | sed 's/.*://')
URL=http://127.0.0.1:$PORT

[[ $(docker exec "$NAME" id -u) == 10001 ]] || fail "the server does not run as uid 10001"
for path in /app/service /app/fonts /app/fonts/build/docx /app/templates /app/.venv; do
    owner=$(docker exec "$NAME" stat -c %u "$path")
    [[ $owner == 0 ]] || fail "$path is owned by uid $owner, not root"
    if docker exec "$NAME" sh -c "test -w '$path'"; then fail "$path is writable by the server"; fi
done
docker exec "$NAME" sh -c 'ls /app/fonts/build/docx/*.glyphs >/dev/null' \
    || fail "no glyph cache built into the image"

start=$(date +%s)
until curl -fsS "$URL/readyz" >/dev/null 2>&1; do
    (($(date +%s) - start < 180)) || fail "/readyz not 200 after 180 s"
    [[ $(docker inspect -f '{{.State.Running}}' "$NAME") == true ]] || fail "the container stopped"
    sleep 1
done
echo "ready in $(($(date +%s) - start)) s (workers warm)"

for fmt in pdf docx; do
    t0=$(date +%s%N)
    status=$(curl -sS -o "$work/reference.$fmt" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
        -H "Content-Type: application/json" --data-binary @examples/xiaokang-life-2023.json \
        "$URL/v1/render?format=$fmt")
    ms=$((($(date +%s%N) - t0) / 1000000))
    [[ $status == 200 ]] || fail "POST /v1/render?format=$fmt answered $status: $(head -c 300 "$work/reference.$fmt")"
    echo "reference $fmt: $(stat -c %s "$work/reference.$fmt") bytes in $ms ms"
done
[[ $(head -c 5 "$work/reference.pdf") == "%PDF-" ]] || fail "the PDF is not a PDF"
[[ $(head -c 2 "$work/reference.docx") == "PK" ]] || fail "the DOCX is not a ZIP"
if command -v pdffonts >/dev/null; then
    if pdffonts "$work/reference.pdf" | tail -n +3 | awk '$(NF-4) != "yes"' | grep -q .; then
        fail "the PDF has a font that is not embedded"
    fi
    echo "pdffonts: $(pdffonts "$work/reference.pdf" | tail -n +3 | wc -l) fonts, all embedded"
fi
rss=$(docker stats --no-stream --format '{{.MemUsage}}' "$NAME")
echo "container memory after two renders: $rss"
echo "image check passed"
