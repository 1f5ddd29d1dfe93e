// Reverse-mode autograd: ops record nodes on a tape; backward() walks it in reverse topological order and
// accumulates gradients (grad += g). One registry names every differentiable op's backward rule.
import { Tensor, runtime } from './tensor.js';
import { grid1d } from './gpu/grid.js';

/** One recorded op: its inputs, its output and whatever the backward rule needs (saved tensors, sizes). */
export interface TapeNode {
  op: string;
  inputs: (Tensor | null)[];
  output: Tensor;
  ctx: Record<string, unknown>;
}

/** A backward rule: given the node and ∂L/∂output, returns ∂L/∂input for each input (null where none). Returned tensors are new. */
export type BackwardRule = (node: TapeNode, gradOut: Tensor) => (Tensor | null)[];

const rules = new Map<string, BackwardRule>();
let gradEnabled = true;

/** Registers the backward rule of a differentiable op (one registry for all of them). */
export function defineBackward(op: string, rule: BackwardRule): void {
  if (rules.has(op)) throw new Error(`backward rule for "${op}" registered twice`);
  rules.set(op, rule);
}

/** Names of every op with a backward rule. */
export function differentiableOps(): string[] {
  return [...rules.keys()].sort();
}

/** True while ops record on the tape. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording (evaluation). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Records `output = op(inputs)` when grad is enabled and an input requires grad; returns output. */
export function record(op: string, inputs: (Tensor | null)[], output: Tensor, ctx: Record<string, unknown> = {}): Tensor {
  if (gradEnabled && inputs.some((t) => t?.requiresGrad)) {
    if (!rules.has(op)) throw new Error(`op "${op}" has no backward rule: register one with defineBackward`);
    output.requiresGrad = true;
    output.node = { op, inputs, output, ctx };
  }
  return output;
}

/** grad += g, in place on the GPU. */
export function accumulateInto(grad: Tensor, g: Tensor): void {
  if (grad.size !== g.size) throw new Error(`gradient of ${grad.describe()} cannot accumulate ${g.describe()}`);
  if (grad.size === 0) return;
  const wg = 64;
  runtime().dispatch(
    { file: 'util.wgsl', entry: 'accumulate', overrides: { WG: wg } },
    { bindings: { y: grad.buffer, x: g.buffer }, params: { n: grad.size, value: 0 }, workgroups: grid1d(grad.size, wg) },
  );
}

/** A copy of t (same shape and dtype; not recorded). */
export function clone(t: Tensor): Tensor {
  const c = Tensor.empty(t.shape, t.dtype);
  if (t.size) runtime().copy(t.buffer, c.buffer, t.size * 4);
  return c;
}

/** A tensor of the given shape filled with `value`. */
export function full(shape: readonly number[], value: number): Tensor {
  const t = Tensor.empty(shape, 'f32');
  if (t.size === 0) return t;
  const wg = 64;
  runtime().dispatch({ file: 'util.wgsl', entry: 'fill', overrides: { WG: wg } }, { bindings: { y: t.buffer }, params: { n: t.size, value }, workgroups: grid1d(t.size, wg) });
  return t;
}

function topoOrder(root: Tensor): TapeNode[] {
  const order: TapeNode[] = [];
  const seen = new Set<TapeNode>();
  // Iterative DFS (deep networks would overflow a recursive one).
  const stack: [TapeNode, number][] = [];
  if (root.node) stack.push([root.node, 0]);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i === 0 && seen.has(node)) {
      stack.pop();
      continue;
    }
    seen.add(node);
    if (i < node.inputs.length) {
      top[1]++;
      const child = node.inputs[i]?.node;
      if (child && !seen.has(child)) stack.push([child, 0]);
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order; // inputs before outputs
}

/**
 * Backpropagates from `loss` (a one-element tensor, or any tensor with `seed` = ∂L/∂loss).
 * Leaf tensors with requiresGrad get `.grad` (accumulated if already set; kept past scopes).
 * Intermediate gradients are freed as soon as their node's rule has run.
 */
export function backward(loss: Tensor, seed?: Tensor): void {
  if (!loss.requiresGrad || !loss.node) throw new Error(`backward(): ${loss.describe()} does not depend on any tensor that requires grad`);
  if (!seed && loss.size !== 1) throw new Error(`backward(): ${loss.describe()} is not a scalar; pass the seed gradient`);
  const order = topoOrder(loss);
  const grads = new Map<Tensor, Tensor>();
  grads.set(loss, seed ?? full(loss.shape, 1));
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    const gOut = grads.get(node.output);
    if (!gOut) continue; // output does not reach the loss
    grads.delete(node.output);
    const rule = rules.get(node.op);
    if (!rule) throw new Error(`no backward rule for op "${node.op}"`);
    const gIns = rule(node, gOut);
    if (gIns.length !== node.inputs.length) throw new Error(`backward rule of "${node.op}" returned ${gIns.length} gradients for ${node.inputs.length} inputs`);
    let gOutUsed = false;
    node.inputs.forEach((inp, j) => {
      let g = gIns[j];
      // One tensor returned for two inputs (x + x) must not alias itself when accumulated.
      if (g && gIns.indexOf(g) < j) g = clone(g);
      if (!inp || !g || !inp.requiresGrad) {
        if (g && g !== gOut) g.dispose();
        return;
      }
      if (g.size !== inp.size) throw new Error(`backward rule of "${node.op}": gradient ${g.describe()} for input ${inp.describe()}`);
      const target = inp.node ? grads.get(inp) : inp.grad ?? undefined;
      if (target) {
        accumulateInto(target, g);
        if (g !== gOut) g.dispose();
      } else {
        let owned = g === gOut ? (gOutUsed = true, gOut) : g;
        // The caller's seed stays the caller's: a gradient that would alias it is copied.
        if (owned === seed) owned = clone(owned);
        if (inp.node) grads.set(inp, owned);
        else inp.grad = owned.keep();
      }
    });
    if (!gOutUsed && gOut !== seed) gOut.dispose();
  }
  for (const g of grads.values()) if (g !== seed) g.dispose();
}
