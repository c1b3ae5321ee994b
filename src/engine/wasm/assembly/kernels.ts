/**
 * The engine's hot loops in WebAssembly SIMD (AssemblyScript; built by scripts/wasm-build.sh into
 * src/engine/wasm/build/kernels-{simd,relaxed}.wasm, never committed). The module imports its
 * memory: that memory IS the network's arena (see ../../wasm-kernels.ts), so nothing is copied.
 * Every pointer and stride here is in BYTES; matrices are row-major Float32.
 *
 * Compiled twice: with --enable relaxed-simd, ASC_FEATURE_RELAXED_SIMD is true at compile time
 * and products use fused multiply-add (f32x4.relaxed_madd) with 6×8 register tiles (12
 * accumulators + 2 B vectors + 1 broadcast = 15 of x64's 16 xmm registers) and a 4×8 tile for a
 * leftover of 4 or 5 rows; without it, mul+add with 4×8 tiles only (8 accumulators, which do not
 * spill on Node 20).
 *
 * Edges: a block of 8 columns always loads 8 B values and stores only the valid ones, so reads
 * run up to 7 floats past a row (the arena keeps 16 floats of padding at its end) and a narrow
 * layer (10 units) costs one partly used block, not a scalar path.
 */

// Activation codes: keep in step with src/engine/activations.ts.
const ACT_LINEAR = 0;
const ACT_SIGMOID = 1;
const ACT_TANH = 2;
const ACT_RELU = 3;
const ACT_LEAKY_RELU = 4;
const ACT_ELU = 5;
const ACT_STEP = 7;

/** Epilogues of gemm, applied to each finished tile while it is still in cache. */
const EPI_NONE = 0;
/** C = f(C) (forward activation; C already holds A·B + bias). */
const EPI_ACTIVATE = 1;
/** C = C ⊙ f'(aux), f' written through the activation's output aux (backward input). */
const EPI_DERIVATIVE = 2;
/** C unchanged; its squares are added to squareSum (the weight gradient, for the norm). */
const EPI_SQUARES = 3;

/**
 * Σ of the squares of what gemm (EPI_SQUARES) and columnSums (squares = 1) wrote since the last
 * takeSquares: the gradient norm of one thread's step without a second pass over the gradients,
 * which have left the cache by the time they are all written.
 */
let squareSum: f64 = 0;

/** Returns squareSum and resets it. */
export function takeSquares(): f64 {
  const s = squareSum;
  squareSum = 0;
  return s;
}

/** The sum of v's four lanes, in f64. */
// @ts-ignore: decorator
@inline
function lanes(v: v128): f64 {
  return (
    <f64>f32x4.extract_lane(v, 0) +
    <f64>f32x4.extract_lane(v, 1) +
    <f64>f32x4.extract_lane(v, 2) +
    <f64>f32x4.extract_lane(v, 3)
  );
}

// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Stores the first n (0..3) lanes of v at p. */
// @ts-ignore: decorator
@inline
function storeTail(p: usize, v: v128, n: i32): void {
  if (n > 0) v128.store32_lane(p, v, 0);
  if (n > 1) v128.store32_lane(p, v, 1, 4);
  if (n > 2) v128.store32_lane(p, v, 2, 8);
}

/** Stores the first nv (1..8) of the 8 values v0|v1 at p. */
// @ts-ignore: decorator
@inline
function store8(p: usize, v0: v128, v1: v128, nv: i32): void {
  if (nv >= 8) {
    v128.store(p, v0);
    v128.store(p, v1, 16);
  } else if (nv >= 4) {
    v128.store(p, v0);
    storeTail(p + 16, v1, nv - 4);
  } else {
    storeTail(p, v0, nv);
  }
}

function activateScalar(z: f64, act: i32, alpha: f64): f64 {
  switch (act) {
    case ACT_RELU:
      return z > 0 ? z : 0;
    case ACT_SIGMOID:
      if (z >= 0) return 1 / (1 + Math.exp(-z));
      else {
        const e = Math.exp(z);
        return e / (1 + e);
      }
    case ACT_TANH:
      return Math.tanh(z);
    case ACT_LEAKY_RELU:
      return z > 0 ? z : alpha * z;
    case ACT_ELU:
      return z > 0 ? z : alpha * Math.expm1(z);
    case ACT_STEP:
      return z > 0 ? 1 : 0;
    default:
      return z;
  }
}

