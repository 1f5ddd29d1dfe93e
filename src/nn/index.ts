// Layers, models, init, safetensors I/O.
export {};
