#!/usr/bin/env bash
# Idempotent set-up: a project venv (.venv) with the package and dev tools, and the Kafka jars.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "error: $PYTHON not found; install Python 3.11+ (apt-get install python3 python3-venv)" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: Python 3.11+ is needed, $PYTHON is $("$PYTHON" -V 2>&1)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi

# Reinstall only when the package definition changed (keeps a second run fast).
stamp=.venv/.hub-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x .venv/bin/hub ]; then
  echo "setup: installing the package and dev tools into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  echo "$want" > "$stamp"
fi

# Prometheus and promtool for the metrics tests (docs/METRICS.md); RUNLEVEL=1 keeps the
# package from starting its own daemon.
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing prometheus (Debian)"
    apt-get update -qq
    RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      prometheus >/dev/null
  else
    echo "setup: warning: prometheus is missing (apt-get install prometheus); its tests will fail" >&2
  fi
fi

# kcat (Debian's package) for the librdkafka login test; ops/kcat.sh runs it on a librdkafka
# that can log in to Kafka 4 (docs/STREAMS.md).
if ! command -v kcat >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing kcat (Debian)"
    apt-get install -y -qq kcat >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq kcat >/dev/null; }
  else
    echo "setup: warning: kcat is missing (apt-get install kcat); its tests will fail" >&2
  fi
fi

.venv/bin/hub services fetch

# The web pages' browser tests: Debian's chromium and its driver, and axe-core from npm
# (cached under ~/.cache/kitakyushu-hub/npm, not committed).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "setup: installing chromium and chromium-driver (Debian)"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-noto-cjk
fi
# The 本人開示 PDF embeds Debian's IPAex Gothic (ops/privacy/pdf.py); its test reads the PDF
# back with pdftotext and pdftoppm (poppler-utils).
if [ ! -f /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf ] || ! command -v pdftotext >/dev/null 2>&1; then
  echo "setup: installing fonts-ipaexfont-gothic and poppler-utils (Debian)"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
    fonts-ipaexfont-gothic poppler-utils >/dev/null 2>&1 \
    || { "${SUDO[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" \
      apt-get install -y -qq --no-install-recommends fonts-ipaexfont-gothic poppler-utils >/dev/null; }
fi
AXE_VERSION=4.10.3
AXE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/kitakyushu-hub/npm"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ] \
  || ! grep -q "\"version\": \"$AXE_VERSION\"" "$AXE_DIR/node_modules/axe-core/package.json"; then
  echo "setup: installing axe-core $AXE_VERSION (npm) into $AXE_DIR"
  mkdir -p "$AXE_DIR"
  npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" "axe-core@$AXE_VERSION"
fi
