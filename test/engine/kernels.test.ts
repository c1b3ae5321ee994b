import { describe, expect, it } from "vitest";
import { ACT_LINEAR, ACT_RELU, ACT_TANH } from "../../src/engine/activations.ts";
import {
  backwardInput,
  backwardWeights,
  denseForward,
  derivative,
} from "../../src/engine/kernels.ts";

/** Fills m[off, off+n) with small deterministic values, some exactly zero (the skip path). */
function fill(m: Float32Array, off: number, n: number, salt: number): void {
  for (let i = 0; i < n; i++) {
    const v = Math.sin(i * 12.9898 + salt * 78.233) * 0.9;
    m[off + i] = i % 7 === 3 ? 0 : v;
  }
}

// Shapes around the 4×4 blocking: multiples, remainders, single rows and columns.
const SHAPES = [
  [1, 1, 1],
  [1, 5, 3],
  [3, 4, 4],
  [4, 4, 4],
  [5, 7, 9],
  [8, 3, 1],
  [9, 10, 6],
  [13, 17, 11],
];

describe("the blocked kernels agree with the textbook triple loops", () => {
  for (const [rows, K, N] of SHAPES) {
    it(`forward, backward-input and weight gradients for rows=${rows} K=${K} N=${N}`, () => {
      const m = new Float32Array(4096);
      const x = 0;
      const w = 400;
      const b = 800;
      const y = 900;
      const dz = 1300;
      const dx = 1700;
      const dw = 2100;
      const db = 2500;
      fill(m, x, rows * K, 1);
      fill(m, w, K * N, 2);
      fill(m, b, N, 3);
      fill(m, dz, rows * N, 4);
      denseForward(m, x, w, b, y, rows, K, N, ACT_TANH, 0);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < N; j++) {
          let s = m[b + j]!;
          for (let k = 0; k < K; k++) s += m[x + i * K + k]! * m[w + k * N + j]!;
          expect(m[y + i * N + j]).toBeCloseTo(Math.tanh(s), 5);
        }
      }
      // X doubles as "previous activations" for the fused derivative (relu here).
      backwardInput(m, dz, w, dx, x, rows, N, K, ACT_RELU, 0);
      for (let i = 0; i < rows; i++) {
        for (let k = 0; k < K; k++) {
          let s = 0;
          for (let j = 0; j < N; j++) s += m[dz + i * N + j]! * m[w + k * N + j]!;
          const expected = s * derivative(m[x + i * K + k]!, ACT_RELU, 0);
          expect(m[dx + i * K + k]).toBeCloseTo(expected, 5);
        }
      }
      backwardWeights(m, x, dz, dw, db, rows, K, N);
      for (let k = 0; k < K; k++) {
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let i = 0; i < rows; i++) s += m[x + i * K + k]! * m[dz + i * N + j]!;
          expect(m[dw + k * N + j]).toBeCloseTo(s, 5);
        }
      }
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let i = 0; i < rows; i++) s += m[dz + i * N + j]!;
        expect(m[db + j]).toBeCloseTo(s, 5);
      }
    });
  }

  it("adds the bias and applies no activation for linear layers", () => {
    const m = new Float32Array([1, 2, /* W */ 3, 4, /* b */ 0.5, /* y */ 0]);
    denseForward(m, 0, 2, 4, 5, 1, 2, 1, ACT_LINEAR, 0);
    expect(m[5]).toBe(1 * 3 + 2 * 4 + 0.5);
  });
});
