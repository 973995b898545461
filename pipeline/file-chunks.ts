/**
 * Reading a file as byte chunks for parsers. `fileChunks` yields fresh chunks any consumer may
 * keep; `fileChunksReused` reads into one reused buffer — several times less CPU than a stream on
 * large captures — and is only for consumers that copy whatever they keep past the next chunk
 * (the pcap parser does). Buffers are no larger than the file, and the reused ones are pooled
 * across files, so many small captures cost no megabyte allocation each.
 */
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

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
 * Chunks of an open file from `position` on (the handle stays the caller's): fresh buffers, or
 * one reused buffer when `reuse`. `size` is a regular file's size (it bounds the buffer); without
 * it the file is read sequentially (a pipe).
 */
export async function* handleChunks(handle: FileHandle, options: { position?: number; size?: number; reuse?: boolean; chunkBytes?: number } = {}): AsyncGenerator<Uint8Array> {
  const chunkBytes = options.chunkBytes ?? FILE_CHUNK_BYTES;
  // Without a size (a pipe or device), reads go on from the current position.
  let position: number | null = options.size === undefined ? null : (options.position ?? 0);
  // A regular file's remaining bytes (plus one, to see the end) bound the buffer.
  const bytes = options.size !== undefined ? Math.min(chunkBytes, Math.max(1, options.size - (position ?? 0) + 1)) : chunkBytes;
  if (!options.reuse) {
    for (;;) {
      const buf = new Uint8Array(bytes);
      const { bytesRead } = await handle.read(buf, 0, bytes, position);
      if (bytesRead === 0) return;
      if (position !== null) position += bytesRead;
      yield bytesRead === bytes ? buf : buf.subarray(0, bytesRead);
    }
  }
  const buf = take(bytes);
  try {
    for (;;) {
      // A regular file is read synchronously: a read from the page cache takes well under a
      // millisecond, less than a round trip through the thread pool (which a busy machine delays).
      const bytesRead = position !== null ? readSync(handle.fd, buf, 0, bytes, position) : (await handle.read(buf, 0, bytes, null)).bytesRead;
      if (bytesRead === 0) return;
      if (position !== null) position += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    give(buf);
  }
}

/** Chunks of a file, each a new buffer. */
export async function* fileChunks(path: string, chunkBytes = FILE_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    yield* handleChunks(handle, { size: (await handle.stat()).size, chunkBytes });
  } finally {
    await handle.close();
  }
}

/** Chunks of a file read into one buffer: each chunk is valid only until the next is requested. */
export async function* fileChunksReused(path: string, chunkBytes = FILE_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    yield* handleChunks(handle, { size: (await handle.stat()).size, reuse: true, chunkBytes });
  } finally {
    await handle.close();
  }
}
