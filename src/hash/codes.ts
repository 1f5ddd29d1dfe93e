// The code layout and its CPU references (packing, Hamming distance, the exact top-k) live beside the other float64
// references in src/cpu/codes.ts; `hash.codes` keeps them under the name the search and export layers use.
export * from '../cpu/codes.js';
