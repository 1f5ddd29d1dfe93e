// Op family hamming: forward beside backward.
export {};
