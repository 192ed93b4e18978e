#!/usr/bin/env bash
# Install everything into .venv (idempotent). With --dev, also the test tools,
# Debian's chromium for the browser tests and Debian's nginx for the deploy tests.
# Why a script: the README's two commands must work on a fresh machine with
# only the package registries, and torch must come from the pinned CPU wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt
  if ! command -v chromium >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      echo "warning: Debian chromium is not installed; browser tests will be skipped" >&2
    fi
  fi
  # The feedback store's tests start a real PostgreSQL (initdb + pg_ctl on a loopback port).
  if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
      echo "warning: Debian postgresql is not installed; the store's PostgreSQL tests will be skipped" >&2
    fi
  fi
  # Debian's nginx (and openssl for a test certificate) for tests/test_deploy_*.py, which run
  # their own nginx in a temporary folder; the package's own service is not wanted here.
  if { ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; } || ! command -v openssl >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light openssl >/dev/null
      if [ -d /run/systemd/system ]; then
        systemctl disable --now nginx >/dev/null 2>&1 || true
      fi
    else
      echo "warning: Debian nginx is not installed; the deploy tests will be skipped" >&2
    fi
  fi
else
  .venv/bin/python -m pip install --quiet -r requirements.txt
fi
.venv/bin/python -m pip check
# Compile the project's own modules once, as pip does for the libraries: a
# process that compiles them from source at every start (no writable
# __pycache__, or PYTHONDONTWRITEBYTECODE set) starts about 30 ms later.
.venv/bin/python -m compileall -q qa qa_web eval bench app.py >/dev/null
# Export the model to ONNX now (once, about 10 s, into index/encoders/ or
# $QA_ENCODER_CACHE), so the first start of the app doesn't. Not fatal: without
# it the app still runs, on PyTorch.
HF_HUB_OFFLINE=1 .venv/bin/python -c "from qa.encoder.embedder import Embedder; print('encoder backend:', Embedder().backend)" \
  || echo "warning: ONNX export failed; the assistant will use PyTorch" >&2