/** f(v) on four lanes: relu and leaky relu in SIMD, the transcendental ones lane by lane. */
// @ts-ignore: decorator
@inline
function activate4(v: v128, act: i32, alpha: f32): v128 {
  if (act === ACT_RELU) return f32x4.max(v, f32x4.splat(0));
  if (act === ACT_LEAKY_RELU) {
    const pos = f32x4.gt(v, f32x4.splat(0));
    return v128.bitselect(v, f32x4.mul(v, f32x4.splat(alpha)), pos);
  }
  const a = <f64>alpha;
  let r = f32x4.splat(<f32>activateScalar(<f64>f32x4.extract_lane(v, 0), act, a));
  r = f32x4.replace_lane(r, 1, <f32>activateScalar(<f64>f32x4.extract_lane(v, 1), act, a));
  r = f32x4.replace_lane(r, 2, <f32>activateScalar(<f64>f32x4.extract_lane(v, 2), act, a));
  r = f32x4.replace_lane(r, 3, <f32>activateScalar(<f64>f32x4.extract_lane(v, 3), act, a));
  return r;
}

/** f'(z) through a = f(z) on four lanes (see derivative() in ../../kernels.ts). */
// @ts-ignore: decorator
@inline
function derivative4(a: v128, act: i32, alpha: f32): v128 {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  switch (act) {
    case ACT_RELU:
      return v128.and(f32x4.gt(a, zero), one);
    case ACT_SIGMOID:
      return f32x4.mul(a, f32x4.sub(one, a));
    case ACT_TANH:
      return f32x4.sub(one, f32x4.mul(a, a));
    case ACT_LEAKY_RELU:
      return v128.bitselect(one, f32x4.splat(alpha), f32x4.gt(a, zero));
    case ACT_ELU:
      return v128.bitselect(one, f32x4.add(a, f32x4.splat(alpha)), f32x4.gt(a, zero));
    case ACT_STEP:
      return zero;
    default:
      return one;
  }
}

/** The epilogue on a tile of `rows` rows × nv columns of C (stride ldc). */
function epilogue(
  c: usize,
  ldc: usize,
  rows: i32,
  nv: i32,
  mode: i32,
  act: i32,
  alpha: f32,
  aux: usize,
  auxld: usize,
): void {
  if (mode === EPI_NONE || (mode === EPI_ACTIVATE && act === ACT_LINEAR)) return;
  if (mode === EPI_SQUARES) {
    // The tile was just stored (in L1); only its valid columns count.
    let acc = f32x4.splat(0);
    let tail: f64 = 0;
    for (let r = 0; r < rows; r++) {
      const cr = c + <usize>r * ldc;
      let j = 0;
      for (; j + 4 <= nv; j += 4) {
        const v = v128.load(cr + (<usize>j << 2));
        acc = madd(v, v, acc);
      }
      for (; j < nv; j++) {
        const v = <f64>load<f32>(cr + (<usize>j << 2));
        tail += v * v;
      }
    }
    squareSum += lanes(acc) + tail;
    return;
  }
  for (let r = 0; r < rows; r++) {
    const cr = c + <usize>r * ldc;
    const ar = aux + <usize>r * auxld;
    for (let j = 0; j < nv; j += 4) {
      const p = cr + (<usize>j << 2);
      const v = v128.load(p);
      const out =
        mode === EPI_ACTIVATE
          ? activate4(v, act, alpha)
          : f32x4.mul(v, derivative4(v128.load(ar + (<usize>j << 2)), act, alpha));
      const n = nv - j;
      if (n >= 4) v128.store(p, out);
      else storeTail(p, out, n);
    }
  }
}

