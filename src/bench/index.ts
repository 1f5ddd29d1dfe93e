// Benchmarks: the timing harness and ceilings, dispatch capture/replay, and the three benchmark programs' logic.
export * from './harness.js';
export { capture, replay, setPhase, commandName, commandFlops, type Command, type Capture } from './capture.js';
export { measure, formatCeilingSweep, ceilingsJSON, formatTable, parseArgs, header, fmt, randomValues, randomWords } from './util.js';
export { runKernelBench, type KernelRow, type KernelReport, type KernelBenchOptions, type ConvPeerRow } from './kernels.js';
export { runStepBench, type StepReport, type StepKernelRow, type StepBenchOptions } from './step.js';
export { runSearchBench, checkSearchOptions, type SearchReport, type SearchBenchOptions } from './search.js';
export { hostCpu, cpuTimes, stealShare, formatSteal, type CpuTimes } from '../util/host.js';
export { parsePeerReport, readPeerFile, runPeer, peerPython, formatPeerRatio, takePeerArg, PEER_SCRIPT, type PeerReport, type PeerStep, type PeerSearch, type PeerConvs, type PeerConvRow } from './peers.js';
