// Binary codes (layout, CPU packing and top-k), the code database and its file formats, retrieval metrics.
export { wordsPerCode, signPackCpu, unpackCodes, popcount32, hammingRow, hammingTopKCpu } from './bits.js';
export { evaluateRetrieval, binaryRetrieval, realRetrieval, type RetrievalInput, type RetrievalMetrics, type PrPoint } from './ranking.js';
export { CodeDB, type SearchFn } from './database.js';
