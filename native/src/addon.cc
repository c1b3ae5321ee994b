// The Node-API binding of the native kernels (plain C Node-API: ABI-stable, so one build runs on
// every Node from 18 on, and no npm dependency). `isas()` lists the copies this CPU can run,
// best first; `kernels(isa)` returns that copy's functions. Every function takes the arena (a
// Float32Array) first and element offsets and sizes after; each region is checked against the
// arena before any kernel runs, and a bad argument throws a JavaScript error instead of touching
// memory it should not.
#include <node_api.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string_view>

#include "kernels.h"

namespace {

using nns::idx;
using nns::Table;

constexpr int MAX_ARGS = 20;
constexpr double MAX_INT = 2147483647.0;

struct Call {
  napi_env env;
  const Table* t = nullptr;
  napi_value argv[MAX_ARGS];
  size_t argc = MAX_ARGS;
  float* m = nullptr;
  idx len = 0;
  const char* fn;
  bool ok = true;

  Call(napi_env e, napi_callback_info info, const char* name, size_t want) : env(e), fn(name) {
    void* data = nullptr;
    if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) {
      ok = false;
      return;
    }
    t = static_cast<const Table*>(data);
    if (argc < want) {
      fail("TypeError", "expects %zu arguments, got %zu", want, argc);
      return;
    }
    bool isTyped = false;
    napi_is_typedarray(env, argv[0], &isTyped);
    napi_typedarray_type type = napi_int8_array;
    size_t length = 0;
    void* ptr = nullptr;
    if (!isTyped ||
        napi_get_typedarray_info(env, argv[0], &type, &length, &ptr, nullptr, nullptr) != napi_ok ||
        type != napi_float32_array) {
      fail("TypeError", "argument 1 must be a Float32Array");
      return;
    }
    m = static_cast<float*>(ptr);
    len = static_cast<idx>(length);
  }

  template <typename... A>
  void fail(const char* kind, const char* format, A... args) {
    if (!ok) return;
    ok = false;
    char text[256];
    char message[320];
    std::snprintf(text, sizeof text, format, args...);
    std::snprintf(message, sizeof message, "native %s: %s", fn, text);
    if (kind[0] == 'T') napi_throw_type_error(env, "ERR_NNSERVE_NATIVE_ARGUMENT", message);
    else napi_throw_range_error(env, "ERR_NNSERVE_NATIVE_ARGUMENT", message);
  }

  double number(size_t i, const char* name) {
    double v = 0;
    if (ok && napi_get_value_double(env, argv[i], &v) != napi_ok)
      fail("TypeError", "%s (argument %zu) must be a number", name, i + 1);
    return v;
  }

  // A size or an offset: an integer in [0, 2^31).
  idx count(size_t i, const char* name) {
    const double v = number(i, name);
    if (ok && !(v >= 0 && v <= MAX_INT && std::floor(v) == v))
      fail("RangeError", "%s (argument %zu) must be an integer in [0, 2^31); got %g", name, i + 1, v);
    return ok ? static_cast<idx>(v) : 0;
  }

  float real(size_t i, const char* name) { return static_cast<float>(number(i, name)); }

  bool flag(size_t i) {
    bool b = false;
    if (ok && napi_get_value_bool(env, argv[i], &b) != napi_ok) {
      double v = number(i, "flag");
      b = v != 0;
    }
    return b;
  }

  int activation(size_t i, bool softmaxAllowed) {
    const idx a = count(i, "act");
    if (ok && (a > nns::ACT_STEP || (!softmaxAllowed && a == nns::ACT_SOFTMAX)))
      fail("RangeError", "act (argument %zu) is not an element-wise activation code: %lld", i + 1,
           static_cast<long long>(a));
    return static_cast<int>(a);
  }

  // Argument i as a typed array of `want` (Int32Array or Float32Array); its length in `n`.
  void* typed(size_t i, napi_typedarray_type want, const char* name, idx* n) {
    if (!ok) return nullptr;
    bool isTyped = false;
    napi_is_typedarray(env, argv[i], &isTyped);
    napi_typedarray_type type = napi_int8_array;
    size_t length = 0;
    void* ptr = nullptr;
    if (!isTyped ||
        napi_get_typedarray_info(env, argv[i], &type, &length, &ptr, nullptr, nullptr) != napi_ok ||
        type != want) {
      fail("TypeError", "%s (argument %zu) must be a%s", name, i + 1,
           want == napi_int32_array     ? "n Int32Array"
           : want == napi_float64_array ? " Float64Array"
                                        : " Float32Array");
      return nullptr;
    }
    *n = static_cast<idx>(length);
    return ptr;
  }

  // The region [off, off + n) must lie inside the arena; returns its address.
  float* region(idx off, idx n, const char* name) {
    if (!ok) return nullptr;
    if (off + n > len) {
      fail("RangeError", "%s [%lld, %lld) lies outside the arena of %lld floats", name,
           static_cast<long long>(off), static_cast<long long>(off + n),
           static_cast<long long>(len));
      return nullptr;
    }
    return m + off;
  }

