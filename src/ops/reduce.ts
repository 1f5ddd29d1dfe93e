// Op family reduce: forward beside backward.
export {};
