#!/usr/bin/env bash
# npm run bench:engine — the engine benchmark on Fashion-MNIST (see bench/engine.ts).
#   EPOCHS=5        epochs of the Fashion-MNIST training case
#   SEED=0          seed of its initial weights and shuffling
#   INIT=torchLinear  its initial weights: the anchor's own (torch.nn.Linear's defaults), or
#                   "default" (the engine's default for a spec naming none), or an initializer
#   ACC_SEEDS="1 2 3 4"  more seeds whose test accuracy is averaged with SEED's (and, with
#                   ANCHORS=1, PyTorch's over the same seeds); "" skips them
#   ANCHORS=1       also run the PyTorch (1 thread: OpenBLAS pinned too) and TF.js anchors in the
#                   same run, and print ratios
#   ANCHOR_OPENBLAS_CORETYPE  OpenBLAS kernels for the PyTorch anchor (e.g. Cooperlake) where
#                   OpenBLAS cannot tell the CPU (a VM hiding its model makes it pick Prescott)
#   TFJS_BACKENDS   TF.js backends to run as anchors (default "wasm"; "wasm cpu" for both)
#   THREADS         thread counts of the Fashion-MNIST training case (default "1 2"; 2 runs only
#                   on native or WebAssembly kernels: rows, then parameter ranges of each batch)
#   KERNELS         engine kernel backends to run, e.g. "native-avx512 relaxed js" (default: the one the
#                   engine picks: NNSERVE_KERNELS, else the fastest available)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/node24.sh
data="${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}"
if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
  echo "bench:engine: Fashion-MNIST not found in $data." >&2
  echo "Install it with: apt-get install dataset-fashion-mnist   (or set FMNIST_DIR)" >&2
  exit 1
fi
exec node --disable-warning=ExperimentalWarning bench/engine.ts "$@"
