/**
 * Body of a pcap parse worker (see parallel.ts): parses whole capture files on request, one after
 * the other, exactly as `parsePcap` over `readChunks` does in the main thread (same 1 MiB chunks,
 * so the same offsets), and posts every output (flow batches packed into one moved buffer, dead
 * letters, offsets) and then the file's counters or its error.
 */
import { parentPort } from 'node:worker_threads';
import { HeirError, messageOf } from '../../pipeline/errors.ts';
import { readChunks } from '../../pipeline/sources.ts';
import { parsePcap, pcapStats } from '../ingest-pcap.ts';
import { packBatch, type FileJob, type OutputReply, type WorkerReply } from './parallel.ts';

const port = parentPort;
if (port === null) throw new Error('parse-worker.ts runs only as a worker thread');

/** One output as a message: flow buffers moved, not copied. */
function send(reply: WorkerReply): void {
  const flows = reply.kind === 'output' ? reply.flows : reply.kind === 'done' ? reply.last?.flows : undefined;
  port!.postMessage(reply, flows ? [flows.bytes, flows.layout.buffer as ArrayBuffer] : []);
}

async function parse(job: FileJob): Promise<void> {
  const stats = pcapStats();
  // Each output is held until the next one or the end, so a small capture (one output) costs one message.
  let held: OutputReply | undefined;
  try {
    // A shard of a file's parse sends each output at once: the main thread may be waiting for it.
    const shard = job.options.shard !== undefined && job.options.shard.count > 1;
    for await (const out of parsePcap(readChunks(job.path, { reuse: true }), { ...job.options, input: job.path, stats })) {
      if (held) send(held);
      held = { job: job.id, kind: 'output', flows: out.flows ? packBatch(out.flows) : undefined, deadLetters: out.deadLetters, offset: out.offset };
      if (shard) {
        send(held);
        held = undefined;
      }
    }
    send({ job: job.id, kind: 'done', stats, last: held });
  } catch (error) {
    if (held) send(held);
    const code = error instanceof HeirError ? error.code : undefined;
    send({ job: job.id, kind: 'error', name: error instanceof Error ? error.name : 'Error', code, message: messageOf(error), stats });
  }
}

// Jobs queue up (the main thread sends the next before this one ends) and run one at a time.
const queue: FileJob[] = [];
let running = false;
port.on('message', async (job: FileJob) => {
  queue.push(job);
  if (running) return;
  running = true;
  while (queue.length > 0) await parse(queue.shift() as FileJob);
  running = false;
});
port.postMessage({ job: -1, kind: 'ready' } satisfies WorkerReply);
