// The training job: options, loop, checkpoints, evaluation and report.
export { resolveConfig } from './main.js';
export { trainHashing, DivergedError, type TrainOutcome } from './run.js';
export { parseArgs, usage, UsageError, type OptSpec } from '../util/args.js';
export { TRAIN_SPEC, runTag, defaultMargin, type TrainConfig } from './options.js';
export { encode, evaluateAll, quickValidation, metricLines } from './evaluate.js';
export { buildModel } from './model.js';
export { openRun, loadRunModel, evaluateRun, encodeImageFile } from './reopen.js';
export { saveCheckpoint, loadCheckpoint, validateLoopState, checkResumePoint, writeFileAtomic } from './checkpoint.js';
export { ProgressBar, formatDuration } from './progress.js';
export { lineChart } from '../report/svg.js';
export { loadTrainData, type TrainData } from './datasets.js';
export { lookup, lookupImage, formatLookup, CIFAR10_CLASSES, type LookupResult } from './lookup.js';
export { StopRequests, SAME_REQUEST_MS } from './signals.js';
export { lrAt, warmupSteps, warmupText, WARMUP_CAP } from './optimizer.js';
export { lambdaAt, betaAt, lossOptionsAt } from './loss-schedule.js';
export { measureKinks, randomCodes, randomKinkShare, type KinkCount } from './kinks.js';
export { runStudy, aggregateStudy, parseGrid, studyCells, cellConfig, meanSd, type StudyPlan, type StudyCell, type StudyOutcome, type GridAxis } from './study.js';
export { OutputError, outputError, prepareOutputDir } from '../util/fs.js';
