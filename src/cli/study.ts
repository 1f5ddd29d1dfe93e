// `tqhash study --grid 'KEY=V1,V2 …' [train options]`: a grid of training runs, resumable, aggregated with seeds
// (the runner and its arguments: src/train/study.ts).
import { studyMain } from '../train/study.js';

export const summary = 'a grid of training runs (losses × bits × seeds …), resumable, aggregated into mean ± sd';

/** Runs the study command; 0 done, 1 a cell diverged, 2 a user mistake, 130/143 stopped by a signal. */
export function main(argv: string[]): Promise<number> {
  return studyMain(argv);
}
