#!/usr/bin/env bash
# ./dev bench: install the peers into benchmarks/.venv-peers, then run the whole benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
bash benchmarks/setup_peers.sh
.venv/bin/python benchmarks/run.py "$@"
