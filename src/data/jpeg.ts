/**
 * JPEG decoding and the downscale to the network's input, for the In-shop reader.
 *
 * Decoder: jpeg-js (pure JavaScript, BSD-3-Clause). Measured against sharp 0.35.5 (libvips 8.18, prebuilt through
 * npm's optional @img/* packages, which do install here) on 200 JPEGs of 256×256, 2-core dev VM, contended:
 * jpeg-js decode + area resize 5.3–7.0 ms/image (decode alone ≈ 4.7), sharp decode + resize 1.8–2.2 ms/image.
 * jpeg-js is chosen anyway: the difference is a one-time cost (≈ 5 vs ≈ 2 min for all 52,712 images; the cache
 * file makes every later run take seconds), and in exchange it is 116 KB of plain JS that esbuild bundles into
 * dist/ (sharp: ≈ 20 MB of per-platform native binaries, kept external like webgpu), and it decodes to the same
 * bytes on every machine and version of libjpeg, so a cache made on one machine equals one made on another.
 *
 * Files are untrusted, and jpeg-js alone is not enough for them: it has no limit on the number of scans (a
 * 486 KB progressive file repeating one scan 3,000 times took 20 s), decodes a file with no scan data to a flat
 * image without an error, and throws raw TypeErrors on some damage (a scan naming an undeclared component).
 * So `checkJpegStructure` walks the markers first — one frame of a kind jpeg-js decodes, 1, 3 or 4 components,
 * pixels and scans within LIMITS, every scan naming declared components and carrying data — and jpeg-js runs with
 * its own pixel and memory caps; any failure is a DataError naming the file.
 */
import { decode as jpegDecode, encode as jpegEncode } from 'jpeg-js';
import { DataError } from '../util/errors.js';
import { LIMITS } from '../util/untrusted.js';

/** Names the decoder and the resize algorithm; part of the cache key, so a change here rebuilds caches. */
export const JPEG_PIPELINE = 'jpeg-js 0.4.x decode, RGB, exact area (box) resample v1';

/** A decoded image: width × height pixels, RGB interleaved (3 bytes per pixel, rows top to bottom). */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/**
 * Decodes a baseline or progressive JPEG (greyscale, YCbCr or CMYK) to RGB; a damaged, non-JPEG or over-limit
 * file is a DataError('corrupt') whose message starts with `what` (the file's path, or a description).
 */
export function decodeJpeg(bytes: Uint8Array, what = 'JPEG data'): RgbImage {
  checkJpegStructure(bytes, what);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpegDecode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: LIMITS.jpegMegapixels, maxMemoryUsageInMB: LIMITS.jpegMemoryMB });
  } catch (e) {
    throw notJpeg(what, e instanceof Error ? e.message : String(e));
  }
  if (!(img.width > 0 && img.height > 0) || img.data.length !== img.width * img.height * 3) {
    throw notJpeg(what, `decoded to ${img.width}×${img.height} with ${img.data.length} bytes`);
  }
  return { width: img.width, height: img.height, rgb: img.data };
}

function notJpeg(what: string, why: string): DataError {
  return new DataError('corrupt', `${what}: not a readable JPEG (${why})`, what);
}

const SOI = 0xd8, EOI = 0xd9, SOS = 0xda;
const isRst = (m: number) => m >= 0xd0 && m <= 0xd7;
// Frame headers jpeg-js decodes: baseline, extended and progressive Huffman DCT. Other SOFn (lossless,
// arithmetic, hierarchical) it cannot.
const DECODABLE_SOF = new Set([0xc0, 0xc1, 0xc2]);
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/**
 * Walks a JPEG's markers without decoding: throws a DataError unless it has one decodable frame of 1, 3 or 4
 * components with sampling factors 1..4 and at most LIMITS.jpegMegapixels, and 1..LIMITS.jpegScans scans that
 * each name declared components and carry entropy-coded data. Linear in the file's size.
 */
