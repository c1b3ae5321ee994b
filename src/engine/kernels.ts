/**
 * The hot loops, and nothing else. Every function works on ONE Float32Array (the arena, see
 * arena.ts) addressed by element offsets, so a WebAssembly module sharing the same memory can
 * replace any of them without copies. All matrices are row-major:
 *
 *   X, A, dZ  [rows × units]   one row per sample
 *   W         [inputs × units] one row per input, so a neuron's weights are a column
 *   b         [units]
 *
 * Matrix products are register-blocked 4×4: sixteen running sums live in locals while the
 * shared dimension streams through, which cuts memory traffic four-fold against the naive
 * triple loop. Sums are kept in float64 (JavaScript numbers) and rounded once on store.
 */
import {
  ACT_ELU,
  ACT_LEAKY_RELU,
  ACT_LINEAR,
  ACT_RELU,
  ACT_SIGMOID,
  ACT_SOFTMAX,
  ACT_STEP,
  ACT_TANH,
} from "./activations.ts";

/** f(z) for the element-wise activations; softmax is a row operation (softmaxRows). */
export function activate(z: number, act: number, alpha: number): number {
  switch (act) {
    case ACT_RELU:
      return Math.max(z, 0);
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

/**
 * f'(z) expressed through the output a = f(z), so the forward pass only keeps A. This holds for
 * every element-wise activation here (relu/leakyRelu/elu: a > 0 exactly when z > 0, given
 * alpha >= 0 resp. > 0; at z = 0 the left derivative is used, as PyTorch does).
 */
export function derivative(a: number, act: number, alpha: number): number {
  switch (act) {
    case ACT_RELU:
      return a > 0 ? 1 : 0;
    case ACT_SIGMOID:
      return a * (1 - a);
    case ACT_TANH:
      return 1 - a * a;
    case ACT_LEAKY_RELU:
      return a > 0 ? 1 : alpha;
    case ACT_ELU:
      return a > 0 ? 1 : a + alpha;
    case ACT_STEP:
      return 0;
    default:
      return 1;
  }
}

/**
 * Y = f(X·W + b) for X [rows×K], W [K×N], b [N], Y [rows×N]. `act` must be element-wise
 * (pass ACT_LINEAR and call softmaxRows for softmax).
 */
export function denseForward(
  m: Float32Array,
  x: number,
  w: number,
  b: number,
  y: number,
  rows: number,
  K: number,
  N: number,
  act: number,
  alpha: number,
): void {
  const rows4 = rows & ~3;
  const N4 = N & ~3;
  for (let i = 0; i < rows4; i += 4) {
    const x0 = x + i * K;
    const x1 = x0 + K;
    const x2 = x1 + K;
    const x3 = x2 + K;
    const y0 = y + i * N;
    const y1 = y0 + N;
    const y2 = y1 + N;
    const y3 = y2 + N;
    // 4 rows × 4 units per block; k walks down W's rows (stride N) and along X's rows.
    for (let j = 0; j < N4; j += 4) {
      const bj0 = m[b + j];
      const bj1 = m[b + j + 1];
      const bj2 = m[b + j + 2];
      const bj3 = m[b + j + 3];
      let c00 = bj0,
        c01 = bj1,
        c02 = bj2,
        c03 = bj3;
      let c10 = bj0,
        c11 = bj1,
        c12 = bj2,
        c13 = bj3;
      let c20 = bj0,
        c21 = bj1,
        c22 = bj2,
        c23 = bj3;
      let c30 = bj0,
        c31 = bj1,
        c32 = bj2,
        c33 = bj3;
      for (let k = 0, wk = w + j; k < K; k++, wk += N) {
        const a0 = m[x0 + k];
        const a1 = m[x1 + k];
        const a2 = m[x2 + k];
        const a3 = m[x3 + k];
        const w0 = m[wk];
        const w1 = m[wk + 1];
        const w2 = m[wk + 2];
        const w3 = m[wk + 3];
        c00 += a0 * w0;
        c01 += a0 * w1;
        c02 += a0 * w2;
        c03 += a0 * w3;
        c10 += a1 * w0;
        c11 += a1 * w1;
        c12 += a1 * w2;
        c13 += a1 * w3;
        c20 += a2 * w0;
        c21 += a2 * w1;
        c22 += a2 * w2;
        c23 += a2 * w3;
        c30 += a3 * w0;
        c31 += a3 * w1;
        c32 += a3 * w2;
        c33 += a3 * w3;
      }
      m[y0 + j] = activate(c00, act, alpha);
      m[y0 + j + 1] = activate(c01, act, alpha);
      m[y0 + j + 2] = activate(c02, act, alpha);
      m[y0 + j + 3] = activate(c03, act, alpha);
      m[y1 + j] = activate(c10, act, alpha);
      m[y1 + j + 1] = activate(c11, act, alpha);
      m[y1 + j + 2] = activate(c12, act, alpha);
      m[y1 + j + 3] = activate(c13, act, alpha);
      m[y2 + j] = activate(c20, act, alpha);
      m[y2 + j + 1] = activate(c21, act, alpha);
      m[y2 + j + 2] = activate(c22, act, alpha);
      m[y2 + j + 3] = activate(c23, act, alpha);
      m[y3 + j] = activate(c30, act, alpha);
      m[y3 + j + 1] = activate(c31, act, alpha);
      m[y3 + j + 2] = activate(c32, act, alpha);
      m[y3 + j + 3] = activate(c33, act, alpha);
    }
    // Leftover units (N not a multiple of 4): one unit, four rows.
    for (let j = N4; j < N; j++) {
      const bj = m[b + j];
      let c0 = bj,
        c1 = bj,
        c2 = bj,
        c3 = bj;
      for (let k = 0, wk = w + j; k < K; k++, wk += N) {
        const wv = m[wk];
        c0 += m[x0 + k] * wv;
        c1 += m[x1 + k] * wv;
        c2 += m[x2 + k] * wv;
        c3 += m[x3 + k] * wv;
      }
      m[y0 + j] = activate(c0, act, alpha);
      m[y1 + j] = activate(c1, act, alpha);
      m[y2 + j] = activate(c2, act, alpha);
      m[y3 + j] = activate(c3, act, alpha);
    }
  }
  for (let i = rows4; i < rows; i++)
    denseForwardRow(m, x + i * K, w, b, y + i * N, K, N, act, alpha);
}

/**
 * One row (the single-sample prediction path): y = f(x·W + b) as a sum of W's rows scaled by
 * x[k], four rows of W at a time so y is read and written once per four inputs. Zero inputs
 * (common in images) skip their W rows entirely.
 */
function denseForwardRow(
  m: Float32Array,
  x: number,
  w: number,
  b: number,
  y: number,
  K: number,
  N: number,
  act: number,
  alpha: number,
): void {
  m.copyWithin(y, b, b + N);
  const K4 = K & ~3;
  let k = 0;
  for (; k < K4; k += 4) {
    const a0 = m[x + k];
    const a1 = m[x + k + 1];
    const a2 = m[x + k + 2];
    const a3 = m[x + k + 3];
    if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
    const w0 = w + k * N;
    const w1 = w0 + N;
    const w2 = w1 + N;
    const w3 = w2 + N;
    for (let j = 0; j < N; j++) {
      m[y + j] += a0 * m[w0 + j] + a1 * m[w1 + j] + a2 * m[w2 + j] + a3 * m[w3 + j];
    }
  }
  for (; k < K; k++) {
    const a = m[x + k];
    if (a === 0) continue;
    const wk = w + k * N;
    for (let j = 0; j < N; j++) m[y + j] += a * m[wk + j];
  }
  if (act !== ACT_LINEAR) for (let j = 0; j < N; j++) m[y + j] = activate(m[y + j], act, alpha);
}

/** A = f(Z) element-wise over n values, or row-wise softmax over [rows×N]. */
export function activateInto(
  m: Float32Array,
  z: number,
  a: number,
  rows: number,
  N: number,
  act: number,
  alpha: number,
): void {
  if (act === ACT_SOFTMAX) {
    softmaxRows(m, z, a, rows, N);
    return;
  }
  const n = rows * N;
  for (let i = 0; i < n; i++) m[a + i] = activate(m[z + i], act, alpha);
}

/** Row-wise softmax, shifted by the row maximum so exp never overflows. */
export function softmaxRows(m: Float32Array, z: number, a: number, rows: number, N: number): void {
  for (let i = 0; i < rows; i++) {
    const zr = z + i * N;
    const ar = a + i * N;
    let max = -Infinity;
    for (let j = 0; j < N; j++) if (m[zr + j] > max) max = m[zr + j];
    let sum = 0;
    for (let j = 0; j < N; j++) {
      const e = Math.exp(m[zr + j] - max);
      m[ar + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < N; j++) m[ar + j] *= inv;
  }
}

/** dZ = dA ⊙ f'(A) in place over n values (element-wise activations). */
export function activationBackward(
  m: Float32Array,
  a: number,
  d: number,
  n: number,
  act: number,
  alpha: number,
): void {
  if (act === ACT_LINEAR) return;
  for (let i = 0; i < n; i++) m[d + i] *= derivative(m[a + i], act, alpha);
}

/** Softmax's Jacobian applied per row in place: dZ_j = a_j (dA_j − Σ_k dA_k a_k). */
export function softmaxBackward(
  m: Float32Array,
  a: number,
  d: number,
  rows: number,
  N: number,
): void {
  for (let i = 0; i < rows; i++) {
    const ar = a + i * N;
    const dr = d + i * N;
    let dot = 0;
    for (let j = 0; j < N; j++) dot += m[dr + j] * m[ar + j];
    for (let j = 0; j < N; j++) m[dr + j] = m[ar + j] * (m[dr + j] - dot);
  }
}

/**
 * The error sent back one layer: dX = (dZ·Wᵀ) ⊙ f'(A_prev), dZ [rows×N], W [K×N],
 * dX and A_prev [rows×K]. Each output is a dot product of a dZ row with a W row, both
 * contiguous; the previous layer's activation derivative is applied on store.
 */
export function backwardInput(
  m: Float32Array,
  dz: number,
  w: number,
  dx: number,
  aPrev: number,
  rows: number,
  N: number,
  K: number,
  act: number,
  alpha: number,
): void {
  const rows4 = rows & ~3;
  const K4 = K & ~3;
  for (let i = 0; i < rows4; i += 4) {
    const d0 = dz + i * N;
    const d1 = d0 + N;
    const d2 = d1 + N;
    const d3 = d2 + N;
    const o0 = i * K;
    const o1 = o0 + K;
    const o2 = o1 + K;
    const o3 = o2 + K;
    for (let k = 0; k < K4; k += 4) {
      const w0 = w + k * N;
      const w1 = w0 + N;
      const w2 = w1 + N;
      const w3 = w2 + N;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let j = 0; j < N; j++) {
        const g0 = m[d0 + j];
        const g1 = m[d1 + j];
        const g2 = m[d2 + j];
        const g3 = m[d3 + j];
        const v0 = m[w0 + j];
        const v1 = m[w1 + j];
        const v2 = m[w2 + j];
        const v3 = m[w3 + j];
        c00 += g0 * v0;
        c01 += g0 * v1;
        c02 += g0 * v2;
        c03 += g0 * v3;
        c10 += g1 * v0;
        c11 += g1 * v1;
        c12 += g1 * v2;
        c13 += g1 * v3;
        c20 += g2 * v0;
        c21 += g2 * v1;
        c22 += g2 * v2;
        c23 += g2 * v3;
        c30 += g3 * v0;
        c31 += g3 * v1;
        c32 += g3 * v2;
        c33 += g3 * v3;
      }
      m[dx + o0 + k] = c00 * derivative(m[aPrev + o0 + k], act, alpha);
      m[dx + o0 + k + 1] = c01 * derivative(m[aPrev + o0 + k + 1], act, alpha);
      m[dx + o0 + k + 2] = c02 * derivative(m[aPrev + o0 + k + 2], act, alpha);
      m[dx + o0 + k + 3] = c03 * derivative(m[aPrev + o0 + k + 3], act, alpha);
      m[dx + o1 + k] = c10 * derivative(m[aPrev + o1 + k], act, alpha);
      m[dx + o1 + k + 1] = c11 * derivative(m[aPrev + o1 + k + 1], act, alpha);
      m[dx + o1 + k + 2] = c12 * derivative(m[aPrev + o1 + k + 2], act, alpha);
      m[dx + o1 + k + 3] = c13 * derivative(m[aPrev + o1 + k + 3], act, alpha);
      m[dx + o2 + k] = c20 * derivative(m[aPrev + o2 + k], act, alpha);
      m[dx + o2 + k + 1] = c21 * derivative(m[aPrev + o2 + k + 1], act, alpha);
      m[dx + o2 + k + 2] = c22 * derivative(m[aPrev + o2 + k + 2], act, alpha);
      m[dx + o2 + k + 3] = c23 * derivative(m[aPrev + o2 + k + 3], act, alpha);
      m[dx + o3 + k] = c30 * derivative(m[aPrev + o3 + k], act, alpha);
      m[dx + o3 + k + 1] = c31 * derivative(m[aPrev + o3 + k + 1], act, alpha);
      m[dx + o3 + k + 2] = c32 * derivative(m[aPrev + o3 + k + 2], act, alpha);
      m[dx + o3 + k + 3] = c33 * derivative(m[aPrev + o3 + k + 3], act, alpha);
    }
    for (let k = K4; k < K; k++) {
      const wk = w + k * N;
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      for (let j = 0; j < N; j++) {
        const v = m[wk + j];
        c0 += m[d0 + j] * v;
        c1 += m[d1 + j] * v;
        c2 += m[d2 + j] * v;
        c3 += m[d3 + j] * v;
      }
      m[dx + o0 + k] = c0 * derivative(m[aPrev + o0 + k], act, alpha);
      m[dx + o1 + k] = c1 * derivative(m[aPrev + o1 + k], act, alpha);
      m[dx + o2 + k] = c2 * derivative(m[aPrev + o2 + k], act, alpha);
      m[dx + o3 + k] = c3 * derivative(m[aPrev + o3 + k], act, alpha);
    }
  }
  for (let i = rows4; i < rows; i++) {
    const dr = dz + i * N;
    const o = i * K;
    for (let k = 0; k < K; k++) {
      const wk = w + k * N;
      let c = 0;
      for (let j = 0; j < N; j++) c += m[dr + j] * m[wk + j];
      m[dx + o + k] = c * derivative(m[aPrev + o + k], act, alpha);
    }
  }
}

/**
 * Weight gradient dW = Xᵀ·dZ for X [rows×K], dZ [rows×N], dW [K×N] (overwritten), and the
 * bias gradient db = column sums of dZ. Each 4×4 block of dW sums over the batch, reading four
 * contiguous values of an X row and of a dZ row per sample.
 */
export function backwardWeights(
  m: Float32Array,
  x: number,
  dz: number,
  dw: number,
  db: number,
  rows: number,
  K: number,
  N: number,
): void {
  const K4 = K & ~3;
  const N4 = N & ~3;
  for (let k = 0; k < K4; k += 4) {
    const r0 = dw + k * N;
    const r1 = r0 + N;
    const r2 = r1 + N;
    const r3 = r2 + N;
    for (let j = 0; j < N4; j += 4) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let i = 0, xi = x + k, di = dz + j; i < rows; i++, xi += K, di += N) {
        const a0 = m[xi];
        const a1 = m[xi + 1];
        const a2 = m[xi + 2];
        const a3 = m[xi + 3];
        const g0 = m[di];
        const g1 = m[di + 1];
        const g2 = m[di + 2];
        const g3 = m[di + 3];
        c00 += a0 * g0;
        c01 += a0 * g1;
        c02 += a0 * g2;
        c03 += a0 * g3;
        c10 += a1 * g0;
        c11 += a1 * g1;
        c12 += a1 * g2;
        c13 += a1 * g3;
        c20 += a2 * g0;
        c21 += a2 * g1;
        c22 += a2 * g2;
        c23 += a2 * g3;
        c30 += a3 * g0;
        c31 += a3 * g1;
        c32 += a3 * g2;
        c33 += a3 * g3;
      }
      m[r0 + j] = c00;
      m[r0 + j + 1] = c01;
      m[r0 + j + 2] = c02;
      m[r0 + j + 3] = c03;
      m[r1 + j] = c10;
      m[r1 + j + 1] = c11;
      m[r1 + j + 2] = c12;
      m[r1 + j + 3] = c13;
      m[r2 + j] = c20;
      m[r2 + j + 1] = c21;
      m[r2 + j + 2] = c22;
      m[r2 + j + 3] = c23;
      m[r3 + j] = c30;
      m[r3 + j + 1] = c31;
      m[r3 + j + 2] = c32;
      m[r3 + j + 3] = c33;
    }
    for (let j = N4; j < N; j++) {
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      for (let i = 0, xi = x + k, di = dz + j; i < rows; i++, xi += K, di += N) {
        const g = m[di];
        c0 += m[xi] * g;
        c1 += m[xi + 1] * g;
        c2 += m[xi + 2] * g;
        c3 += m[xi + 3] * g;
      }
      m[r0 + j] = c0;
      m[r1 + j] = c1;
      m[r2 + j] = c2;
      m[r3 + j] = c3;
    }
  }
  for (let k = K4; k < K; k++) {
    const rk = dw + k * N;
    for (let j = 0; j < N; j++) {
      let c = 0;
      for (let i = 0, xi = x + k, di = dz + j; i < rows; i++, xi += K, di += N) c += m[xi] * m[di];
      m[rk + j] = c;
    }
  }
  for (let j = 0; j < N; j++) {
    let c = 0;
    for (let i = 0, di = dz + j; i < rows; i++, di += N) c += m[di];
    m[db + j] = c;
  }
}