/**
 * C[M×N] = epilogue(A·B + bias) with A[M×K] read through strides (ars between rows, acs between
 * columns: A may be a transposed view), B[K×N] row-major (stride ldb), C row-major (stride
 * ldc), bias[N] or none. This one product serves the forward pass (A = X, B = W), the input
 * gradient (A = dZ, B = Wᵀ packed by `transpose`) and the weight gradient (A = Xᵀ, B = dZ).
 *
 * Loop order: 8-column blocks of B outside, register tiles of MR rows inside, so a B panel is
 * reused by every row tile while it is hot; then the leftover rows (fewer than MR, and the
 * single-row prediction) one at a time over 16-column blocks (4 independent accumulators, as the
 * matrix-vector product is bound by streaming B).
 */
export function gemm(
  a: usize,
  ars: usize,
  acs: usize,
  b: usize,
  ldb: usize,
  c: usize,
  ldc: usize,
  M: i32,
  K: i32,
  N: i32,
  bias: usize,
  useBias: i32,
  mode: i32,
  act: i32,
  alpha: f32,
  aux: usize,
  auxld: usize,
): void {
  // Rows covered by register tiles: 6-row tiles (relaxed only), then 4-row tiles; the count of
  // 6-row tiles is chosen (the most, or one or two fewer) so that the fewest rows are left for
  // the slow one-by-one path (gemmRow): 64 = 10·6 + 4, 32 = 4·6 + 2·4, 128 = 20·6 + 2·4.
  let M6 = 0;
  if (ASC_FEATURE_RELAXED_SIMD) {
    const most = M / 6;
    let tiles = most;
    let left = (M - 6 * most) & 3;
    for (let t = 1; t <= 2 && t <= most; t++) {
      const l = (M - 6 * (most - t)) & 3;
      if (l < left) {
        tiles = most - t;
        left = l;
      }
    }
    M6 = 6 * tiles;
  }
  const Mfull = M6 + ((M - M6) & ~3);
  const zero = f32x4.splat(0);
  // EPI_SQUARES on whole 8-column tiles: the squares are taken from the accumulators (a tree of
  // multiply-adds, off the tile's own chains); partial tiles go through the epilogue.
  const squares = mode === EPI_SQUARES;
  let sq = zero;
  for (let j = 0; j < N; j += 8) {
    const nv = min(N - j, 8);
    const jb = <usize>j << 2;
    const b0 = useBias ? v128.load(bias + jb) : zero;
    const b1 = useBias ? v128.load(bias + jb, 16) : zero;
    for (let i = 0; i < Mfull; ) {
      const cp = c + <usize>i * ldc + jb;
      const ap = aux + <usize>i * auxld + jb;
      let pa = a + <usize>i * ars;
      let pb = b + jb;
      if (i < M6) {
        let c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1;
        let c30 = b0, c31 = b1, c40 = b0, c41 = b1, c50 = b0, c51 = b1;
        const r2 = ars << 1;
        const r4 = ars << 2;
        for (let k = 0; k < K; k++) {
          const w0 = v128.load(pb);
          const w1 = v128.load(pb, 16);
          let x = v128.load32_splat(pa);
          c00 = madd(x, w0, c00);
          c01 = madd(x, w1, c01);
          x = v128.load32_splat(pa + ars);
          c10 = madd(x, w0, c10);
          c11 = madd(x, w1, c11);
          x = v128.load32_splat(pa + r2);
          c20 = madd(x, w0, c20);
          c21 = madd(x, w1, c21);
          x = v128.load32_splat(pa + r2 + ars);
          c30 = madd(x, w0, c30);
          c31 = madd(x, w1, c31);
          x = v128.load32_splat(pa + r4);
          c40 = madd(x, w0, c40);
          c41 = madd(x, w1, c41);
          x = v128.load32_splat(pa + r4 + ars);
          c50 = madd(x, w0, c50);
          c51 = madd(x, w1, c51);
          pa += acs;
          pb += ldb;
        }
        store8(cp, c00, c01, nv);
        store8(cp + ldc, c10, c11, nv);
        store8(cp + 2 * ldc, c20, c21, nv);
        store8(cp + 3 * ldc, c30, c31, nv);
        store8(cp + 4 * ldc, c40, c41, nv);
        store8(cp + 5 * ldc, c50, c51, nv);
        if (squares && nv === 8) {
          const s0 = madd(c00, c00, f32x4.mul(c01, c01));
          const s1 = madd(c10, c10, f32x4.mul(c11, c11));
          const s2 = madd(c20, c20, f32x4.mul(c21, c21));
          const s3 = madd(c30, c30, f32x4.mul(c31, c31));
          const s4 = madd(c40, c40, f32x4.mul(c41, c41));
          const s5 = madd(c50, c50, f32x4.mul(c51, c51));
          sq = f32x4.add(sq, f32x4.add(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)), f32x4.add(s4, s5)));
        } else epilogue(cp, ldc, 6, nv, mode, act, alpha, ap, auxld);
        i += 6;
      } else {
        let c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1;
        const r2 = ars << 1;
        for (let k = 0; k < K; k++) {
          const w0 = v128.load(pb);
          const w1 = v128.load(pb, 16);
          let x = v128.load32_splat(pa);
          c00 = madd(x, w0, c00);
          c01 = madd(x, w1, c01);
          x = v128.load32_splat(pa + ars);
          c10 = madd(x, w0, c10);
          c11 = madd(x, w1, c11);
          x = v128.load32_splat(pa + r2);
          c20 = madd(x, w0, c20);
          c21 = madd(x, w1, c21);
          x = v128.load32_splat(pa + r2 + ars);
          c30 = madd(x, w0, c30);
          c31 = madd(x, w1, c31);
          pa += acs;
          pb += ldb;
        }
        store8(cp, c00, c01, nv);
        store8(cp + ldc, c10, c11, nv);
        store8(cp + 2 * ldc, c20, c21, nv);
        store8(cp + 3 * ldc, c30, c31, nv);
        if (squares && nv === 8) {
          const s0 = madd(c00, c00, f32x4.mul(c01, c01));
          const s1 = madd(c10, c10, f32x4.mul(c11, c11));
          const s2 = madd(c20, c20, f32x4.mul(c21, c21));
          const s3 = madd(c30, c30, f32x4.mul(c31, c31));
          sq = f32x4.add(sq, f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
        } else epilogue(cp, ldc, 4, nv, mode, act, alpha, ap, auxld);
        i += 4;
      }
    }
  }
  if (squares) squareSum += lanes(sq);
  for (let i = Mfull; i < M; i++) gemmRow(a + <usize>i * ars, acs, b, ldb, c + <usize>i * ldc, K, N, bias, useBias, mode, act, alpha, aux + <usize>i * auxld);
}

