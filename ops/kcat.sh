#!/usr/bin/env bash
# kcat with a librdkafka that can log in to the hub's Kafka 4 broker.
#
# Debian bookworm's kcat links librdkafka 2.0.2, whose SCRAM client repeats its own nonce in
# the client-final message (fixed in librdkafka 2.6.1); Kafka 4 checks that nonce as RFC 5802
# says and answers "invalid credentials". This runs the same kcat on the librdkafka bundled in
# the confluent-kafka wheel of .venv (ops/setup.sh installs both). Arguments go to kcat.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lib="$("$root/.venv/bin/python" - <<'PY'
import glob, os, confluent_kafka
libs = os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)), "confluent_kafka.libs")
found = sorted(glob.glob(os.path.join(libs, "librdkafka*.so.1")))
print(found[0] if found else "")
PY
)"
if [ -z "$lib" ]; then
  echo "error: no librdkafka in .venv's confluent-kafka; run: bash ops/setup.sh" >&2
  exit 1
fi
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
ln -s "$lib" "$dir/librdkafka.so.1"
LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" kcat "$@"
