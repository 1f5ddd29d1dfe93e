// Op family elementwise: forward beside backward.
export {};
