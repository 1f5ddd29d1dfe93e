// Shape checks shared by the CPU reference kernels: fail up front, naming the array, the expected and the actual size.

/** Throws unless `a.length === n`, naming the array and the shape it should have. */
export function expectLength(a: ArrayLike<number>, n: number, name: string, shape: string): void {
  if (a.length !== n) throw new Error(`cpu: ${name} has length ${a.length}, expected ${n} (${shape})`);
}

/** Throws unless `v` is an integer ≥ min, naming the parameter. */
export function expectInt(v: number, name: string, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`cpu: ${name} must be an integer ≥ ${min}, got ${v}`);
}
