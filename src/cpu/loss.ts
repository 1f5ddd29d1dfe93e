// Softmax cross-entropy reference: logits [B, C] with integer labels, mean loss over the batch.
import { expectInt, expectLength } from './check.js';

function checkLabels(labels: ArrayLike<number>, B: number, C: number, name: string): void {
  expectLength(labels, B, `${name} labels`, '[B]');
  for (let b = 0; b < B; b++) {
    const y = labels[b];
    if (!Number.isInteger(y) || y < 0 || y >= C) throw new Error(`cpu.${name}: labels[${b}] = ${y} is not a class index in [0, ${C})`);
  }
}

/** Row-wise softmax, max-subtracted for stability: logits [B, C] → probs [B, C]. */
export function softmax(logits: Float64Array, B: number, C: number): Float64Array {
  expectInt(B, 'softmax B'); expectInt(C, 'softmax C');
  expectLength(logits, B * C, 'softmax logits', '[B, C]');
  const p = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, logits[b * C + c]);
    let z = 0;
    for (let c = 0; c < C; c++) z += (p[b * C + c] = Math.exp(logits[b * C + c] - mx));
    for (let c = 0; c < C; c++) p[b * C + c] /= z;
  }
  return p;
}

/** loss = (1/B)·Σ_b (logsumexp(logits_b) − logits_b[label_b]); also returns the softmax: logits [B, C], labels [B] → { loss, probs [B, C] }. */
export function softmaxCrossEntropy(logits: Float64Array, labels: ArrayLike<number>, B: number, C: number): { loss: number; probs: Float64Array } {
  checkLabels(labels, B, C, 'softmaxCrossEntropy');
  const probs = softmax(logits, B, C);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, logits[b * C + c]);
    let z = 0;
    for (let c = 0; c < C; c++) z += Math.exp(logits[b * C + c] - mx);
    loss += mx + Math.log(z) - logits[b * C + labels[b]];
  }
  return { loss: loss / B, probs };
}

/** dlogits = dloss·(softmax(logits) − onehot(label)) / B: logits [B, C], labels [B] → dlogits [B, C]. */
export function softmaxCrossEntropyBackward(logits: Float64Array, labels: ArrayLike<number>, B: number, C: number, dloss = 1): Float64Array {
  checkLabels(labels, B, C, 'softmaxCrossEntropyBackward');
  const d = softmax(logits, B, C);
  for (let b = 0; b < B; b++) {
    d[b * C + labels[b]] -= 1;
    for (let c = 0; c < C; c++) d[b * C + c] *= dloss / B;
  }
  return d;
}
