// Test helper (not a test file): a float64 CPU forward/backward of an nn module tree, composed from the src/cpu
// references, with the module's own parameter values. Used by the whole-network tests.
import * as tq from '../dist/index.js';

const { nn, cpu } = tq;

/** Every parameter and buffer of a module as float64, by dotted name. */
export async function readState(model) {
  const out = new Map();
  for (const [n, t] of model.namedState()) out.set(n, Float64Array.from(await t.toArray()));
  return out;
}

/**
 * Runs `model` in float64 on the CPU. P: Map name → Float64Array (parameters and buffers). x: Float64Array, shape: its
 * shape. Returns { y, shape, backward(dy) → { dx, grads: Map name → Float64Array } , running: Map name → new running stats }.
 * training: BatchNorm uses batch statistics (and reports updated running stats) like the GPU in train mode.
 */
export function cpuForward(model, P, x, shape, training = true) {
  const running = new Map();
  const backwardOf = (tape) => (dy, G) => {
    let g = dy;
    for (let i = tape.length - 1; i >= 0; i--) g = tape[i](g, G);
    return g;
  };
  const run = (m, prefix, x, shape, tape) => {
    const name = (n) => (prefix ? `${prefix}.${n}` : n);
    if (m instanceof nn.Sequential) {
      for (const [n, c] of m.namedChildren()) [x, shape] = run(c, name(n), x, shape, tape);
      return [x, shape];
    }
    if (m instanceof nn.Conv2d) {
      const [N, Cin, H, W] = shape;
      const g = { N, Cin, H, W, Cout: m.cout, KH: m.kernel, KW: m.kernel, stride: m.stride, padding: m.padding };
      const w = P.get(name('weight')), b = m.bias ? P.get(name('bias')) : null;
      const y = cpu.conv2d(x, w, b, g);
      const { OH, OW } = cpu.conv2dOutShape(g);
      tape.push((dy, G) => {
        const { dw, db } = cpu.conv2dBackwardWeights(x, dy, g);
        G.set(name('weight'), dw);
        if (b) G.set(name('bias'), db);
        return cpu.conv2dBackwardData(dy, w, g);
      });
      return [y, [N, m.cout, OH, OW]];
    }
    if (m instanceof nn.Linear) {
      const [N] = shape;
      const o = { M: N, N: m.outFeatures, K: m.inFeatures, transB: true, bias: m.bias ? P.get(name('bias')) : null };
      const w = P.get(name('weight'));
      const y = cpu.gemm(x, w, o);
      tape.push((dy, G) => {
        const r = cpu.gemmBackward(x, w, dy, { ...o, bias: null });
        G.set(name('weight'), r.dB);
        if (m.bias) G.set(name('bias'), r.dbias);
        return r.dA;
      });
      return [y, [N, m.outFeatures]];
    }
    if (m instanceof nn.BatchNorm2d) {
      const [N, C, H, W] = shape;
      const s = { N, C, H, W, eps: m.opts.eps ?? 1e-5 };
      const gamma = P.get(name('weight')), beta = P.get(name('bias'));
      if (!training) return [cpu.batchNorm2dEval(x, gamma, beta, P.get(name('running_mean')), P.get(name('running_var')), s), shape];
      const r = cpu.batchNorm2dTrain(x, gamma, beta, s);
      const u = cpu.batchNorm2dUpdateRunning(P.get(name('running_mean')), P.get(name('running_var')), r.mean, r.var, N * H * W, m.opts.momentum ?? 0.1);
      running.set(name('running_mean'), u.runMean);
      running.set(name('running_var'), u.runVar);
      tape.push((dy, G) => {
        const b = cpu.batchNorm2dBackward(dy, x, gamma, r.mean, r.invStd, s);
        G.set(name('weight'), b.dgamma);
        G.set(name('bias'), b.dbeta);
        return b.dx;
      });
      return [r.y, shape];
    }
    if (m instanceof nn.ReLU) {
      const y = cpu.relu(x);
      tape.push((dy) => cpu.reluBackward(dy, y));
      return [y, shape];
    }
    if (m instanceof nn.Tanh) {
      const y = cpu.tanh(x);
      tape.push((dy) => cpu.tanhBackward(dy, y));
      return [y, shape];
    }
    if (m instanceof nn.MaxPool2d || m instanceof nn.AvgPool2d) {
      const [N, C, H, W] = shape;
      const g = { N, C, H, W, kernel: m.kernel, stride: m.opts.stride ?? m.kernel, padding: m.opts.padding ?? 0 };
      const { OH, OW } = cpu.pool2dOutShape(g);
      if (m instanceof nn.MaxPool2d) {
        const { y, argmax } = cpu.maxPool2d(x, g);
        tape.push((dy) => cpu.maxPool2dBackward(dy, argmax, g));
        return [y, [N, C, OH, OW]];
      }
      tape.push((dy) => cpu.avgPool2dBackward(dy, g));
      return [cpu.avgPool2d(x, g), [N, C, OH, OW]];
    }
    if (m instanceof nn.Flatten) {
      tape.push((dy) => dy);
      return [x, [shape[0], shape.slice(1).reduce((a, b) => a * b, 1)]];
    }
    if (m instanceof nn.BasicBlock) {
      // Two branches from x, each with its own tape; their input gradients add.
      const tm = [], ts = [];
      const [a, aShape] = run(m.main, name('main'), x, shape, tm);
      const b = m.shortcut ? run(m.shortcut, name('shortcut'), x, shape, ts)[0] : x;
      const y = cpu.relu(cpu.add(a, b));
      tape.push((dy, G) => {
        const dz = cpu.reluBackward(dy, y);
        const dxm = backwardOf(tm)(dz, G);
        return cpu.add(dxm, m.shortcut ? backwardOf(ts)(dz, G) : dz);
      });
      return [y, aShape];
    }
    throw new Error(`cpuForward: no float64 reference for ${m.constructor.name} at "${prefix}"`);
  };
  const tape = [];
  const [y, yShape] = run(model, '', x, shape, tape);
  return {
    y,
    shape: yShape,
    running,
    backward(dy) {
      const grads = new Map();
      return { dx: backwardOf(tape)(dy, grads), grads };
    },
  };
}
