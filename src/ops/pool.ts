// Op family pool: forward beside backward.
export {};
