// Op family quantize: sign + bit packing of descriptors into binary codes (not differentiable: evaluation only).
import { Tensor, runtime } from '../tensor.js';
import { grid1d } from '../gpu/grid.js';
import { knob } from '../gpu/knobs.js';
// The code layout (words per code, bit order) has one owner, the CPU reference's src/cpu/codes.ts (no GPU imports).
import { wordsPerCode } from '../cpu/codes.js';

const wg = (): number => knob('ops.WG');


/**
 * Sign quantisation with bit packing: f [n, k] f32 → codes [n, ceil(k/32)] u32; bit i of a row = bit (i mod 32) of word
 * floor(i/32), 1 iff f ≥ 0 (so 0 and −0 give 1, NaN gives 0), unused high bits 0.
 */
export function signPack(f: Tensor): Tensor {
  if (f.dtype !== 'f32' || f.shape.length !== 2) throw new Error(`signPack: f ${f.describe()} must be f32 [n, k]`);
  const [n, k] = f.shape;
  if (k < 1) throw new Error(`signPack: f ${f.describe()} has no columns; codes need k ≥ 1 bits`);
  const words = wordsPerCode(k);
  const codes = Tensor.empty([n, words], 'u32', 'codes');
  if (n > 0) {
    runtime().dispatch({ file: 'quantize.wgsl', entry: 'sign_pack', overrides: { WG: wg() } }, {
      bindings: { f: f.buffer, codes: codes.buffer },
      params: { n, k, words },
      workgroups: grid1d(n * words, wg()),
    });
  }
  return codes;
}
