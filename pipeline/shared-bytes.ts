/**
 * One byte buffer per thread holding both the reused chunk buffer a file is read into
 * (pipeline/file-chunks.ts) and the slabs the pcap assembler carves inspection buffers from
 * (operators/pcap/flow-assembler.ts). Payload kept from a chunk is then copied with one
 * `copyWithin` over the whole buffer: no view object per copy (a `set()` needs its source as a
 * view, about 100 bytes of garbage and 20 ns for each of the ~32,000 copies of a 100 MB capture).
 *
 * The read region is lent to one reader at a time; the slab region is carved once and never
 * given back (the assembler pools what it carves). When a region is taken or too small, callers
 * allocate as before: only the copies between the two regions take the shortcut.
 */

/** Bytes of the read region: the default chunk size (1 MiB) plus the byte a read past the end of a file takes. */
export const SHARED_READ_BYTES = (1 << 20) + 8;
/** Bytes of the slab region (inspection buffers of the flows held at once; a 100 MB capture used 1 MB). */
export const SHARED_SLAB_BYTES = 4 << 20;

let whole: Uint8Array<ArrayBuffer> | null = null;
let readLent = false;
let slabUsed = 0;

/** The whole shared buffer (made at first use; its pages are touched only as they are used). */
export function sharedBytes(): Uint8Array<ArrayBuffer> {
  whole ??= new Uint8Array(SHARED_READ_BYTES + SHARED_SLAB_BYTES);
  return whole;
}

/** The read region's first `bytes` bytes, lent until `returnRead`; null when lent already or too small. */
export function lendRead(bytes: number): Uint8Array<ArrayBuffer> | null {
  if (readLent || bytes > SHARED_READ_BYTES) return null;
  readLent = true;
  return sharedBytes().subarray(0, bytes);
}

/** Give back a buffer `lendRead` lent (any other buffer is ignored); true when it was the read region. */
export function returnRead(buf: Uint8Array): boolean {
  if (whole === null || buf.buffer !== whole.buffer || buf.byteOffset !== 0) return false;
  readLent = false;
  return true;
}

/** `bytes` bytes of the slab region (8-byte aligned, never handed out twice); null when it is used up. */
export function carveSlab(bytes: number): Uint8Array<ArrayBuffer> | null {
  const size = (bytes + 7) & ~7;
  if (slabUsed + size > SHARED_SLAB_BYTES) return null;
  const at = SHARED_READ_BYTES + slabUsed;
  slabUsed += size;
  return sharedBytes().subarray(at, at + bytes);
}

/** True when `buf` is a view of the shared buffer (so `copyWithin` over `sharedBytes()` reaches it). */
export function isShared(buf: Uint8Array): boolean {
  return whole !== null && buf.buffer === whole.buffer;
}
