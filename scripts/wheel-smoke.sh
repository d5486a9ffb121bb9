#!/usr/bin/env bash
# The distribution as a user gets it: build the sdist and, from it, the wheel; install the wheel
# into a fresh venv outside the checkout; then, from there, the quick start:
#   core --version -> core init -> makemigrations -> migrate -> core run -> GET /health (+ /docs).
# Dependencies come from constraints.txt (PIP_CONSTRAINT), as in `make test`.
# Usage: scripts/wheel-smoke.sh [python]   (run by `make wheel-smoke` and .ci/run)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${1:-$ROOT/.venv/bin/python}"
WORK="$(mktemp -d /tmp/core-wheel-smoke.XXXXXX)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
say() { printf -- '--> %s\n' "$*"; }
fail() { printf 'wheel-smoke: FAILED: %s\n' "$*" >&2; exit 1; }
export PIP_CONSTRAINT="$ROOT/constraints.txt" PIP_DISABLE_PIP_VERSION_CHECK=1

say "build the sdist, then the wheel from the sdist (python -m build)"
"$PYTHON" -m build --outdir "$WORK/dist" "$ROOT" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; fail "build"; }
WHEEL=$(ls "$WORK"/dist/core_framework-*.whl)
SDIST=$(ls "$WORK"/dist/core_framework-*.tar.gz)
say "built $(basename "$SDIST") and $(basename "$WHEEL")"

say "the package data is in both"
WHEEL_FILES=$("$PYTHON" -m zipfile -l "$WHEEL")
SDIST_FILES=$(tar -tzf "$SDIST")
for file in core/py.typed core/cli/templates/project/src/main.py-tpl \
            core/cli/templates/project/pyproject.toml-tpl core/cli/templates/app/models.py-tpl; do
    grep -q "$file" <<<"$WHEEL_FILES" || fail "$file missing from the wheel"
    grep -q "core_framework/$file" <<<"$SDIST_FILES" || fail "$file missing from the sdist"
done
if grep -qE '(^| )tests/' <<<"$WHEEL_FILES"; then fail "the wheel ships the test suite"; fi

say "install the wheel into a fresh venv in $WORK (outside the checkout)"
cd "$WORK"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet "$WHEEL" || fail "pip install of the wheel"
export PATH="$WORK/venv/bin:$PATH"
unset VIRTUAL_ENV PYTHONPATH DATABASE_URL
LOCATION=$(python -c 'import core; print(core.__file__)')
[[ "$LOCATION" == "$WORK/venv/"* ]] || fail "core imported from $LOCATION, not the venv"
python -c 'from importlib.resources import files; assert files("core").joinpath("py.typed").is_file()'

EXPECTED="core-framework $(python -c 'from importlib.metadata import version; print(version("core-framework"))')"
VERSION=$(core --version)
[[ "$VERSION" == "$EXPECTED" ]] || fail "core --version printed '$VERSION', expected '$EXPECTED'"
say "core --version: $VERSION"

say "core init smoke --no-venv (the wheel's venv is the project's)"
core init smoke --no-venv >/dev/null
cd smoke
# What a teammate installs: the released name with a range, never this machine's wheel path.
grep -q '^dependencies = \["core-framework>=' pyproject.toml || fail "pyproject.toml: $(grep dependencies pyproject.toml)"
if grep -q 'file://' pyproject.toml; then fail "pyproject.toml names a local file"; fi
say "core makemigrations / migrate"
core makemigrations --name initial
core migrate
core check

PORT=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
say "core run --port $PORT"
core run --port "$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 150); do
    if python - "$BASE" <<'EOF' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/health", timeout=1)
EOF
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; fail "core run exited"; }
    sleep 0.2
done
python - "$BASE" <<'EOF' || { cat "$WORK/server.log"; fail "the running project"; }
import json, sys, urllib.request

base = sys.argv[1]
with urllib.request.urlopen(base + "/health", timeout=10) as response:
    assert response.status == 200, response.status
    body = json.load(response)
assert body["status"] == "healthy", body
print("--> GET /health:", response.status, body)
with urllib.request.urlopen(base + "/docs", timeout=10) as response:
    page = response.read().decode()
assert "/static/docs/swagger/swagger-ui-bundle.js" in page and "https://" not in page, page
with urllib.request.urlopen(base + "/static/docs/swagger/swagger-ui-bundle.js", timeout=10) as response:
    assert response.status == 200 and response.headers["content-type"].startswith("text/javascript")
print("--> GET /docs: its Swagger UI comes from the installed wheel's dependencies")
EOF
say "wheel smoke test passed"
