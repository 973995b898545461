/**
 * Byte helpers shared by the L7 dissectors: ASCII comparisons without building strings, bounded
 * text extraction, and the hashes the facts use (passwords only ever leave as SHA-256 hex).
 */
// One-shot crypto.hash: several times cheaper than createHash for short inputs.
import { hash } from 'node:crypto';

/** True when `buf` holds the ASCII `text` at `at`. */
export function hasAscii(buf: Uint8Array, text: string, at = 0): boolean {
  if (at < 0 || at + text.length > buf.length) return false;
  for (let i = 0; i < text.length; i++) if (buf[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Like hasAscii, ignoring ASCII letter case (`text` given in lower case). */
export function hasAsciiNoCase(buf: Uint8Array, text: string, at = 0): boolean {
  if (at < 0 || at + text.length > buf.length) return false;
  for (let i = 0; i < text.length; i++) {
    let b = buf[at + i];
    if (b >= 65 && b <= 90) b += 32;
    if (b !== text.charCodeAt(i)) return false;
  }
  return true;
}

/** Offset of ASCII `text` in `buf[from, end)`, or -1. Case-insensitive when `noCase` (text in lower case). */
export function indexOfAscii(buf: Uint8Array, text: string, from = 0, end = buf.length, noCase = false): number {
  const first = text.charCodeAt(0);
  for (let i = from; i + text.length <= end; i++) {
    let b = buf[i];
    if (noCase && b >= 65 && b <= 90) b += 32;
    if (b === first && (noCase ? hasAsciiNoCase(buf, text, i) : hasAscii(buf, text, i))) return i;
  }
  return -1;
}

/** ASCII letters to lower case, other bytes as they are (the folding of `hasAsciiNoCase`). */
const LOWER = Uint8Array.from({ length: 256 }, (_, b) => (b >= 65 && b <= 90 ? b + 32 : b));

/**
 * An ASCII text (given in lower case) searched for in any letter case, skipping ahead the way of
 * Boyer-Moore-Horspool: the byte under the text's last position tells how far the text can move
 * without passing a match (its whole length for a byte the text does not hold), so most bytes are
 * never looked at. The same matches as `indexOfAscii(buf, text, from, end, true)`.
 */
export class NoCaseNeedle {
  private readonly text: string;
  private readonly last: number;
  private readonly lastByte: number;
  /** Shift for each (lower-cased) byte under the text's last position. */
  private readonly shift = new Uint8Array(256);

  constructor(text: string) {
    if (text.length === 0 || text.length > 255 || text !== text.toLowerCase() || /[^\x00-\x7f]/.test(text)) throw new Error(`needle must be 1-255 lower-case ASCII characters: ${JSON.stringify(text)}`);
    this.text = text;
    this.last = text.length - 1;
    this.lastByte = text.charCodeAt(this.last);
    this.shift.fill(text.length);
    for (let j = 0; j < this.last; j++) this.shift[text.charCodeAt(j)] = this.last - j;
  }

  /** Offset of the first match in `buf[from, end)`, or -1. */
  find(buf: Uint8Array, from = 0, end = buf.length): number {
    const shift = this.shift;
    const last = this.last;
    const stop = Math.min(end, buf.length);
    for (let i = Math.max(from, 0) + last; i < stop; ) {
      const b = LOWER[buf[i]];
      if (b === this.lastByte && hasAsciiNoCase(buf, this.text, i - last)) return i - last;
      i += shift[b];
    }
    return -1;
  }
}

// Node's native Latin-1 decoder (what Buffer#toString('latin1') calls), usable on any Uint8Array.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

/** Bytes as Latin-1 text (every byte one character). */
export function latin1(buf: Uint8Array, start = 0, end = buf.length): string {
  const from = Math.max(0, start);
  const to = Math.min(end, buf.length);
  if (to <= from) return '';
  // A few characters are cheaper in a loop than through a native call; longer text natively.
  if (to - from <= 12) {
    let s = '';
    for (let i = from; i < to; i++) s += String.fromCharCode(buf[i]);
    return s;
  }
  return latin1Slice.call(buf, from, to);
}

/** Slots of the table of recent texts `latin1Interned` hands out again. */
const INTERNED_SLOTS = 1024;
const interned: string[] = new Array<string>(INTERNED_SLOTS).fill('');

/**
 * `latin1` for texts that repeat from flow to flow (server names, ALPN protocol ids): the text is
 * looked up by a hash of its bytes in a small table of recent texts and confirmed character by
 * character, so a repeated text costs no new string (and is the same string object as before,
 * which makes later comparisons of it cheap). Texts over 64 bytes are made as by `latin1`.
 */
export function latin1Interned(buf: Uint8Array, start = 0, end = buf.length): string {
  const from = Math.max(0, start);
  const to = Math.min(end, buf.length);
  const n = to - from;
  if (n <= 0 || n > 64) return latin1(buf, from, to);
  let h = n;
  for (let i = from; i < to; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  const slot = (h ^ (h >>> 16)) & (INTERNED_SLOTS - 1);
  const known = interned[slot];
  if (known.length === n) {
    let k = 0;
    while (k < n && known.charCodeAt(k) === buf[from + k]) k++;
    if (k === n) return known;
  }
  const text = latin1(buf, from, to);
  interned[slot] = text;
  return text;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** Bytes as UTF-8 text (invalid sequences replaced). */
export function utf8(buf: Uint8Array, start = 0, end = buf.length): string {
  return utf8Decoder.decode(buf.subarray(start, end));
}

/** End of the line starting at `start` (index of CR or LF, or `end`). */
export function lineEnd(buf: Uint8Array, start: number, end = buf.length): number {
  for (let i = start; i < end; i++) if (buf[i] === 13 || buf[i] === 10) return i;
  return end;
}

/**
 * `lineEnd` four bytes at a time: `view` is a DataView over exactly the bytes of `buf` (made once
 * per buffer by the caller). A word none of whose bytes is below 14 holds no CR or LF (the test
 * for a byte below n of Bit Twiddling Hacks' `hasless`, exact for n ≤ 128); a word that has one
 * is looked at byte by byte. Header lines are scanned this way at about 2.5 times the speed of a
 * byte loop.
 */
export function lineEndIn(buf: Uint8Array, view: DataView, start: number, end = buf.length): number {
  let i = start;
  while (i + 4 <= end) {
    const x = view.getInt32(i, true);
    if (((x - 0x0e0e0e0e) & ~x & 0x80808080) === 0) {
      i += 4;
      continue;
    }
    for (const k = i + 4; i < k; i++) if (buf[i] === 13 || buf[i] === 10) return i;
  }
  for (; i < end; i++) if (buf[i] === 13 || buf[i] === 10) return i;
  return end;
}

/** A DataView over exactly the bytes of `buf` (for `lineEndIn`). */
export function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Start of the next line after the line ending at `eol` (skips CRLF, LF or CR). */
export function nextLine(buf: Uint8Array, eol: number, end = buf.length): number {
  if (eol < end && buf[eol] === 13) eol++;
  if (eol < end && buf[eol] === 10) eol++;
  return eol;
}

const CONTROL = /[\u0000-\u001f\u007f]/g;

/** Trimmed text with control characters dropped, cut to `max` characters; null when empty. */
export function cleanText(text: string, max = 200): string | null {
  // Most text has no control character: then it is only trimmed (no regular expression run).
  let t = text;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      t = text.replace(CONTROL, '');
      break;
    }
  }
  t = t.trim();
  if (t.length === 0) return null;
  return t.length > max ? t.slice(0, max) : t;
}

/** SHA-256 hex of a secret (bytes or text as UTF-8). */
export function sha256Hex(secret: Uint8Array | string): string {
  return hash('sha256', secret, 'hex');
}

/** MD5 hex (JA3). */
export function md5Hex(text: string): string {
  return hash('md5', text, 'hex');
}

/** First 12 hex digits of SHA-256 (JA4 parts). */
export function sha256Prefix12(text: string): string {
  return hash('sha256', text, 'hex').slice(0, 12);
}

/** Big-endian 16-bit read. */
export function u16(buf: Uint8Array, o: number): number {
  return (buf[o] << 8) | buf[o + 1];
}
