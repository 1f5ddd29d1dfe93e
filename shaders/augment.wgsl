// Data augmentation on the GPU: bytes of a batch of images (uploaded once, CHW per image, uint8 packed 4 per u32)
// → normalised f32 NCHW, with a random crop from the zero-padded image and a random horizontal flip.
// Randomness is an integer hash of (seed, step, slot): the same crops and flips on any adapter.

struct Params {
  n: u32,          // images in the batch
  side: u32,       // image height = width (32 for CIFAR-10)
  pad: u32,        // crop padding in pixels (0: no crop)
  flip: u32,       // 1: random horizontal flip
  seed: u32,
  step: u32,
  per_chunk: u32,  // images per `imagesK` binding
  _pad0: u32,
  mean0: f32, mean1: f32, mean2: f32, _pad1: f32,
  istd0: f32, istd1: f32, istd2: f32, _pad2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> images0: array<u32>;
@group(0) @binding(2) var<storage, read> images1: array<u32>;
@group(0) @binding(3) var<storage, read> index: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;

// A 32-bit integer mixer (xorshift-multiply), good enough to decorrelate per-image choices.
fn mix32(x0: u32) -> u32 {
  var x = x0;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}

fn pixel(img: u32, byte_index: u32) -> u32 {
  let chunk = img / p.per_chunk;
  let w = (img % p.per_chunk) * (3u * p.side * p.side) + byte_index;
  var word: u32;
  if (chunk == 0u) { word = images0[w >> 2u]; } else { word = images1[w >> 2u]; }
  return (word >> ((w & 3u) * 8u)) & 0xffu;
}

// One invocation per output pixel position (n, y, x), all three channels.
@compute @workgroup_size(WG)
fn augment(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let hw = p.side * p.side;
  let i = g.x + g.y * nw.x * WG;
  if (i >= p.n * hw) { return; }
  let b = i / hw;
  let y = (i % hw) / p.side;
  let x = i % p.side;
  let r = mix32(mix32(p.seed ^ mix32(p.step)) ^ b);
  let span = 2u * p.pad + 1u;
  let dy = i32(r % span) - i32(p.pad);
  let dx = i32((r / span) % span) - i32(p.pad);
  var sx = i32(x);
  if (p.flip == 1u && ((r >> 24u) & 1u) == 1u) { sx = i32(p.side) - 1 - sx; }
  sx = sx + dx;
  let sy = i32(y) + dy;
  let inside = sx >= 0 && sy >= 0 && sx < i32(p.side) && sy < i32(p.side);
  let img = index[b];
  let means = array<f32, 3>(p.mean0, p.mean1, p.mean2);
  let istds = array<f32, 3>(p.istd0, p.istd1, p.istd2);
  for (var c = 0u; c < 3u; c++) {
    var v = 0.0;
    if (inside) { v = f32(pixel(img, c * hw + u32(sy) * p.side + u32(sx))); }
    out[((b * 3u + c) * p.side + y) * p.side + x] = (v / 255.0 - means[c]) * istds[c];
  }
}
