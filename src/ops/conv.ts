// Op family conv: forward beside backward.
export {};
