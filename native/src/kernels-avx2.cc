// The avx2 copy of the kernels: kernels-impl.inc compiled with this copy's flags (binding.gyp).
#define NNS_ISA_AVX2 1
#define NNS_NS nns_avx2
#include "kernels-impl.inc"
