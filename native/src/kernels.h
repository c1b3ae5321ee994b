// The kernel table: one per instruction-set copy (kernels-{avx512,avx2,scalar}.cc), all built
// from kernels-impl.inc. Pointers here are already checked against the arena by addon.cc; sizes
// are element counts. Every product output is its bias (or 0) followed by fused multiply-adds
// over k in order, one vector lane per output, so the three copies agree bit for bit.
#pragma once
#include <cstdint>

namespace nns {

typedef int64_t idx;

// Epilogues of gemm, applied to a tile while it is still in registers.
enum Epilogue { EPI_NONE = 0, EPI_ACTIVATE = 1, EPI_DERIVATIVE = 2 };

// Adam (or AdamW) applied to a weight gradient as it is computed (Table::weightStep): the
// parameters lie `P` floats before the gradients' places, the moments P and 2P after them. The
// same operations as Table::adam (and, with `decoupled`, Table::scale by `decay` first), value
// by value, so the same bits.
struct Update {
  idx P;
  float lr, beta1, beta2, eps, wd, bc1, bc2;
  bool decoupled;
  float decay;
};

// Activation codes: keep in step with src/engine/activations.ts.
enum Act {
  ACT_LINEAR = 0,
  ACT_SIGMOID = 1,
  ACT_TANH = 2,
  ACT_RELU = 3,
  ACT_LEAKY_RELU = 4,
  ACT_ELU = 5,
  ACT_SOFTMAX = 6,
  ACT_STEP = 7,
};

struct Gemm {
  // C[M×N] = epilogue(A·B + bias): A[M×K] read through strides (ars between rows, acs between
  // columns, so Xᵀ is a view), B[K×N] row-major (stride ldb), C row-major (stride ldc).
  const float* a;
  idx ars, acs;
  const float* b;
  idx ldb;
  float* c;
  idx ldc;
  idx M, K, N;
  const float* bias;  // or null
  int mode;
  int act;
  float alpha;
  const float* aux;  // the previous layer's activations (EPI_DERIVATIVE), stride auxld
  idx auxld;
};

struct Table {
  const char* name;
  void (*gemm)(const Gemm& g);
  void (*transpose)(const float* src, float* dst, idx K, idx N);
  void (*columnSums)(const float* dz, float* db, idx rows, idx N);
  double (*sumOfSquares)(const float* p, idx n);
  bool (*allFinite)(const float* p, idx n);
  // Copies n floats from src to dst and says whether all were finite (allFinite's test), in one
  // pass over src (prediction's input copy and check).
  bool (*copyFinite)(const float* src, float* dst, idx n);
  void (*activate)(const float* z, float* a, idx n, int act, float alpha);
  void (*softmax)(const float* z, float* a, idx rows, idx N);
  void (*scale)(float* p, idx n, float f);
  void (*sgd)(float* p, const float* g, idx n, float lr, float wd);
  void (*momentum)(float* p, const float* g, float* buf, idx n, float lr, float mu, float wd,
                   bool nesterov);
  void (*rmsprop)(float* p, const float* g, float* sq, idx n, float lr, float rho, float eps,
                  float wd);
  void (*adam)(float* p, const float* g, float* m1, float* m2, idx n, float lr, float beta1,
               float beta2, float eps, float wd, float bc1, float bc2);
  // Rows [k0, k1) of a layer's weight gradient Xᵀ·dZ (and, with `bias`, its bias gradient)
  // applied by Adam as they are computed (the fused step); returns the sum of the gradients'
  // squares (in no fixed order: only its finiteness is used).
  double (*weightStep)(const float* x, const float* dz, float* dw, float* db, idx rows, idx K,
                       idx N, idx k0, idx k1, bool bias, const Update& u);
};

}  // namespace nns

namespace nns_avx512 { extern const nns::Table table; }
namespace nns_avx2 { extern const nns::Table table; }
namespace nns_scalar { extern const nns::Table table; }
