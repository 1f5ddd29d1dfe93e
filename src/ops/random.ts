// Op family random: forward beside backward.
export {};
