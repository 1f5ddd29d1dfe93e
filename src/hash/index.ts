// Binary codes (layout, CPU packing and top-k), the code database and its file formats, retrieval metrics.
export { wordsPerCode, signPackCpu, unpackCodes, popcount32, hammingRow, hammingTopKCpu } from './bits.js';
export { evaluateRetrieval, binaryRetrieval, realRetrieval, type RetrievalInput, type RetrievalMetrics, type PrPoint } from './ranking.js';
export { CodeDB, type SearchFn } from './database.js';
// A second, independent implementation of the same job (written in parallel): kept side by side under namespaces
// until one is chosen; its conventions are in the doc comments of codes.ts, metrics.ts and codedb.ts.
export * as codes from './codes.js';
export * as metrics from './metrics.js';
export * as codedb from './codedb.js';
