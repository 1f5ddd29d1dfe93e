// Dispatch grids that fit the adapter's 65,535-workgroups-per-dimension limit.

/** A 1-D problem of n items in workgroups of `wg` as an [x, y] grid; kernels index i = g.x + g.y * nw.x * WG. */
export function grid1d(n: number, wg: number): [number, number] {
  const groups = Math.ceil(n / wg);
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}