export function checkJpegStructure(b: Uint8Array, what = 'JPEG data'): { width: number; height: number; scans: number } {
  const fail = (why: string): never => {
    throw notJpeg(what, why);
  };
  if (b.length < 4 || b[0] !== 0xff || b[1] !== SOI) fail('no JPEG start-of-image marker');
  let width = 0, height = 0, scans = 0;
  let components: Set<number> | null = null;
  let i = 2;
  while (i < b.length) {
    while (i < b.length && b[i] !== 0xff) i++; // stray bytes before a marker: skipped, as libjpeg does
    while (i < b.length && b[i] === 0xff) i++; // fill bytes
    if (i >= b.length) break;
    const m = b[i++];
    if (m === EOI) break;
    if (isRst(m) || m === 0x01) continue;
    if (i + 2 > b.length) fail(`segment 0x${m.toString(16)} at byte ${i - 2} is cut off`);
    const len = (b[i] << 8) | b[i + 1];
    const end = i + len;
    if (len < 2 || end > b.length) fail(`segment 0x${m.toString(16)} at byte ${i - 2} claims ${len} bytes; the file ends first`);
    if (isSof(m)) {
      if (!DECODABLE_SOF.has(m)) fail(`frame type 0xff${m.toString(16)} (lossless, arithmetic or hierarchical) is not supported`);
      if (components) fail('more than one frame header');
      if (len < 8) fail('frame header too short');
      height = (b[i + 3] << 8) | b[i + 4];
      width = (b[i + 5] << 8) | b[i + 6];
      const n = b[i + 7];
      if (width === 0 || height === 0) fail(`frame of ${width}×${height} pixels`);
      if (width * height > LIMITS.jpegMegapixels * 1e6) fail(`frame of ${width}×${height} pixels is over the limit of ${LIMITS.jpegMegapixels} megapixels`);
      if (n !== 1 && n !== 3 && n !== 4) fail(`${n} components; 1 (grey), 3 (YCbCr/RGB) or 4 (CMYK) are decodable`);
      if (len < 8 + 3 * n) fail('frame header too short for its components');
      components = new Set();
      for (let k = 0; k < n; k++) {
        const hv = b[i + 9 + 3 * k];
        if (hv >> 4 < 1 || hv >> 4 > 4 || (hv & 15) < 1 || (hv & 15) > 4) fail(`component ${k} has sampling factors ${hv >> 4}×${hv & 15}; 1..4 are allowed`);
        components.add(b[i + 8 + 3 * k]);
      }
    } else if (m === SOS) {
      if (!components) fail('a scan before the frame header');
      if (++scans > LIMITS.jpegScans) fail(`more than ${LIMITS.jpegScans} scans, the limit`);
      const ns = b[i + 2];
      if (ns < 1 || ns > 4 || len !== 6 + 2 * ns) fail(`scan ${scans} header is malformed (${ns} components in ${len} bytes)`);
      for (let k = 0; k < ns; k++) if (!components!.has(b[i + 3 + 2 * k])) fail(`scan ${scans} names component ${b[i + 3 + 2 * k]}, which the frame does not declare`);
      i = skipEntropyData(b, end);
      if (i === end) fail(`scan ${scans} has no data`);
      continue;
    }
    i = end;
  }
  if (!components) fail('no frame header');
  if (scans === 0) fail('no scan data (header only)');
  return { width, height, scans };
}

// The entropy-coded bytes after a scan header run to the next marker other than a stuffed 0xFF00 or an RSTn.
function skipEntropyData(b: Uint8Array, i: number): number {
  while (i < b.length) {
    if (b[i] === 0xff && i + 1 < b.length && b[i + 1] !== 0 && !isRst(b[i + 1]) && b[i + 1] !== 0xff) return i;
    i++;
  }
  return i;
}

/** Encodes RGB pixels (3 bytes per pixel) as a baseline JPEG of the given quality (1..100); used for fixtures. */
export function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality = 90): Uint8Array {
  if (rgb.length !== width * height * 3) throw new RangeError(`encodeJpeg: ${rgb.length} bytes for ${width}×${height} RGB`);
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgba[j] = rgb[i];
    rgba[j + 1] = rgb[i + 1];
    rgba[j + 2] = rgb[i + 2];
    rgba[j + 3] = 255;
  }
  return new Uint8Array(jpegEncode({ data: rgba, width, height }, quality).data);
}

