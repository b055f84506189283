#!/usr/bin/env bash
# Set up, start every service the tests use, then ruff, mypy and pytest; non-zero on failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# A trial on this machine: the public development secrets are accepted (never the default).
export HUB_MODE=development

bash ops/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

if ! hub services up all; then
  echo "error: the services did not start; their logs:" >&2
  hub services logs --lines 40 >&2 || true
  exit 1
fi

failed=()
echo "== ruff" && { ruff check . || failed+=(ruff); }
echo "== mypy" && { mypy || failed+=(mypy); }
echo "== pytest"
set +e
pytest tests/ "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  failed+=(pytest)
elif [ "$rc" -ne 0 ]; then
  failed+=(pytest)
fi

if [ "${#failed[@]}" -ne 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "all checks passed"