/**
 * One row of gemm: c[N] = epilogue(a·B + bias). A row is a matrix-vector product, bound by
 * reading B; holding columns in registers over all of K (one chain of dependent multiply-adds
 * per accumulator) left the FMA units waiting on latency and walked B in strided slivers. So
 * the multiples of 16 columns are summed in place in c, B read row after row as it lies in
 * memory, four rows of B per pass over c (chains independent across columns, so out-of-order
 * execution overlaps them); only the last < 16 columns keep the register path. Each column
 * still sums bias, then k = 0…K-1 in order, as the tiles do: a row predicted alone equals the
 * same row in a batch, bit for bit.
 */
function gemmRow(
  a: usize,
  acs: usize,
  b: usize,
  ldb: usize,
  c: usize,
  K: i32,
  N: i32,
  bias: usize,
  useBias: i32,
  mode: i32,
  act: i32,
  alpha: f32,
  aux: usize,
): void {
  const zero = f32x4.splat(0);
  const N16 = N & ~15;
  if (N16 > 0) {
    for (let j = 0; j < N16; j += 4) {
      const o = <usize>j << 2;
      v128.store(c + o, useBias ? v128.load(bias + o) : zero);
    }
    // 1,024 columns at a time keep the part of c being summed (4 KB) in L1.
    for (let j0 = 0; j0 < N16; j0 += 1024) {
      const end = <usize>min(N16, j0 + 1024) << 2;
      const start = <usize>j0 << 2;
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const pa = a + <usize>k * acs;
        const x0 = v128.load32_splat(pa);
        const x1 = v128.load32_splat(pa + acs);
        const x2 = v128.load32_splat(pa + 2 * acs);
        const x3 = v128.load32_splat(pa + 3 * acs);
        const p0 = b + <usize>k * ldb;
        const p1 = p0 + ldb;
        const p2 = p1 + ldb;
        const p3 = p2 + ldb;
        for (let o = start; o < end; o += 16) {
          let v = v128.load(c + o);
          v = madd(x0, v128.load(p0 + o), v);
          v = madd(x1, v128.load(p1 + o), v);
          v = madd(x2, v128.load(p2 + o), v);
          v = madd(x3, v128.load(p3 + o), v);
          v128.store(c + o, v);
        }
      }
      for (; k < K; k++) {
        const x = v128.load32_splat(a + <usize>k * acs);
        const p = b + <usize>k * ldb;
        for (let o = start; o < end; o += 16) {
          v128.store(c + o, madd(x, v128.load(p + o), v128.load(c + o)));
        }
      }
    }
    epilogue(c, 0, 1, N16, mode, act, alpha, aux, 0);
  }
  for (let j = N16; j < N; j += 16) {
    const nv = min(N - j, 16);
    const jb = <usize>j << 2;
    let c0 = zero, c1 = zero, c2 = zero, c3 = zero;
    if (useBias) {
      c0 = v128.load(bias + jb);
      c1 = v128.load(bias + jb, 16);
      c2 = v128.load(bias + jb, 32);
      c3 = v128.load(bias + jb, 48);
    }
    let pa = a;
    let pb = b + jb;
    for (let k = 0; k < K; k++) {
      const x = v128.load32_splat(pa);
      c0 = madd(x, v128.load(pb), c0);
      c1 = madd(x, v128.load(pb, 16), c1);
      c2 = madd(x, v128.load(pb, 32), c2);
      c3 = madd(x, v128.load(pb, 48), c3);
      pa += acs;
      pb += ldb;
    }
    const cp = c + jb;
    store8(cp, c0, c1, min(nv, 8));
    if (nv > 8) store8(cp + 32, c2, c3, nv - 8);
    epilogue(cp, 0, 1, nv, mode, act, alpha, aux + jb, 0);
  }
}