  napi_value undefined() {
    napi_value u;
    napi_get_undefined(env, &u);
    return u;
  }

  napi_value boolean(bool v) {
    napi_value r;
    napi_get_boolean(env, v, &r);
    return r;
  }

  napi_value result(double v) {
    if (!ok) return nullptr;
    napi_value r;
    napi_create_double(env, v, &r);
    return r;
  }
};

// denseForward(m, x, w, b, y, rows, K, N, act, alpha): Y = f(X·W + b).
napi_value DenseForward(napi_env env, napi_callback_info info) {
  Call c(env, info, "denseForward", 10);
  const idx x = c.count(1, "x"), w = c.count(2, "w"), b = c.count(3, "b"), y = c.count(4, "y");
  const idx rows = c.count(5, "rows"), K = c.count(6, "K"), N = c.count(7, "N");
  const int act = c.activation(8, false);
  const float alpha = c.real(9, "alpha");
  nns::Gemm g{};
  g.a = c.region(x, rows * K, "x");
  g.b = c.region(w, K * N, "w");
  g.bias = c.region(b, N, "b");
  g.c = c.region(y, rows * N, "y");
  if (!c.ok) return nullptr;
  g.ars = K, g.acs = 1, g.ldb = N, g.ldc = N, g.M = rows, g.K = K, g.N = N;
  g.mode = nns::EPI_ACTIVATE, g.act = act, g.alpha = alpha;
  c.t->gemm(g);
  return c.undefined();
}

// backwardInput(m, dz, w, dx, aPrev, rows, N, K, act, alpha, scratch):
// dX = (dZ·Wᵀ) ⊙ f'(A_prev), Wᵀ packed into the scratch block first.
napi_value BackwardInput(napi_env env, napi_callback_info info) {
  Call c(env, info, "backwardInput", 11);
  const idx dz = c.count(1, "dz"), w = c.count(2, "w"), dx = c.count(3, "dx");
  const idx aPrev = c.count(4, "aPrev"), rows = c.count(5, "rows"), N = c.count(6, "N");
  const idx K = c.count(7, "K");
  const int act = c.activation(8, true);
  const float alpha = c.real(9, "alpha");
  const idx scratch = c.count(10, "scratch");
  nns::Gemm g{};
  g.a = c.region(dz, rows * N, "dz");
  const float* W = c.region(w, K * N, "w");
  g.c = c.region(dx, rows * K, "dx");
  g.aux = c.region(aPrev, rows * K, "aPrev");
  float* packed = c.region(scratch, K * N, "scratch");
  if (!c.ok) return nullptr;
  c.t->transpose(W, packed, K, N);
  g.b = packed;
  g.ars = N, g.acs = 1, g.ldb = K, g.ldc = K, g.M = rows, g.K = N, g.N = K;
  g.mode = nns::EPI_DERIVATIVE, g.act = act, g.alpha = alpha, g.auxld = K;
  c.t->gemm(g);
  return c.undefined();
}

// backwardWeights(m, x, dz, dw, db, rows, K, N, squares): dW = Xᵀ·dZ, db = column sums of dZ;
// returns Σ dW² + Σ db² with `squares`, else 0.
napi_value BackwardWeights(napi_env env, napi_callback_info info) {
  Call c(env, info, "backwardWeights", 9);
  const idx x = c.count(1, "x"), dz = c.count(2, "dz"), dw = c.count(3, "dw");
  const idx db = c.count(4, "db"), rows = c.count(5, "rows"), K = c.count(6, "K");
  const idx N = c.count(7, "N");
  const bool squares = c.flag(8);
  nns::Gemm g{};
  g.a = c.region(x, rows * K, "x");
  g.b = c.region(dz, rows * N, "dz");
  g.c = c.region(dw, K * N, "dw");
  float* dbp = c.region(db, N, "db");
  if (!c.ok) return nullptr;
  g.ars = 1, g.acs = K, g.ldb = N, g.ldc = N, g.M = K, g.K = rows, g.N = N;
  g.mode = nns::EPI_NONE;
  c.t->gemm(g);
  c.t->columnSums(g.b, dbp, rows, N);
  return c.result(squares ? c.t->sumOfSquares(g.c, K * N) + c.t->sumOfSquares(dbp, N) : 0);
}

