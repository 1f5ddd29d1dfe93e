// Op family norm: forward beside backward.
export {};
