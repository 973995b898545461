/**
 * DNS (UDP, and TCP with its 2-byte length prefix): the first question name, after checking that
 * the header and the question are well formed (a port alone does not make DNS).
 */
import { latin1, u16 } from './bytes.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

const PORTS = new Set([53, 5353, 5355]);

/** Name bytes of the question being read (at most 255, checked below). */
const nameBytes = new Uint8Array(256);

/** The first question name of a DNS message at `o`, or null when the message is not sane DNS. */
export function dnsQuestion(buf: Uint8Array, o: number): string | null {
  if (buf.length - o < 17) return null;
  const flags = u16(buf, o + 2);
  const opcode = (flags >> 11) & 0x0f;
  const qd = u16(buf, o + 4);
  if (opcode > 6 || qd < 1 || qd > 32 || u16(buf, o + 6) > 512 || u16(buf, o + 8) > 512 || u16(buf, o + 10) > 512) return null;
  let i = o + 12;
  // The labels' bytes joined by dots, checked as they are copied; the text is made once at the end.
  let n = 0;
  let total = 0;
  for (;;) {
    if (i >= buf.length) return null;
    const len = buf[i];
    if (len === 0) {
      i++;
      break;
    }
    if (len > 63) return null;
    total += len + 1;
    if (total > 255 || i + 1 + len > buf.length) return null;
    if (n > 0) nameBytes[n++] = 0x2e;
    for (let k = i + 1; k <= i + len; k++) {
      const c = buf[k];
      if (c <= 32 || c >= 127) return null;
      nameBytes[n++] = c;
    }
    i += 1 + len;
  }
  if (i + 4 > buf.length) return null;
  const qclass = u16(buf, i + 2) & 0x7fff;
  if (qclass !== 1 && qclass !== 3 && qclass !== 4 && qclass !== 255) return null;
  return total === 0 ? '.' : latin1(nameBytes, 0, n);
}

function question(s: L7Streams): string | null {
  if (!PORTS.has(s.srcPort) && !PORTS.has(s.dstPort)) return null;
  if (s.proto === 17) return dnsQuestion(s.fwd, 0) ?? dnsQuestion(s.bwd, 0);
  if (s.fwd.length >= 2 && u16(s.fwd, 0) <= s.fwd.length + 65535) return dnsQuestion(s.fwd, 2);
  return null;
}

/** The streams last matched and their question name. */
let last: L7Streams | null = null;
let lastFwd: Uint8Array | null = null;
let lastBwd: Uint8Array | null = null;
let lastName: string | null = null;

/** The DNS dissector. */
export const dns: L7Dissector = {
  name: 'dns',
  transports: [17, 6],
  match: (s: L7Streams) => {
    last = s;
    lastFwd = s.fwd;
    lastBwd = s.bwd;
    lastName = question(s);
    return lastName !== null;
  },
  facts(s: L7Streams, out: L7Facts) {
    // The dissectors' caller asks for the facts of the streams just matched: the name read then.
    out.dns_query = s === last && s.fwd === lastFwd && s.bwd === lastBwd ? lastName : question(s);
  },
};