// weightGradient(m, x, dz, dw, db, rows, K, N, k0, k1, bias): rows [k0, k1) of dW = Xᵀ·dZ and,
// with `bias`, db = column sums of dZ: one thread's share of a layer's weight gradient when two
// threads split the gradients by outputs (each output is still summed over every row in order,
// so the bits do not depend on the split).
napi_value WeightGradient(napi_env env, napi_callback_info info) {
  Call c(env, info, "weightGradient", 11);
  const idx x = c.count(1, "x"), dz = c.count(2, "dz"), dw = c.count(3, "dw");
  const idx db = c.count(4, "db"), rows = c.count(5, "rows"), K = c.count(6, "K");
  const idx N = c.count(7, "N"), k0 = c.count(8, "k0"), k1 = c.count(9, "k1");
  const bool bias = c.flag(10);
  if (c.ok && !(k0 <= k1 && k1 <= K))
    c.fail("RangeError", "rows [%lld, %lld) of dW are not within [0, K = %lld)",
           static_cast<long long>(k0), static_cast<long long>(k1), static_cast<long long>(K));
  nns::Gemm g{};
  g.a = c.region(x, rows * K, "x");
  g.b = c.region(dz, rows * N, "dz");
  float* dwp = c.region(dw, K * N, "dw");
  float* dbp = bias ? c.region(db, N, "db") : nullptr;
  if (!c.ok) return nullptr;
  g.a += k0;
  g.c = dwp + k0 * N;
  g.ars = 1, g.acs = K, g.ldb = N, g.ldc = N, g.M = k1 - k0, g.K = rows, g.N = N;
  g.mode = nns::EPI_NONE;
  c.t->gemm(g);
  if (bias) c.t->columnSums(g.b, dbp, rows, N);
  return c.undefined();
}

constexpr int GEN_SHIFT = 16;
constexpr idx MAX_CHUNKS = 65535;
idx claim(int32_t* word, int32_t gen, idx count);
// A count of finished chunks: the count, and SLEEPER once a thread sleeps on it (barrier()).
constexpr int32_t SLEEPER = 1 << 30;
constexpr int32_t COUNT_MASK = SLEEPER - 1;
bool barrier(int32_t* done, idx n, const int32_t* word, int32_t gen);
void finished(int32_t* done);

// The fused step's work list (Int32Array, CHUNK ints a chunk): x, dz, w, b, K, N, k0, k1, bias.
// w and b are the parameters' offsets; the gradients' places are P after them, the moments 2P
// and 3P (the arena layout of src/engine/network.ts).
constexpr idx CHUNK = 9;

// weightSteps(m, list, chunks, counter, slot, rows, P, lr, beta1, beta2, eps, wd, decoupled,
// decay, bc1, bc2): the chunks of the fused step (Table::weightStep), each claimed from
// counter[slot] (an Int32Array, shared when two threads run the list together: whoever is free
// takes the next chunk, and every chunk's result is the same whoever takes it). Every chunk is
// checked before any runs. Returns the sum of the squares of the gradients this call applied.
// With two more arguments, gen and squares (a Float64Array of a value a chunk, shared), the
// claims carry the batch's generation (claim(); counter[slot + 1] counts the finished chunks),
// each chunk's squares go to squares[chunk], and the call waits for every chunk and returns their
// sum in chunk order (the same whichever thread ran which), or undefined when the counter moved
// on to another batch (this thread came late).
napi_value WeightSteps(napi_env env, napi_callback_info info) {
  Call c(env, info, "weightSteps", 16);
  idx listLen = 0, counterLen = 0;
  const int32_t* list = static_cast<const int32_t*>(c.typed(1, napi_int32_array, "list", &listLen));
  const idx chunks = c.count(2, "chunks");
  int32_t* counter = static_cast<int32_t*>(c.typed(3, napi_int32_array, "counter", &counterLen));
  const idx slot = c.count(4, "slot"), rows = c.count(5, "rows"), P = c.count(6, "P");
  nns::Update u{};
  u.P = P;
  u.lr = c.real(7, "lr"), u.beta1 = c.real(8, "beta1"), u.beta2 = c.real(9, "beta2");
  u.eps = c.real(10, "eps"), u.wd = c.real(11, "wd");
  u.decoupled = c.flag(12);
  u.decay = c.real(13, "decay"), u.bc1 = c.real(14, "bc1"), u.bc2 = c.real(15, "bc2");
  if (c.ok && chunks * CHUNK > listLen)
    c.fail("RangeError", "list holds %lld chunks, not %lld", static_cast<long long>(listLen / CHUNK),
           static_cast<long long>(chunks));
  const bool tagged = c.ok && c.argc >= 18;
  const int32_t gen = tagged ? static_cast<int32_t>(c.count(16, "gen")) : 0;
  idx squaresLen = 0;
  double* each = tagged ? static_cast<double*>(c.typed(17, napi_float64_array, "squares", &squaresLen)) : nullptr;
  if (c.ok && slot + (tagged ? 1 : 0) >= counterLen)
    c.fail("RangeError", "slot %lld is past the counter", static_cast<long long>(slot));
  if (tagged && c.ok && (gen > 0x7FFF || chunks > MAX_CHUNKS || squaresLen < chunks))
    c.fail("RangeError", "gen %d, %lld chunks or %lld squares out of range", gen,
           static_cast<long long>(chunks), static_cast<long long>(squaresLen));
  for (idx t = 0; c.ok && t < chunks; t++) {
    const int32_t* e = list + t * CHUNK;
    for (int f = 0; f < CHUNK; f++)
      if (e[f] < 0) c.fail("RangeError", "chunk %lld: field %d is negative", static_cast<long long>(t), f);
    if (!c.ok) break;
    const idx x = e[0], dz = e[1], w = e[2], b = e[3], K = e[4], N = e[5], k0 = e[6], k1 = e[7];
    if (!(k0 <= k1 && k1 <= K))
      c.fail("RangeError", "chunk %lld: rows [%lld, %lld) of dW are not within [0, K = %lld)",
             static_cast<long long>(t), static_cast<long long>(k0), static_cast<long long>(k1),
             static_cast<long long>(K));
    c.region(x, rows * K, "x");
    c.region(dz, rows * N, "dz");
    c.region(w, 3 * P + K * N, "w and its gradient and moments");
    if (e[8]) c.region(b, 3 * P + N, "b and its gradient and moments");
  }
  if (!c.ok) return nullptr;
  if (tagged) {
    int32_t* word = counter + slot;
    for (;;) {
      const idx t = claim(word, gen, chunks);
      if (t < 0) break;
      const int32_t* e = list + t * CHUNK;
      float* m = c.m;
      each[t] = c.t->weightStep(m + e[0], m + e[1], m + e[2] + P, m + e[3] + P, rows, e[4], e[5],
                                e[6], e[7], e[8] != 0, u);
      finished(word + 1);
    }
    if (!barrier(word + 1, chunks, word, gen)) {
      if ((__atomic_load_n(word, __ATOMIC_ACQUIRE) >> GEN_SHIFT) != gen) return c.undefined();
      napi_throw_error(env, "ERR_NNSERVE_NATIVE_BARRIER",
                       "native weightSteps: the other training thread left a chunk unfinished");
      return nullptr;
    }
    double total = 0;
    for (idx t = 0; t < chunks; t++) total += each[t];
    return c.result(total);
  }
  double squares = 0;
  for (;;) {
    const idx t = __atomic_fetch_add(counter + slot, 1, __ATOMIC_RELAXED);
    if (t >= chunks) break;
    const int32_t* e = list + t * CHUNK;
    float* m = c.m;
    squares += c.t->weightStep(m + e[0], m + e[1], m + e[2] + P, m + e[3] + P, rows, e[4], e[5],
                               e[6], e[7], e[8] != 0, u);
  }
  return c.result(squares);
}

