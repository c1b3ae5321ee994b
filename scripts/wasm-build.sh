#!/bin/sh
# npm run build:wasm — compiles the engine's WebAssembly kernels (AssemblyScript, a dev
# dependency) into src/engine/wasm/build/: kernels-simd.wasm (SIMD, mul+add, 4×8 tiles) and
# kernels-relaxed.wasm (relaxed SIMD, fused multiply-add, 6×8 tiles), and both again as
# kernels-*-shared.wasm over a shared memory (two-thread training). The binaries are build
# output (gitignored); without them the engine runs its JavaScript kernels.
# Runs from postinstall and build; a copy goes to dist/ when dist/src/engine exists (tsc output).
set -eu
cd "$(dirname "$0")/.."
src=src/engine/wasm/assembly/kernels.ts
out=src/engine/wasm/build
if [ ! -x node_modules/.bin/asc ]; then
  echo "wasm-build: assemblyscript is not installed (dev dependency); skipping, the engine will use its JavaScript kernels" >&2
  exit 0
fi
if [ ! -f "$src" ]; then
  echo "wasm-build: $src not found (copy it before npm ci); skipping, the engine will use its JavaScript kernels" >&2
  exit 0
fi
mkdir -p "$out"
common="-O3 --runtime stub --noAssert --importMemory --initialMemory 0 --use abort= --enable simd"
# shellcheck disable=SC2086
node_modules/.bin/asc "$src" $common -o "$out/kernels-simd.wasm"
# shellcheck disable=SC2086
node_modules/.bin/asc "$src" $common --enable relaxed-simd -o "$out/kernels-relaxed.wasm"
# The same over a shared memory, for two threads training one network (parallel-trainer.ts).
shared="--sharedMemory --maximumMemory 65536 --enable threads"
# shellcheck disable=SC2086
node_modules/.bin/asc "$src" $common $shared -o "$out/kernels-simd-shared.wasm"
# shellcheck disable=SC2086
node_modules/.bin/asc "$src" $common $shared --enable relaxed-simd -o "$out/kernels-relaxed-shared.wasm"
if [ -d dist/src/engine ]; then
  mkdir -p dist/src/engine/wasm/build
  cp "$out"/kernels-*.wasm dist/src/engine/wasm/build/
fi