/** Σ v² over n values (the squared L2 norm of a gradient range). */
export function sumOfSquares(m: Float32Array, off: number, n: number): number {
  let s = 0;
  for (let i = off, end = off + n; i < end; i++) s += m[i] * m[i];
  return s;
}

export function scaleInPlace(m: Float32Array, off: number, n: number, factor: number): void {
  for (let i = off, end = off + n; i < end; i++) m[i] *= factor;
}

/*
 * Optimizer updates, one parameter tensor at a time: p (parameters), g (gradients) and the
 * optimizer's state are parallel ranges of n values. Weight decay is L2 added to the gradient,
 * as in PyTorch (torch.optim.*, weight_decay).
 */

/** p −= lr·(g + wd·p) */
export function sgdUpdate(
  m: Float32Array,
  p: number,
  g: number,
  n: number,
  lr: number,
  wd: number,
): void {
  for (let i = 0; i < n; i++) {
    const pi = m[p + i];
    m[p + i] = pi - lr * (m[g + i] + wd * pi);
  }
}

/** buf = μ·buf + g;  p −= lr·(nesterov ? g + μ·buf : buf)   (torch.optim.SGD, dampening 0) */
export function momentumUpdate(
  m: Float32Array,
  p: number,
  g: number,
  buf: number,
  n: number,
  lr: number,
  mu: number,
  wd: number,
  nesterov: boolean,
): void {
  for (let i = 0; i < n; i++) {
    const pi = m[p + i];
    const gi = m[g + i] + wd * pi;
    const v = mu * m[buf + i] + gi;
    m[buf + i] = v;
    m[p + i] = pi - lr * (nesterov ? gi + mu * v : v);
  }
}