/**
 * dst[N×K] = srcᵀ for src[K×N] (both row-major, packed), in 4×4 blocks transposed in registers
 * (two rounds of lane shuffles), so both sides are read and written four floats at a time.
 */
export function transpose(src: usize, dst: usize, K: i32, N: i32): void {
  const K4 = K & ~3;
  const N4 = N & ~3;
  const sl = <usize>N << 2;
  const dl = <usize>K << 2;
  for (let k = 0; k < K4; k += 4) {
    const s = src + <usize>k * sl;
    for (let j = 0; j < N4; j += 4) {
      const p = s + (<usize>j << 2);
      const r0 = v128.load(p);
      const r1 = v128.load(p + sl);
      const r2 = v128.load(p + 2 * sl);
      const r3 = v128.load(p + 3 * sl);
      const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
      const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
      const d = dst + <usize>j * dl + (<usize>k << 2);
      v128.store(d, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
      v128.store(d + dl, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
      v128.store(d + 2 * dl, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
      v128.store(d + 3 * dl, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
    }
    for (let j = N4; j < N; j++) {
      for (let r = k; r < k + 4; r++) {
        store<f32>(dst + <usize>j * dl + (<usize>r << 2), load<f32>(src + <usize>r * sl + (<usize>j << 2)));
      }
    }
  }
  for (let k = K4; k < K; k++) {
    for (let j = 0; j < N; j++) {
      store<f32>(dst + <usize>j * dl + (<usize>k << 2), load<f32>(src + <usize>k * sl + (<usize>j << 2)));
    }
  }
}

/**
 * db[N] = column sums of dz[rows×N] (the bias gradient); with `squares`, their squares are added
 * to squareSum.
 */
export function columnSums(dz: usize, db: usize, rows: i32, N: i32, squares: i32): void {
  const ld = <usize>N << 2;
  let acc = f32x4.splat(0);
  let tail: f64 = 0;
  let j = 0;
  for (; j + 4 <= N; j += 4) {
    let s = f32x4.splat(0);
    let p = dz + (<usize>j << 2);
    for (let i = 0; i < rows; i++) {
      s = f32x4.add(s, v128.load(p));
      p += ld;
    }
    v128.store(db + (<usize>j << 2), s);
    acc = madd(s, s, acc);
  }
  for (; j < N; j++) {
    let s: f32 = 0;
    let p = dz + (<usize>j << 2);
    for (let i = 0; i < rows; i++) {
      s += load<f32>(p);
      p += ld;
    }
    store<f32>(db + (<usize>j << 2), s);
    tail += <f64>s * <f64>s;
  }
  if (squares) squareSum += lanes(acc) + tail;
}

/** a[n] = f(z[n]) element-wise (activations applied outside a product). */
export function activateRange(z: usize, a: usize, n: i32, act: i32, alpha: f32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(a + o, activate4(v128.load(z + o), act, alpha));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(a + o, <f32>activateScalar(<f64>load<f32>(z + o), act, <f64>alpha));
  }
}

/** Σ v² over n floats at p, in four f32 lanes × 2 accumulators. */
export function sumOfSquares(p: usize, n: i32): f64 {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const v0 = v128.load(p);
    const v1 = v128.load(p, 16);
    s0 = madd(v0, v0, s0);
    s1 = madd(v1, v1, s1);
    p += 32;
  }
  const s = f32x4.add(s0, s1);
  let t: f64 =
    <f64>f32x4.extract_lane(s, 0) +
    <f64>f32x4.extract_lane(s, 1) +
    <f64>f32x4.extract_lane(s, 2) +
    <f64>f32x4.extract_lane(s, 3);
  for (; i < n; i++) {
    const v = <f64>load<f32>(p);
    t += v * v;
    p += 4;
  }
  return t;
}

/** d = a·d + b·s over n floats (two threads' gradients, each weighted by its share of rows). */
export function combine(d: usize, s: usize, n: i32, a: f32, b: f32): void {
  const va = f32x4.splat(a);
  const vb = f32x4.splat(b);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(d + o, madd(va, v128.load(d + o), f32x4.mul(vb, v128.load(s + o))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(d + o, a * load<f32>(d + o) + b * load<f32>(s + o));
  }
}

/**
 * combine, and the sum of squares of the combined d (for the gradient norm) in the same pass. The
 * same element-wise arithmetic as combine (vector body, scalar tail), so a range split at a
 * multiple of 4 floats writes exactly what one call over the whole range writes.
 */
export function combineSquares(d: usize, s: usize, n: i32, a: f32, b: f32): f64 {
  const va = f32x4.splat(a);
  const vb = f32x4.splat(b);
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = madd(va, v128.load(d + o), f32x4.mul(vb, v128.load(s + o)));
    v128.store(d + o, v);
    acc = madd(v, v, acc);
  }
  let t: f64 =
    <f64>f32x4.extract_lane(acc, 0) +
    <f64>f32x4.extract_lane(acc, 1) +
    <f64>f32x4.extract_lane(acc, 2) +
    <f64>f32x4.extract_lane(acc, 3);
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = a * load<f32>(d + o) + b * load<f32>(s + o);
    store<f32>(d + o, v);
    t += <f64>v * <f64>v;
  }
  return t;
}

export function scale(p: usize, n: i32, factor: f32): void {
  const f = f32x4.splat(factor);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(p, f32x4.mul(v128.load(p), f));
    p += 16;
  }
  for (; i < n; i++) {
    store<f32>(p, load<f32>(p) * factor);
    p += 4;
  }
}

