/**
 * A training worker: receives the shared binned data once, then tree indices one at a time, and
 * answers each with the trained tree (its buffers transferred, not copied). -1 ends the worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerJob } from './train-forest.ts';
import { trainTree } from './tree-train.ts';

const job = workerData as WorkerJob;
const port = parentPort;
if (!port) throw new Error('forest-worker must run in a worker thread');
port.on('message', (tree: number) => {
  if (tree < 0) {
    port.close();
    return;
  }
  const arrays = trainTree(job.data, job.targets, job.params, job.seed, tree);
  port.postMessage({ tree, arrays }, [arrays.feature.buffer, arrays.threshold.buffer, arrays.right.buffer, arrays.proba.buffer, arrays.importance.buffer] as ArrayBuffer[]);
});
port.postMessage('ready');
