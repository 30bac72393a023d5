#!/usr/bin/env bash
# Install what the harness needs on a fresh machine: Debian tools (xmlsec1, qpdf, poppler-utils as
# independent verifiers), a Python 3.11 venv in .venv, and the project with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v xmlsec1 >/dev/null 2>&1 || need_apt+=(xmlsec1)          # independent XML-DSig verifier
command -v qpdf >/dev/null 2>&1 || need_apt+=(qpdf)                # independent PDF structure check
command -v pdftotext >/dev/null 2>&1 || need_apt+=(poppler-utils)  # independent PDF text extraction
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: warning: missing ${need_apt[*]} and cannot apt-get install (not root); tests needing it will be skipped" >&2
  fi
fi

PY=${PY:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' || {
  echo "setup: Python 3.11 is required (found $("$PY" --version 2>&1))" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/oots-harness tdd-info || true
