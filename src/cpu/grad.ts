// Finite-difference gradients for tests.

/** Central differences in float64: g[i] = (fn(x + eps·e_i) − fn(x − eps·e_i)) / (2·eps); x is not modified: x [n] → g [n]. */
export function numericalGrad(fn: (x: Float64Array) => number, x: Float64Array, eps = 1e-6): Float64Array {
  const xc = x.slice();
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    xc[i] = x[i] + eps;
    const up = fn(xc);
    xc[i] = x[i] - eps;
    const down = fn(xc);
    xc[i] = x[i];
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}
