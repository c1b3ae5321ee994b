// The avx512 copy of the kernels: kernels-impl.inc compiled with this copy's flags (binding.gyp).
#define NNS_ISA_AVX512 1
#define NNS_NS nns_avx512
#include "kernels-impl.inc"