/** v = ρ·v + (1−ρ)·g²;  p −= lr·g / (√v + ε)   (torch.optim.RMSprop, not centered) */
export function rmspropUpdate(
  m: Float32Array,
  p: number,
  g: number,
  sq: number,
  n: number,
  lr: number,
  rho: number,
  eps: number,
  wd: number,
): void {
  for (let i = 0; i < n; i++) {
    const pi = m[p + i];
    const gi = m[g + i] + wd * pi;
    const v = rho * m[sq + i] + (1 - rho) * gi * gi;
    m[sq + i] = v;
    m[p + i] = pi - (lr * gi) / (Math.sqrt(v) + eps);
  }
}

/**
 * m1 = β1·m1 + (1−β1)·g;  m2 = β2·m2 + (1−β2)·g²;
 * p −= (lr/bc1) · m1 / (√m2/√bc2 + ε)   with bc = 1 − βᵗ   (torch.optim.Adam's formulation)
 */
export function adamUpdate(
  m: Float32Array,
  p: number,
  g: number,
  m1: number,
  m2: number,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  wd: number,
  bc1: number,
  bc2: number,
): void {
  const stepSize = lr / bc1;
  const bc2Sqrt = Math.sqrt(bc2);
  for (let i = 0; i < n; i++) {
    const pi = m[p + i];
    const gi = m[g + i] + wd * pi;
    const a = beta1 * m[m1 + i] + (1 - beta1) * gi;
    const v = beta2 * m[m2 + i] + (1 - beta2) * gi * gi;
    m[m1 + i] = a;
    m[m2 + i] = v;
    m[p + i] = pi - (stepSize * a) / (Math.sqrt(v) / bc2Sqrt + eps);
  }
}

/** Copies rows order[start..start+count) of src [*×width] into the arena at dst. */
export function gatherRows(
  m: Float32Array,
  dst: number,
  src: Float32Array,
  order: Int32Array,
  start: number,
  count: number,
  width: number,
): void {
  if (width >= 16) {
    // Wide rows (images): one block copy per row.
    for (let t = 0; t < count; t++) {
      const s = order[start + t] * width;
      m.set(src.subarray(s, s + width), dst + t * width);
    }
    return;
  }
  for (let t = 0; t < count; t++) {
    const s = order[start + t] * width;
    const d = dst + t * width;
    for (let c = 0; c < width; c++) m[d + c] = src[s + c];
  }
}