// The two-thread passes' work list (Int32Array, BLOCK ints a chunk): kind, a, w, bias, c, aux,
// rows, K, N, j0, j1, act, alpha (its float's bits). Kind FORWARD: columns [j0, j1) of
// C = f(A·W + bias), A [rows×K], W [K×N], C [rows×N]. Kind INPUT_GRADIENT: columns [j0, j1) of
// dX = (dZ·Wᵀ) ⊙ f'(aux), dZ at a [rows×N], W [K×N], dX at c and aux [rows×K], rows j0..j1 of W
// transposed into the caller's scratch first. Each output is computed whole by one chunk (bias,
// then k in order, in the same tile lane as a whole layer's product would), so the bits do not
// depend on which thread runs a chunk nor on where the column blocks fall.
constexpr idx BLOCK = 13;
constexpr int32_t FORWARD = 0;
constexpr int32_t INPUT_GRADIENT = 1;

// Runs one chunk of the list (checked already).
void runBlock(const Table* t, float* m, const int32_t* e, float* scratch) {
  const idx a = e[1], w = e[2], bias = e[3], c = e[4], aux = e[5], rows = e[6], K = e[7];
  const idx N = e[8], j0 = e[9], j1 = e[10];
  float alpha;
  __builtin_memcpy(&alpha, e + 12, 4);
  nns::Gemm g{};
  g.M = rows, g.act = e[11], g.alpha = alpha;
  if (e[0] == FORWARD) {
    g.a = m + a, g.ars = K, g.acs = 1;
    g.b = m + w + j0, g.ldb = N;
    g.bias = m + bias + j0;
    g.c = m + c + j0, g.ldc = N;
    g.K = K, g.N = j1 - j0;
    g.mode = nns::EPI_ACTIVATE;
  } else {
    t->transpose(m + w + j0 * N, scratch, j1 - j0, N);
    g.a = m + a, g.ars = N, g.acs = 1;
    g.b = scratch, g.ldb = j1 - j0;
    g.c = m + c + j0, g.ldc = K;
    g.aux = m + aux + j0, g.auxld = K;
    g.K = N, g.N = j1 - j0;
    g.mode = nns::EPI_DERIVATIVE;
  }
  t->gemm(g);
}

