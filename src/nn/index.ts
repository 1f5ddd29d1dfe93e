// Layers, models, init, safetensors I/O.
export * from './safetensors.js';
export * from './module.js';
export * from './io.js';
export * from './init.js';
export * from './layers.js';
export * from './models.js';
