// Op family matmul: forward beside backward.
export {};
