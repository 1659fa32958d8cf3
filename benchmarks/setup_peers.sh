#!/usr/bin/env bash
# Build the venv the peer benchmarks run in: benchmarks/.venv-peers, with JAX (+ optax),
# PyTorch, Keras on TensorFlow (tensorflow-cpu) and scikit-learn. It is separate from the
# project's venv so that none of them lands beside digitlens.
#
#   bash benchmarks/setup_peers.sh            # create (or reuse) the venv and install
#   bash benchmarks/setup_peers.sh --check    # then also smoke-run every peer on 2,000 images
#
# torch==2.13.0 is a CPU build that pip finds on this machine's disk; the others (jax and
# jaxlib on the CPU, optax, tensorflow-cpu, keras, scikit-learn) come from PyPI. Set PYTHON to choose the interpreter (default python3), MNIST_DIR
# for --check (default ../shared/datasets/mnist beside the checkout).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-peers"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "torch==2.13.0" tensorflow-cpu keras jax jaxlib optax scikit-learn

"$venv/bin/python" - <<'PY'
import importlib.metadata as md
for name in ("jax", "jaxlib", "optax", "torch", "tensorflow-cpu", "keras", "scikit-learn", "numpy"):
    print(f"{name:15s} {md.version(name)}")
PY

if [ "${1:-}" = "--check" ]; then
    data="${MNIST_DIR:-$here/../../shared/datasets/mnist}"
    for peer in jax torch sklearn; do
        "$venv/bin/python" "$here/peers/${peer}_peer.py" --data "$data" --slice 2000 --quick
        echo
    done
    KERAS_BACKEND=tensorflow "$venv/bin/python" "$here/peers/keras_peer.py" --data "$data" --slice 2000 --quick
    echo
fi