// Checks chunk `i` of the list against the arena (and the scratch block for its transpose).
void checkBlock(Call& c, const int32_t* e, idx i, idx scratchFloats) {
  for (int f = 0; f < 12; f++)
    if (e[f] < 0) c.fail("RangeError", "chunk %lld: field %d is negative", static_cast<long long>(i), f);
  if (!c.ok) return;
  const idx rows = e[6], K = e[7], N = e[8], j0 = e[9], j1 = e[10];
  const bool fwd = e[0] == FORWARD;
  const idx width = fwd ? N : K;
  if (e[0] != FORWARD && e[0] != INPUT_GRADIENT)
    c.fail("RangeError", "chunk %lld: kind %d is neither 0 nor 1", static_cast<long long>(i), e[0]);
  else if (!(j0 <= j1 && j1 <= width))
    c.fail("RangeError", "chunk %lld: columns [%lld, %lld) are not within [0, %lld)",
           static_cast<long long>(i), static_cast<long long>(j0), static_cast<long long>(j1),
           static_cast<long long>(width));
  else if (e[11] > nns::ACT_STEP || (fwd && e[11] == nns::ACT_SOFTMAX))
    c.fail("RangeError", "chunk %lld: act %d is not an element-wise activation code",
           static_cast<long long>(i), e[11]);
  else if (!fwd && N * (j1 - j0) > scratchFloats)
    c.fail("RangeError", "chunk %lld: its transpose needs %lld floats of scratch, not %lld",
           static_cast<long long>(i), static_cast<long long>(N * (j1 - j0)),
           static_cast<long long>(scratchFloats));
  c.region(e[1], rows * (fwd ? K : N), "a");
  c.region(e[2], K * N, "w");
  if (fwd) c.region(e[3], N, "bias");
  c.region(e[4], rows * width, "c");
  if (!fwd) c.region(e[5], rows * K, "aux");
}

// Seconds a thread waits at a phase's end for the other thread's chunks before it gives up.
constexpr double BARRIER_SECONDS = 120.0;
// How long it spins before it sleeps.
constexpr double SPIN_SECONDS = 200e-6;

// Shared claim words: the batch's generation (15 bits) above the next chunk's index (16 bits),
// set by the main thread before it lets the helper in. A thread claims only with its own
// generation, so a helper that comes back from a long preemption after the main thread has moved
// on to the next batch cannot take that batch's chunks (its list may differ).

