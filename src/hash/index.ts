// Binary codes (layout, CPU packing and top-k: src/cpu/codes.ts, re-exported), retrieval metrics, the code database and its file formats.
// The conventions (bit order, ties, metric definitions) are in the doc comments of codes.ts, metrics.ts and codedb.ts.
export * as codes from './codes.js';
export * as metrics from './metrics.js';
export * as codedb from './codedb.js';
export { wordsPerCode, popcount32, unpack as unpackCodes, signPack as signPackCpu, hammingTopK as hammingTopKCpu, type TopK } from '../cpu/codes.js';
export { evaluateRetrievalParallel, defaultRankThreads } from './rank-parallel.js';
export { evaluateRetrieval, mapFromDistanceRows, subsampleQueries, type RetrievalInput, type RetrievalMetrics, type PrPoint } from './metrics.js';
export { CodeDB, type SearchFn } from './codedb.js';
export { GpuHammingIndex, gpuHammingTopK } from './gpu-search.js';
export { evaluateRetrievalGpu } from './gpu-rank.js';
export { topKAccuracy, INSHOP_TOPK, type TopKAccuracyInput, type TopKAccuracy } from './inshop-eval.js';
export * as exporters from './export.js';
export { EXPORT_FORMATS, EXPORT_TARGETS, exportFiles, writeExport, loadRunCodes, defaultExportDir, paddedDim, type ExportFormat } from './export.js';
