/**
 * Reading a file as byte chunks for parsers. `fileChunks` yields fresh chunks any consumer may
 * keep; `fileChunksReused` reads into one reused buffer — several times less CPU than a stream on
 * large captures — and is only for consumers that copy whatever they keep past the next chunk
 * (the pcap parser does).
 */
import { open } from 'node:fs/promises';

/** Default chunk size: 1 MiB. */
export const FILE_CHUNK_BYTES = 1 << 20;

/** Chunks of a file, each a new buffer. */
export async function* fileChunks(path: string, chunkBytes = FILE_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    for (;;) {
      const buf = new Uint8Array(chunkBytes);
      const { bytesRead } = await handle.read(buf, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield bytesRead === chunkBytes ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** Chunks of a file read into one buffer: each chunk is valid only until the next is requested. */
export async function* fileChunksReused(path: string, chunkBytes = FILE_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  const buf = new Uint8Array(chunkBytes);
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
