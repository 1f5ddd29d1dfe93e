// Op family tql: forward beside backward.
export {};
