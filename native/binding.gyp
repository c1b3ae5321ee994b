# The engine's native kernels (scripts/native-build.sh runs node-gyp on this file). The same
# kernel source is compiled three times, each copy with its own instruction-set flags and its
# own namespace; addon.cc picks one at load with __builtin_cpu_supports. Never -march=native:
# the binary must run on any x86-64 the image lands on. -ffp-contract=off and no fast-math keep
# every copy's arithmetic the one written in the source (see docs/architecture.md).
{
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=c++17", "-std=gnu++20"],
    "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-math-errno"],
    "cflags": ["-O3", "-ffp-contract=off"],
    "defines": ["NAPI_VERSION=8"],
    # No C++ runtime needed where the addon runs (the slim image): it uses no exceptions or
    # streams, and what it does use is linked in.
    "ldflags": ["-static-libstdc++", "-static-libgcc"],
  },
  "targets": [
    {
      "target_name": "kernels_avx512",
      "type": "static_library",
      "sources": ["src/kernels-avx512.cc"],
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-mbmi2", "-mprefer-vector-width=512", "-Wno-maybe-uninitialized"],
    },
    {
      "target_name": "kernels_avx2",
      "type": "static_library",
      "sources": ["src/kernels-avx2.cc"],
      "cflags_cc": ["-mavx2", "-mfma"],
    },
    {
      "target_name": "kernels_scalar",
      "type": "static_library",
      "sources": ["src/kernels-scalar.cc"],
    },
    {
      "target_name": "nnserve_native",
      "sources": ["src/addon.cc"],
      "dependencies": ["kernels_avx512", "kernels_avx2", "kernels_scalar"],
    },
  ],
}
