// model.safetensors must load into the equivalent PyTorch module with load_state_dict(strict=True): every name,
// dtype and shape of its state_dict, BatchNorm's int64 num_batches_tracked included. The table below is written by
// hand from this PyTorch module (not from our code):
//
//   class DSH(nn.Module):                      # bits = 48, batch norm
//     def __init__(self):
//       super().__init__()
//       self.features = nn.Sequential(
//         nn.Conv2d(3, 32, 5, padding=2, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
//         nn.Conv2d(32, 32, 5, padding=2, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.AvgPool2d(3, 2, 1),
//         nn.Conv2d(32, 64, 5, padding=2, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.AvgPool2d(3, 2, 1))
//       self.flatten = nn.Flatten()
//       self.hash = nn.Sequential(nn.Linear(1024, 500), nn.ReLU(), nn.Linear(500, 48))
//       self.tanh = nn.Tanh()
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tq from '../dist/index.js';

const { nn, Tensor, scope } = tq;
const dir = mkdtempSync(join(tmpdir(), 'tqhash-torch-'));

const bn = (prefix, c) => [
  [`${prefix}.weight`, 'F32', [c]], [`${prefix}.bias`, 'F32', [c]], [`${prefix}.running_mean`, 'F32', [c]],
  [`${prefix}.running_var`, 'F32', [c]], [`${prefix}.num_batches_tracked`, 'I64', []],
];
const TORCH_STATE_DICT = [
  ['features.0.weight', 'F32', [32, 3, 5, 5]], ...bn('features.1', 32),
  ['features.4.weight', 'F32', [32, 32, 5, 5]], ...bn('features.5', 32),
  ['features.8.weight', 'F32', [64, 32, 5, 5]], ...bn('features.9', 64),
  ['hash.0.weight', 'F32', [500, 1024]], ['hash.0.bias', 'F32', [500]],
  ['hash.2.weight', 'F32', [48, 500]], ['hash.2.bias', 'F32', [48]],
];

test.before(async () => { await tq.init(); });
test.after(async () => { await tq.gpu.disposeRuntime(); });

test('model.safetensors of the dsh net has exactly the names, dtypes and shapes of the PyTorch state_dict', async () => {
  const model = nn.dshNet({ bits: 48, batchNorm: true, seed: 1 });
  const path = join(dir, 'model.safetensors');
  await nn.saveModel(model, path);
  const got = Object.entries(nn.readSafetensors(path).tensors).map(([k, t]) => [k, t.dtype, t.shape]);
  const key = (rows) => rows.map((r) => JSON.stringify(r)).sort();
  assert.equal(key(got), key(TORCH_STATE_DICT));
  model.dispose();
});

test('num_batches_tracked counts training forwards, as PyTorch does, and loads back', async () => {
  const model = nn.dshNet({ bits: 12, batchNorm: true, seed: 1 });
  model.train();
  for (let i = 0; i < 2; i++) scope(() => { model.forward(Tensor.from(new Float32Array(2 * 3 * 32 * 32).fill(0.5), [2, 3, 32, 32])); });
  model.eval();
  scope(() => { model.forward(Tensor.from(new Float32Array(3 * 32 * 32), [1, 3, 32, 32])); });
  const sd = await nn.stateDict(model);
  assert.equal(sd['features.1.num_batches_tracked'].data, BigInt64Array.of(2n));
  const other = nn.dshNet({ bits: 12, batchNorm: true, seed: 2 });
  nn.loadStateDict(other, sd);
  assert.equal((await nn.stateDict(other))['features.9.num_batches_tracked'].data, BigInt64Array.of(2n));
  model.dispose();
  other.dispose();
});

test.run();
