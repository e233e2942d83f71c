#!/usr/bin/env bash
# Audit the Python packages installed in .venv (what `make install-test` locked in) for known
# vulnerabilities with pip-audit, asking OSV first and then PyPI's JSON API.
#
#   bash scripts/audit.sh                  # exit 0: audited, nothing known; 1: vulnerabilities
#   bash scripts/audit.sh --allow-offline  # as above, but 0 (with a warning) when no service
#                                          # could audit anything, instead of 2
#
# Exit 2 means the audit did not happen: no vulnerability service answered, or it knew none of
# the packages (a PyPI mirror without per-version pages makes pip-audit skip every package).
# Needs only the network pip-audit needs (api.osv.dev, or pypi.org's JSON API); nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
ALLOW_OFFLINE=0
[[ "${1:-}" == "--allow-offline" ]] && ALLOW_OFFLINE=1

if ! "$PY" -c "import pip_audit" 2>/dev/null; then
    echo "audit: pip-audit is not installed in .venv (make install-test installs it)" >&2
    exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Every installed distribution, pinned; the project itself (editable) is not on any index.
"$PY" -m pip freeze --exclude-editable --disable-pip-version-check \
    | grep -v -E '^(-e |#)' | grep '==' > "$work/requirements.txt"
echo "audit: $(wc -l < "$work/requirements.txt") pinned packages from .venv"

for service in osv pypi; do
    report="$work/$service.json"
    if "$PY" -m pip_audit -r "$work/requirements.txt" --no-deps --disable-pip \
        --vulnerability-service "$service" --format json --output "$report" \
        --progress-spinner off --timeout 20 >"$work/$service.log" 2>&1; then
        status=0
    else
        status=$?
    fi
    if [[ ! -s "$report" ]]; then
        echo "audit: $service could not be asked ($(tail -n 1 "$work/$service.log" | cut -c1-200))"
        continue
    fi
    set +e
    "$PY" - "$report" "$service" <<'PYEOF'
import json, sys
report, service = json.load(open(sys.argv[1])), sys.argv[2]
deps = report.get("dependencies", [])
audited = [d for d in deps if "skip_reason" not in d]
vulnerable = [d for d in audited if d.get("vulns")]
print(f"audit: {service}: {len(audited)} of {len(deps)} packages audited, "
      f"{len(vulnerable)} with known vulnerabilities")
for dep in vulnerable:
    for vuln in dep["vulns"]:
        fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
        print(f"  {dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixes})")
sys.exit(1 if vulnerable else (0 if audited else 3))
PYEOF
    verdict=$?
    set -e
    case $verdict in
        0) echo "audit: no known vulnerabilities ($service)"; exit 0 ;;
        1) exit 1 ;;
        *) echo "audit: $service knew none of the packages (pip-audit exit $status)" ;;
    esac
done

if [[ $ALLOW_OFFLINE == 1 ]]; then
    echo "audit: WARNING: no vulnerability service could audit the packages; NOT AUDITED" >&2
    exit 0
fi
echo "audit: no vulnerability service could audit the packages; NOT AUDITED" >&2
exit 2