/*
 * Optimizer updates over parallel ranges of n floats: p (parameters), g (gradients), state.
 * Same formulas as ../../kernels.ts (PyTorch's), in f32 lanes; tails run the same vector code on
 * a scalar lane (the ranges are padded to 4 floats by the arena planner, but the padding is left
 * untouched).
 */

export function sgdUpdate(p: usize, g: usize, n: i32, lr: f32, wd: f32): void {
  const vlr = f32x4.splat(lr);
  const vwd = f32x4.splat(wd);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const pi = v128.load(p + o);
    const gi = madd(vwd, pi, v128.load(g + o));
    v128.store(p + o, f32x4.sub(pi, f32x4.mul(vlr, gi)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const pi = load<f32>(p + o);
    store<f32>(p + o, pi - lr * (load<f32>(g + o) + wd * pi));
  }
}

export function momentumUpdate(
  p: usize,
  g: usize,
  buf: usize,
  n: i32,
  lr: f32,
  mu: f32,
  wd: f32,
  nesterov: i32,
): void {
  const vlr = f32x4.splat(lr);
  const vmu = f32x4.splat(mu);
  const vwd = f32x4.splat(wd);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const pi = v128.load(p + o);
    const gi = madd(vwd, pi, v128.load(g + o));
    const v = madd(vmu, v128.load(buf + o), gi);
    v128.store(buf + o, v);
    const step = nesterov ? madd(vmu, v, gi) : v;
    v128.store(p + o, f32x4.sub(pi, f32x4.mul(vlr, step)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const pi = load<f32>(p + o);
    const gi = load<f32>(g + o) + wd * pi;
    const v = mu * load<f32>(buf + o) + gi;
    store<f32>(buf + o, v);
    store<f32>(p + o, pi - lr * (nesterov ? gi + mu * v : v));
  }
}

export function rmspropUpdate(
  p: usize,
  g: usize,
  sq: usize,
  n: i32,
  lr: f32,
  rho: f32,
  eps: f32,
  wd: f32,
): void {
  const vlr = f32x4.splat(lr);
  const vrho = f32x4.splat(rho);
  const v1rho = f32x4.splat(1 - rho);
  const veps = f32x4.splat(eps);
  const vwd = f32x4.splat(wd);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const pi = v128.load(p + o);
    const gi = madd(vwd, pi, v128.load(g + o));
    const v = madd(vrho, v128.load(sq + o), f32x4.mul(v1rho, f32x4.mul(gi, gi)));
    v128.store(sq + o, v);
    const d = f32x4.add(f32x4.sqrt(v), veps);
    v128.store(p + o, f32x4.sub(pi, f32x4.div(f32x4.mul(vlr, gi), d)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const pi = load<f32>(p + o);
    const gi = load<f32>(g + o) + wd * pi;
    const v = rho * load<f32>(sq + o) + (1 - rho) * gi * gi;
    store<f32>(sq + o, v);
    store<f32>(p + o, pi - (lr * gi) / (Mathf.sqrt(v) + eps));
  }
}

/** Adam with PyTorch's formulation: p −= (lr/bc1)·m1 / (√m2/√bc2 + ε). */
export function adamUpdate(
  p: usize,
  g: usize,
  m1: usize,
  m2: usize,
  n: i32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  wd: f32,
  bc1: f32,
  bc2: f32,
): void {
  const stepSize = lr / bc1;
  const invBc2Sqrt = <f32>(1 / Math.sqrt(<f64>bc2));
  const vstep = f32x4.splat(stepSize);
  const vb1 = f32x4.splat(beta1);
  const v1b1 = f32x4.splat(1 - beta1);
  const vb2 = f32x4.splat(beta2);
  const v1b2 = f32x4.splat(1 - beta2);
  const veps = f32x4.splat(eps);
  const vwd = f32x4.splat(wd);
  const vinv = f32x4.splat(invBc2Sqrt);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const pi = v128.load(p + o);
    const gi = madd(vwd, pi, v128.load(g + o));
    const a = madd(vb1, v128.load(m1 + o), f32x4.mul(v1b1, gi));
    const v = madd(vb2, v128.load(m2 + o), f32x4.mul(v1b2, f32x4.mul(gi, gi)));
    v128.store(m1 + o, a);
    v128.store(m2 + o, v);
    const d = madd(f32x4.sqrt(v), vinv, veps);
    v128.store(p + o, f32x4.sub(pi, f32x4.div(f32x4.mul(vstep, a), d)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const pi = load<f32>(p + o);
    const gi = load<f32>(g + o) + wd * pi;
    const a = beta1 * load<f32>(m1 + o) + (1 - beta1) * gi;
    const v = beta2 * load<f32>(m2 + o) + (1 - beta2) * gi * gi;
    store<f32>(m1 + o, a);
    store<f32>(m2 + o, v);
    store<f32>(p + o, pi - (stepSize * a) / (Mathf.sqrt(v) * invBc2Sqrt + eps));
  }
}

/**
 * Where the module's own static data ends (AssemblyScript's math tables live below it). The arena
 * starts at or after this byte offset, so it never overwrites them.
 */
export function staticDataEnd(): usize {
  return __heap_base;
}
