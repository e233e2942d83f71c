#!/usr/bin/env bash
# Dependency lock and audit.
#
#   bash scripts/audit.sh                  # audit requirements.lock + requirements-test.lock
#   bash scripts/audit.sh --allow-offline  # the same, but exit 0 (with a warning) when no
#                                          # vulnerability service could audit anything
#   bash scripts/audit.sh --venv           # audit what is installed in .venv instead
#   bash scripts/audit.sh --write-lock     # write the two lock files from .venv
#   bash scripts/audit.sh --check-lock     # exit 1 when .venv and the lock files differ
#
# The lock files pin the exact versions installed in .venv of what `pilu` needs
# (requirements.lock: `pip install -e .`, what the image ships) and of what its tests add
# (requirements-test.lock: `.[test]`), for Python 3.11 on Linux. They are written from the
# installed packages' own metadata (the dependency closure of `pilu` and `pilu[test]`), so bench
# tools or anything else installed by hand stay out. They carry no hashes.
#
# The audit asks pip-audit with OSV first, then PyPI's JSON API. Exit codes: 0 audited and
# nothing known; 1 known vulnerabilities (listed); 2 NOT AUDITED: no service answered, or it
# knew none of the packages (a PyPI mirror without the per-version JSON pages makes pip-audit
# skip every package); 3 the lock and .venv differ (--check-lock). There is no offline
# advisory database in this path: a machine that reaches neither service cannot audit, and this
# script says so instead of passing (see docs/security.md, "Residual risks").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LOCK=requirements.lock
TEST_LOCK=requirements-test.lock
MODE=lock
ALLOW_OFFLINE=0
for arg in "$@"; do
    case $arg in
        --allow-offline) ALLOW_OFFLINE=1 ;;
        --venv) MODE=venv ;;
        --write-lock) MODE=write ;;
        --check-lock) MODE=check ;;
        *) echo "audit: unknown option $arg" >&2; exit 64 ;;
    esac
done

# The dependency closure of pilu (runtime) and pilu[test] (the rest), as name==version lines.
closure() {
    "$PY" - "$1" <<'PYEOF'
import sys
from importlib import metadata

try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pip vendors the same package
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name


def closure(root: str, extras: set[str]) -> set[str]:
    seen: set[tuple[str, frozenset[str]]] = set()
    stack = [(root, extras)]
    while stack:
        name, wanted = stack.pop()
        key = (canonicalize_name(name), frozenset(wanted))
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.distribution(name).requires or []:
            req = Requirement(text)
            envs = [{"extra": e} for e in (wanted or {""})]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                stack.append((req.name, set(req.extras)))
    return {name for name, _ in seen} - {"pilu"}


runtime = closure("pilu", set())
names = runtime if sys.argv[1] == "runtime" else closure("pilu", {"test"}) - runtime
for name in sorted(names):
    print(f"{name}=={metadata.version(name)}")
PYEOF
}

write_locks() {
    local python
    python=$("$PY" -c 'import platform; print(platform.python_version())')
    {
        echo "# Exact versions of what pilu needs at run time, as installed in .venv (Python $python, Linux)."
        echo "# Written by: bash scripts/audit.sh --write-lock. Install: pip install -r requirements.lock"
        closure runtime
    } > "$1"
    {
        echo "# Exact versions of what pilu's tests add to requirements.lock (Python $python, Linux)."
        echo "# Written by: bash scripts/audit.sh --write-lock."
        echo "-r requirements.lock"
        closure test
    } > "$2"
}

pins() { grep -h -E '^[A-Za-z0-9._-]+==' "$@" | sort -f; }

if [[ $MODE == write ]]; then
    write_locks "$LOCK" "$TEST_LOCK"
    echo "audit: wrote $LOCK ($(pins "$LOCK" | wc -l) pins) and $TEST_LOCK ($(pins "$TEST_LOCK" | wc -l) pins)"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Drift: what .venv holds against what the lock files say (a warning here, exit 3 for --check-lock).
if [[ -f $LOCK && -f $TEST_LOCK ]]; then
    write_locks "$work/venv.lock" "$work/venv-test.lock"
    if ! diff <(pins "$LOCK" "$TEST_LOCK") <(pins "$work/venv.lock" "$work/venv-test.lock") > "$work/drift"; then
        echo "audit: .venv differs from the lock files (< lock, > .venv):"
        grep -E '^[<>]' "$work/drift" | sed 's/^/  /'
        [[ $MODE == check ]] && exit 3
    elif [[ $MODE == check ]]; then
        echo "audit: .venv matches $LOCK and $TEST_LOCK"
        exit 0
    fi
elif [[ $MODE != venv ]]; then
    echo "audit: $LOCK or $TEST_LOCK is missing (bash scripts/audit.sh --write-lock)" >&2
    exit 2
fi

if ! "$PY" -c "import pip_audit" 2>/dev/null; then
    echo "audit: pip-audit is not installed in .venv (make install-test installs it)" >&2
    exit 2
fi

if [[ $MODE == venv ]]; then
    # Every installed distribution, pinned; the project itself (editable) is not on any index.
    "$PY" -m pip freeze --exclude-editable --disable-pip-version-check \
        | grep -v -E '^(-e |#)' | grep '==' > "$work/requirements.txt"
    echo "audit: $(wc -l < "$work/requirements.txt") pinned packages from .venv"
else
    pins "$LOCK" "$TEST_LOCK" > "$work/requirements.txt"
    echo "audit: $(wc -l < "$work/requirements.txt") pinned packages from $LOCK and $TEST_LOCK"
fi

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
