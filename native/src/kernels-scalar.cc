// The scalar copy of the kernels: kernels-impl.inc compiled with this copy's flags (binding.gyp).
#define NNS_ISA_SCALAR 1
#define NNS_NS nns_scalar
#include "kernels-impl.inc"
