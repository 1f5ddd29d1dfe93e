// Worker thread of `evaluateRetrievalParallel` (built to dist/rank-worker.js): receives the evaluation input once,
// then ranks the chunks of queries it is sent and returns each chunk's sums.
import { parentPort, workerData } from 'node:worker_threads';
import { prepareRetrieval, rankChunk } from './metrics.js';

const port = parentPort;
if (!port) throw new Error('rank-worker.js runs as a worker thread of evaluateRetrievalParallel');
const prep = prepareRetrieval(workerData.input);
port.on('message', (m: { chunk: number; from: number; to: number }) => {
  port.postMessage({ chunk: m.chunk, partial: rankChunk(prep, m.from, m.to) });
});