// The next chunk of a phase of `count`, or −1 when none is left or the batch is not `gen`'s.
idx claim(int32_t* word, int32_t gen, idx count) {
  int32_t v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
  for (;;) {
    if ((v >> GEN_SHIFT) != gen || (v & 0xFFFF) >= count) return -1;
    if (__atomic_compare_exchange_n(word, &v, v + 1, true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return v & 0xFFFF;
  }
}

// Waits until `done` reaches n; false after BARRIER_SECONDS (the other thread died mid-chunk),
// or when the claim word is no longer `gen`'s (a helper late by a batch: nothing to wait for).
bool barrier(int32_t* done, idx n, const int32_t* word, int32_t gen) {
  double start = -1;
  for (uint64_t spins = 1;; spins++) {
    const int32_t d = __atomic_load_n(done, __ATOMIC_ACQUIRE);
    if ((d & COUNT_MASK) >= n) return true;
    if (word && (__atomic_load_n(word, __ATOMIC_ACQUIRE) >> GEN_SHIFT) != gen) return false;
    __builtin_ia32_pause();
    if ((spins & 255) != 0) continue;
    struct timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const double t = static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
    if (start < 0) start = t;
    if (t - start > BARRIER_SECONDS) return false;
    // Past SPIN_SECONDS the other thread's chunk is late (it lost its core, most likely): sleep
    // on the count instead, so this core can run it (finished() wakes us). A chunk is ~10-40 µs:
    // sooner, the sleep's wake-up would cost more than the spin.
    if (t - start > SPIN_SECONDS) {
      __atomic_fetch_or(done, SLEEPER, __ATOMIC_ACQ_REL);
      struct timespec wait = {0, 1000000};
      syscall(SYS_futex, done, FUTEX_WAIT, d | SLEEPER, &wait, nullptr, 0);
    }
  }
}

// Counts a finished chunk, waking a thread asleep at the barrier.
void finished(int32_t* done) {
  if (__atomic_fetch_add(done, 1, __ATOMIC_RELEASE) & SLEEPER)
    syscall(SYS_futex, done, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// columnBlocks(m, list, phases, counters, slot, scratch, scratchFloats, gen): the phases of a
// two-thread pass (forward over every layer, or the deltas), phase p being chunks
// [phases[p], phases[p+1]) of the list; phases.length − 1 phases. Both threads call it with the
// same list; each claims a phase's chunks from counters[slot + 2p] (shared, reset by its owner
// before either thread starts) until none is left, counts the ones it finished in
// counters[slot + 2p + 1], and waits there until all of the phase's chunks are done before the
// next phase (which reads them). Claims carry the batch's generation `gen` (claim()). Returns
// true when every phase is done, false when the counters moved on to another batch (this thread
// came late: the other did the work).
napi_value ColumnBlocks(napi_env env, napi_callback_info info) {
  Call c(env, info, "columnBlocks", 8);
  idx listLen = 0, phasesLen = 0, counterLen = 0;
  const int32_t* list = static_cast<const int32_t*>(c.typed(1, napi_int32_array, "list", &listLen));
  const int32_t* phases = static_cast<const int32_t*>(c.typed(2, napi_int32_array, "phases", &phasesLen));
  int32_t* counters = static_cast<int32_t*>(c.typed(3, napi_int32_array, "counters", &counterLen));
  const idx slot = c.count(4, "slot"), scratch = c.count(5, "scratch");
  const idx scratchFloats = c.count(6, "scratchFloats");
  const int32_t gen = static_cast<int32_t>(c.count(7, "gen"));
  float* s = c.region(scratch, scratchFloats, "scratch");
  if (c.ok && gen > 0x7FFF) c.fail("RangeError", "gen must be below 2^15; got %d", gen);
  const idx n = phasesLen - 1;
  if (c.ok && n < 0) c.fail("RangeError", "phases is empty");
  if (c.ok && slot + 2 * n > counterLen)
    c.fail("RangeError", "counters [%lld, %lld) lie past its %lld entries", static_cast<long long>(slot),
           static_cast<long long>(slot + 2 * n), static_cast<long long>(counterLen));
  for (idx p = 0; c.ok && p < n; p++)
    if (!(0 <= phases[p] && phases[p] <= phases[p + 1] && phases[p + 1] * BLOCK <= listLen &&
          phases[p + 1] - phases[p] <= MAX_CHUNKS))
      c.fail("RangeError", "phase %lld: chunks [%d, %d) are not within the list", static_cast<long long>(p),
             phases[p], phases[p + 1]);
  for (idx i = 0; c.ok && n > 0 && i < phases[n]; i++) checkBlock(c, list + i * BLOCK, i, scratchFloats);
  if (!c.ok) return nullptr;
  for (idx p = 0; p < n; p++) {
    const idx first = phases[p], count = phases[p + 1] - first;
    int32_t* word = counters + slot + 2 * p;
    for (;;) {
      const idx t = claim(word, gen, count);
      if (t < 0) break;
      runBlock(c.t, c.m, list + (first + t) * BLOCK, s);
      finished(word + 1);
    }
    if ((__atomic_load_n(word, __ATOMIC_ACQUIRE) >> GEN_SHIFT) != gen) return c.boolean(false);
    if (!barrier(word + 1, count, word, gen)) {
      if ((__atomic_load_n(word, __ATOMIC_ACQUIRE) >> GEN_SHIFT) != gen) return c.boolean(false);
      napi_throw_error(env, "ERR_NNSERVE_NATIVE_BARRIER",
                       "native columnBlocks: the other training thread left a chunk unfinished");
      return nullptr;
    }
  }
  return c.boolean(true);
}

// gatherRows(m, dst, data, order, start, count, width): rows order[start..start+count) of
// data [* × width] (a Float32Array of its own) into the arena at dst, the next rows' cache
// lines fetched ahead while one is copied (the rows lie anywhere in a set of 188 MB).
napi_value GatherRows(napi_env env, napi_callback_info info) {
  Call c(env, info, "gatherRows", 7);
  const idx dst = c.count(1, "dst");
  idx dataLen = 0, orderLen = 0;
  const float* data = static_cast<const float*>(c.typed(2, napi_float32_array, "data", &dataLen));
  const int32_t* order = static_cast<const int32_t*>(c.typed(3, napi_int32_array, "order", &orderLen));
  const idx start = c.count(4, "start"), count = c.count(5, "count"), width = c.count(6, "width");
  float* out = c.region(dst, count * width, "dst");
  if (c.ok && start + count > orderLen)
    c.fail("RangeError", "order [%lld, %lld) lies past its %lld entries", static_cast<long long>(start),
           static_cast<long long>(start + count), static_cast<long long>(orderLen));
  const idx rowsIn = width > 0 ? dataLen / width : 0;
  for (idx t = 0; c.ok && t < count; t++)
    if (order[start + t] < 0 || order[start + t] >= rowsIn)
      c.fail("RangeError", "order[%lld] = %d is not a row of data (%lld rows)",
             static_cast<long long>(start + t), order[start + t], static_cast<long long>(rowsIn));
  if (!c.ok) return nullptr;
  constexpr idx AHEAD = 3;
  constexpr idx LINE = 16;  // floats in a 64-byte cache line
  for (idx t = 0; t < AHEAD && t < count; t++) {
    const float* r = data + static_cast<idx>(order[start + t]) * width;
    for (idx q = 0; q < width; q += LINE) __builtin_prefetch(r + q, 0, 3);
  }
  for (idx t = 0; t < count; t++) {
    if (t + AHEAD < count) {
      const float* r = data + static_cast<idx>(order[start + t + AHEAD]) * width;
      for (idx q = 0; q < width; q += LINE) __builtin_prefetch(r + q, 0, 3);
    }
    __builtin_memcpy(out + t * width, data + static_cast<idx>(order[start + t]) * width,
                     static_cast<size_t>(width) * sizeof(float));
  }
  return c.undefined();
}

// activate(m, z, a, n, act, alpha): A = f(Z) element-wise (not softmax).
napi_value Activate(napi_env env, napi_callback_info info) {
  Call c(env, info, "activate", 6);
  const idx z = c.count(1, "z"), a = c.count(2, "a"), n = c.count(3, "n");
  const int act = c.activation(4, false);
  const float alpha = c.real(5, "alpha");
  const float* zp = c.region(z, n, "z");
  float* ap = c.region(a, n, "a");
  if (!c.ok) return nullptr;
  c.t->activate(zp, ap, n, act, alpha);
  return c.undefined();
}

// softmax(m, z, a, rows, N): A = softmax(Z) row by row.
napi_value Softmax(napi_env env, napi_callback_info info) {
  Call c(env, info, "softmax", 5);
  const idx z = c.count(1, "z"), a = c.count(2, "a"), rows = c.count(3, "rows");
  const idx N = c.count(4, "N");
  const float* zp = c.region(z, rows * N, "z");
  float* ap = c.region(a, rows * N, "a");
  if (!c.ok) return nullptr;
  c.t->softmax(zp, ap, rows, N);
  return c.undefined();
}

napi_value SumOfSquares(napi_env env, napi_callback_info info) {
  Call c(env, info, "sumOfSquares", 3);
  const idx off = c.count(1, "off"), n = c.count(2, "n");
  const float* p = c.region(off, n, "range");
  if (!c.ok) return nullptr;
  return c.result(c.t->sumOfSquares(p, n));
}

// allFinite(values): no NaN or ±Infinity in the Float32Array (the engine's input checks).
napi_value AllFinite(napi_env env, napi_callback_info info) {
  Call c(env, info, "allFinite", 1);
  if (!c.ok) return nullptr;
  napi_value r;
  napi_get_boolean(env, c.t->allFinite(c.m, c.len), &r);
  return r;
}

// copyFinite(m, dst, src, from, n): src[from, from + n) (a Float32Array of its own) into the
// arena at dst; true when every value copied is finite (the copy is made either way).
napi_value CopyFinite(napi_env env, napi_callback_info info) {
  Call c(env, info, "copyFinite", 5);
  const idx dst = c.count(1, "dst");
  idx srcLen = 0;
  const float* src = static_cast<const float*>(c.typed(2, napi_float32_array, "src", &srcLen));
  const idx from = c.count(3, "from"), n = c.count(4, "n");
  float* out = c.region(dst, n, "dst");
  if (c.ok && from + n > srcLen)
    c.fail("RangeError", "src [%lld, %lld) lies past its %lld values", static_cast<long long>(from),
           static_cast<long long>(from + n), static_cast<long long>(srcLen));
  if (!c.ok) return nullptr;
  napi_value r;
  napi_get_boolean(env, c.t->copyFinite(src + from, out, n), &r);
  return r;
}

napi_value Scale(napi_env env, napi_callback_info info) {
  Call c(env, info, "scale", 4);
  const idx off = c.count(1, "off"), n = c.count(2, "n");
  const float f = c.real(3, "factor");
  float* p = c.region(off, n, "range");
  if (!c.ok) return nullptr;
  c.t->scale(p, n, f);
  return c.undefined();
}

napi_value Sgd(napi_env env, napi_callback_info info) {
  Call c(env, info, "sgdUpdate", 6);
  const idx p = c.count(1, "p"), g = c.count(2, "g"), n = c.count(3, "n");
  const float lr = c.real(4, "lr"), wd = c.real(5, "wd");
  float* pp = c.region(p, n, "p");
  const float* gp = c.region(g, n, "g");
  if (!c.ok) return nullptr;
  c.t->sgd(pp, gp, n, lr, wd);
  return c.undefined();
}

napi_value Momentum(napi_env env, napi_callback_info info) {
  Call c(env, info, "momentumUpdate", 9);
  const idx p = c.count(1, "p"), g = c.count(2, "g"), buf = c.count(3, "buf");
  const idx n = c.count(4, "n");
  const float lr = c.real(5, "lr"), mu = c.real(6, "mu"), wd = c.real(7, "wd");
  const bool nesterov = c.flag(8);
  float* pp = c.region(p, n, "p");
  const float* gp = c.region(g, n, "g");
  float* bp = c.region(buf, n, "buf");
  if (!c.ok) return nullptr;
  c.t->momentum(pp, gp, bp, n, lr, mu, wd, nesterov);
  return c.undefined();
}

napi_value Rmsprop(napi_env env, napi_callback_info info) {
  Call c(env, info, "rmspropUpdate", 9);
  const idx p = c.count(1, "p"), g = c.count(2, "g"), sq = c.count(3, "sq");
  const idx n = c.count(4, "n");
  const float lr = c.real(5, "lr"), rho = c.real(6, "rho"), eps = c.real(7, "eps");
  const float wd = c.real(8, "wd");
  float* pp = c.region(p, n, "p");
  const float* gp = c.region(g, n, "g");
  float* sp = c.region(sq, n, "sq");
  if (!c.ok) return nullptr;
  c.t->rmsprop(pp, gp, sp, n, lr, rho, eps, wd);
  return c.undefined();
}

napi_value Adam(napi_env env, napi_callback_info info) {
  Call c(env, info, "adamUpdate", 13);
  const idx p = c.count(1, "p"), g = c.count(2, "g"), m1 = c.count(3, "m1");
  const idx m2 = c.count(4, "m2"), n = c.count(5, "n");
  const float lr = c.real(6, "lr"), b1 = c.real(7, "beta1"), b2 = c.real(8, "beta2");
  const float eps = c.real(9, "eps"), wd = c.real(10, "wd"), bc1 = c.real(11, "bc1");
  const float bc2 = c.real(12, "bc2");
  float* pp = c.region(p, n, "p");
  const float* gp = c.region(g, n, "g");
  float* m1p = c.region(m1, n, "m1");
  float* m2p = c.region(m2, n, "m2");
  if (!c.ok) return nullptr;
  c.t->adam(pp, gp, m1p, m2p, n, lr, b1, b2, eps, wd, bc1, bc2);
  return c.undefined();
}

// The copies this CPU (and its operating system: libgcc checks the saved register state)
// can run, best first. "scalar" runs everywhere.
bool supported(const Table* t) {
  __builtin_cpu_init();
  if (t == &nns_avx512::table)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("bmi2");
  if (t == &nns_avx2::table) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return true;
}

const Table* const TABLES[] = {&nns_avx512::table, &nns_avx2::table, &nns_scalar::table};

napi_value Isas(napi_env env, napi_callback_info) {
  napi_value list;
  napi_create_array(env, &list);
  uint32_t n = 0;
  for (const Table* t : TABLES) {
    if (!supported(t)) continue;
    napi_value name;
    napi_create_string_utf8(env, t->name, NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, list, n++, name);
  }
  return list;
}

struct Entry {
  const char* name;
  napi_callback fn;
};

const Entry ENTRIES[] = {
    {"denseForward", DenseForward}, {"backwardInput", BackwardInput},
    {"backwardWeights", BackwardWeights}, {"weightGradient", WeightGradient},
    {"activate", Activate}, {"softmax", Softmax},
    {"sumOfSquares", SumOfSquares}, {"scale", Scale}, {"allFinite", AllFinite},
    {"sgdUpdate", Sgd},
    {"momentumUpdate", Momentum}, {"rmspropUpdate", Rmsprop},
    {"adamUpdate", Adam}, {"weightSteps", WeightSteps}, {"gatherRows", GatherRows},
    {"copyFinite", CopyFinite}, {"columnBlocks", ColumnBlocks},
};

// kernels(isa): the functions of one copy; throws for a copy this CPU cannot run.
napi_value Kernels(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr);
  char name[32] = {0};
  size_t got = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, arg, name, sizeof name, &got) != napi_ok) {
    napi_throw_type_error(env, "ERR_NNSERVE_NATIVE_ARGUMENT", "kernels(isa): isa must be a string");
    return nullptr;
  }
  for (const Table* t : TABLES) {
    if (std::string_view(t->name) != std::string_view(name)) continue;
    if (!supported(t)) break;
    napi_value obj;
    napi_create_object(env, &obj);
    for (const Entry& e : ENTRIES) {
      napi_value fn;
      napi_create_function(env, e.name, NAPI_AUTO_LENGTH, e.fn, const_cast<Table*>(t), &fn);
      napi_set_named_property(env, obj, e.name, fn);
    }
    napi_value isa;
    napi_create_string_utf8(env, t->name, NAPI_AUTO_LENGTH, &isa);
    napi_set_named_property(env, obj, "isa", isa);
    return obj;
  }
  char message[96];
  std::snprintf(message, sizeof message, "kernels(isa): %s is not a copy this CPU can run", name);
  napi_throw_range_error(env, "ERR_NNSERVE_NATIVE_ISA", message);
  return nullptr;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "isas", NAPI_AUTO_LENGTH, Isas, nullptr, &fn);
  napi_set_named_property(env, exports, "isas", fn);
  napi_create_function(env, "kernels", NAPI_AUTO_LENGTH, Kernels, nullptr, &fn);
  napi_set_named_property(env, exports, "kernels", fn);
  return exports;
}
