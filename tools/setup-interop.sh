#!/usr/bin/env bash
# Creates (once) a Python venv outside the clone with the real libraries our interop tests check
# against: torch (CPU), safetensors, numpy. Reused across runs; about 5 GB the first time.
set -euo pipefail
VENV="${1:-${MM_CONVERT_VENV:-$HOME/.cache/mm-convert-venv}}"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import torch, safetensors, numpy" 2>/dev/null; then
  echo "interop venv ready: $VENV"
  exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check torch safetensors numpy
"$VENV/bin/python" -c "import torch, safetensors; print('interop venv ready:', torch.__version__, safetensors.__version__)"
