/**
 * Reading a regular file as byte chunks for parsers. `fileChunks` yields fresh chunks any consumer
 * may keep; `fileChunksReused` reads into one reused buffer — several times less CPU than a stream
 * on large captures — and is only for consumers that copy whatever they keep past the next chunk
 * (the pcap parser does). Buffers are no larger than the file, and the reused ones are pooled
 * across files, so many small captures cost no megabyte allocation each.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { lendRead, returnRead } from './shared-bytes.ts';

/** Default chunk size: 1 MiB. */
export const FILE_CHUNK_BYTES = 1 << 20;

/** Reused buffers of finished reads, by size (a few: one per reader running at once). */
const pool: Uint8Array[] = [];
const POOL_MAX = 4;

function take(bytes: number): Uint8Array {
  for (let i = 0; i < pool.length; i++) {
    if (pool[i].length >= bytes) return pool.splice(i, 1)[0];
  }
  return new Uint8Array(bytes);
}

function give(buf: Uint8Array): void {
  if (pool.length < POOL_MAX) pool.push(buf);
}

/**
 * Chunks of a regular file open as `fd` (of `size` bytes; the descriptor stays the caller's), read
 * synchronously from the start: fresh buffers, or one reused buffer when `reuse`. A read from the
 * page cache takes well under a millisecond, less than a round trip through the thread pool
 * (which a busy machine delays). Buffers are no larger than the file (plus one byte, so the end
 * shows in the same read).
 */
export function* fdChunks(fd: number, size: number, reuse: boolean, chunkBytes = FILE_CHUNK_BYTES): Generator<Uint8Array> {
  const bytes = Math.min(chunkBytes, size + 1);
  let position = 0;
  if (!reuse) {
    for (;;) {
      const buf = new Uint8Array(bytes);
      const n = readSync(fd, buf, 0, bytes, position);
      if (n === 0) return;
      position += n;
      yield n === bytes ? buf : buf.subarray(0, n);
    }
  }
  // The thread's shared read region when free (the pcap assembler copies kept payload out of it
  // without a view: pipeline/shared-bytes.ts), else a pooled buffer.
  const buf = lendRead(bytes) ?? take(bytes);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, bytes, position);
      if (n === 0) return;
      position += n;
      yield buf.subarray(0, n);
    }
  } finally {
    if (!returnRead(buf)) give(buf);
  }
}

/** Chunks of a file, each a new buffer. */
export async function* fileChunks(path: string, chunkBytes = FILE_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  yield* chunksOfPath(path, false, chunkBytes);
}

/** Chunks of a file read into one buffer: each chunk is valid only until the next is requested. */
export async function* fileChunksReused(path: string, chunkBytes = FILE_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  yield* chunksOfPath(path, true, chunkBytes);
}

function* chunksOfPath(path: string, reuse: boolean, chunkBytes: number): Generator<Uint8Array> {
  const fd = openSync(path, 'r');
  try {
    yield* fdChunks(fd, fstatSync(fd).size, reuse, chunkBytes);
  } finally {
    closeSync(fd);
  }
}
