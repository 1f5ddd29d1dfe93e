// Op family quantize: forward beside backward.
export {};