/** How a non-square image becomes square: scaled per axis ('stretch'), or its centred square cut out first ('crop'). */
export type Fit = 'stretch' | 'crop';

// One axis of an area resample: output o covers source [start + o·len/n, start + (o+1)·len/n); each source pixel
// it touches is weighted by the length of the overlap.
interface AxisWeights {
  first: Int32Array; // per output: first source pixel
  count: Int32Array; // per output: number of source pixels
  offset: Int32Array; // per output: where its weights start in `w`
  w: Float64Array;
}

function axisWeights(start: number, len: number, n: number): AxisWeights {
  const first = new Int32Array(n), count = new Int32Array(n), offset = new Int32Array(n);
  const ws: number[] = [];
  for (let o = 0; o < n; o++) {
    const a = start + (o * len) / n, b = start + ((o + 1) * len) / n;
    const p0 = Math.floor(a), p1 = Math.min(Math.ceil(b), start + len);
    first[o] = p0;
    offset[o] = ws.length;
    for (let p = p0; p < p1; p++) ws.push(Math.min(b, p + 1) - Math.max(a, p));
    count[o] = p1 - p0;
  }
  return { first, count, offset, w: Float64Array.from(ws) };
}

/**
 * Resamples an RGB image to side × side by exact area averaging (a box filter: each output pixel is the mean of
 * the source area it covers, fractional pixels weighted by overlap), written CHW into `out` at `outOffset`
 * (3·side² bytes: the R plane, then G, then B, rows of `side`), like CIFAR-10's records.
 */
export function resizeToChw(img: RgbImage, side: number, fit: Fit = 'stretch', out?: Uint8Array, outOffset = 0): Uint8Array {
  if (!Number.isInteger(side) || side < 1) throw new RangeError(`resizeToChw: side must be a positive integer, got ${side}`);
  const { width: w, height: h, rgb } = img;
  let sx = 0, sy = 0, sw = w, sh = h;
  if (fit === 'crop' && w !== h) {
    const s = Math.min(w, h);
    sx = (w - s) >> 1;
    sy = (h - s) >> 1;
    sw = sh = s;
  }
  const dst = out ?? new Uint8Array(3 * side * side);
  if (dst.length < outOffset + 3 * side * side) throw new RangeError(`resizeToChw: output has ${dst.length} bytes, needs ${outOffset + 3 * side * side}`);
  const X = axisWeights(sx, sw, side), Y = axisWeights(sy, sh, side);
  const norm = (side * side) / (sw * sh); // 1 / (area of one output pixel in source pixels)
  // Horizontal pass over the source rows the crop uses: row-major, side × 3 sums per row.
  const tmp = new Float64Array(sh * side * 3);
  for (let y = 0; y < sh; y++) {
    const rowIn = (sy + y) * w * 3, rowOut = y * side * 3;
    for (let ox = 0; ox < side; ox++) {
      let r = 0, g = 0, b = 0;
      const f = X.first[ox], o = X.offset[ox];
      for (let k = 0; k < X.count[ox]; k++) {
        const wt = X.w[o + k], p = rowIn + (f + k) * 3;
        r += wt * rgb[p];
        g += wt * rgb[p + 1];
        b += wt * rgb[p + 2];
      }
      tmp[rowOut + ox * 3] = r;
      tmp[rowOut + ox * 3 + 1] = g;
      tmp[rowOut + ox * 3 + 2] = b;
    }
  }
  const plane = side * side;
  for (let oy = 0; oy < side; oy++) {
    const f = Y.first[oy] - sy, o = Y.offset[oy];
    for (let ox = 0; ox < side; ox++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < Y.count[oy]; k++) {
        const wt = Y.w[o + k], p = ((f + k) * side + ox) * 3;
        r += wt * tmp[p];
        g += wt * tmp[p + 1];
        b += wt * tmp[p + 2];
      }
      const q = outOffset + oy * side + ox;
      dst[q] = clamp8(r * norm);
      dst[q + plane] = clamp8(g * norm);
      dst[q + 2 * plane] = clamp8(b * norm);
    }
  }
  return dst;
}

function clamp8(v: number): number {
  const r = Math.round(v);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}
