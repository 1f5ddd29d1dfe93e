// Op family loss: forward beside backward.
export {};
