#!/bin/sh
# npm run build:native — compiles the engine's native kernels (native/, C++ through Node-API)
# into native/build/Release/nnserve_native.node with node-gyp. Runs from postinstall; it never
# fails the install: without a C++ compiler, Python or Node headers it prints one line and the
# engine runs its WebAssembly kernels. NNSERVE_NATIVE=0 skips it. The binary is build output
# (gitignored), built where it runs (the Docker image builds it in its build stage).
#
# Node headers: Node-API is ABI-stable, so any Node >= 18's headers build an addon that loads on
# Node 24. npm's `nodedir` (npm_config_nodedir) is used when it holds node_api.h (a machine's
# npmrc may point at its system Node 20 headers); else the running Node's own include folder;
# else node-gyp fetches the headers (needs the network).
set -u
cd "$(dirname "$0")/.."
say() { echo "native-build: $*" >&2; }
fallback() {
  say "$* - the engine will use its WebAssembly kernels"
  exit 0
}
[ "${NNSERVE_NATIVE:-1}" = "0" ] && fallback "skipped (NNSERVE_NATIVE=0)"
[ -f native/binding.gyp ] || fallback "native/binding.gyp not found (copy native/ before npm ci)"
case "$(uname -m)" in
  x86_64 | amd64) ;;
  *) fallback "the native kernels are x86-64 only (this is $(uname -m))" ;;
esac

cxx="${CXX:-c++}"
# CXX may carry flags ("g++ -m64"): the first word is the compiler.
cxx_bin="${cxx%% *}"
command -v "$cxx_bin" >/dev/null 2>&1 || fallback "no C++ compiler ($cxx_bin not found; install g++ or set CXX)"
command -v make >/dev/null 2>&1 || fallback "no make (install make)"
python="${PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 || fallback "no Python 3 for node-gyp ($python not found)"

gyp="${npm_config_node_gyp:-}"
if [ -z "$gyp" ] || [ ! -f "$gyp" ]; then
  npm_bin="$(command -v npm || true)"
  gyp=""
  for g in node_modules/node-gyp/bin/node-gyp.js \
    "$(dirname "$npm_bin")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
    "$(dirname "$(readlink -f "$npm_bin" 2>/dev/null || echo "$npm_bin")")/../node_modules/node-gyp/bin/node-gyp.js"; do
    if [ -f "$g" ]; then gyp="$g"; break; fi
  done
fi
[ -n "$gyp" ] || fallback "node-gyp not found (it comes with npm)"

nodedir=""
if [ -n "${npm_config_nodedir:-}" ] && [ -f "${npm_config_nodedir}/include/node/node_api.h" ]; then
  nodedir="$npm_config_nodedir"
else
  prefix="$(dirname "$(dirname "$(command -v node)")")"
  [ -f "$prefix/include/node/node_api.h" ] && nodedir="$prefix"
fi
# A nodedir without headers would fail node-gyp; say nothing of it and let node-gyp fetch them.
unset npm_config_nodedir NPM_CONFIG_NODEDIR

log="$(mktemp "${TMPDIR:-/tmp}/nnserve-native-build.XXXXXX")"
set -- rebuild --directory=native
[ -n "$nodedir" ] && set -- "$@" --nodedir="$nodedir"
start=$(date +%s)
if CXX="$cxx" PYTHON="$python" node "$gyp" "$@" >"$log" 2>&1; then
  say "built native/build/Release/nnserve_native.node in $(($(date +%s) - start)) s ($cxx_bin, headers from ${nodedir:-node-gyp's cache})"
  rm -f "$log"
  # Only the addon is needed from here on (the image copies native/build into its slim stage).
  rm -rf native/build/Release/obj.target native/build/Release/.deps native/build/Release/*.a
else
  tail -n 15 "$log" >&2
  rm -f "$log"
  rm -rf native/build
  fallback "the C++ build failed (above)"
fi
