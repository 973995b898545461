/**
 * IPFIX datagram builders for tests (RFC 7011): big-endian integers, template records (with
 * enterprise fields and options scopes), sets and messages.
 */

export const u8 = (v: number): Buffer => Buffer.from([v]);
export const u16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};
export const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
export const u64 = (v: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
};
export const ip4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));

/** A template field: information element, length, and the enterprise number of a vendor field. */
export type Field = readonly [ie: number, length: number, pen?: number];

/** A template record; an options template record when `scopeCount` is given. */
export function templateRecord(id: number, fields: readonly Field[], scopeCount?: number): Buffer {
  const parts = [u16(id), u16(fields.length)];
  if (scopeCount !== undefined) parts.push(u16(scopeCount));
  for (const [ie, length, pen] of fields) parts.push(u16(pen ? ie | 0x8000 : ie), u16(length), ...(pen ? [u32(pen)] : []));
  return Buffer.concat(parts);
}

/** A set: its id (2 templates, 3 options templates, ≥ 256 data), its length, its records. */
export function set(id: number, ...records: Buffer[]): Buffer {
  const body = Buffer.concat(records);
  return Buffer.concat([u16(id), u16(body.length + 4), body]);
}

/** An IPFIX message of observation domain `domain` with these sets (export time fixed). */
export function ipfix(domain: number, sequence: number, ...sets: Buffer[]): Buffer {
  const body = Buffer.concat(sets);
  return Buffer.concat([u16(10), u16(body.length + 16), u32(1709287200), u32(sequence), u32(domain), body]);
}
