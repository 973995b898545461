/**
 * DNS (UDP, and TCP with its 2-byte length prefix): the first question name, after checking that
 * the header and the question are well formed (a port alone does not make DNS).
 */
import { u16 } from './bytes.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

const PORTS = new Set([53, 5353, 5355]);

/** The first question name of a DNS message at `o`, or null when the message is not sane DNS. */
export function dnsQuestion(buf: Uint8Array, o: number): string | null {
  if (buf.length - o < 17) return null;
  const flags = u16(buf, o + 2);
  const opcode = (flags >> 11) & 0x0f;
  const qd = u16(buf, o + 4);
  if (opcode > 6 || qd < 1 || qd > 32 || u16(buf, o + 6) > 512 || u16(buf, o + 8) > 512 || u16(buf, o + 10) > 512) return null;
  let i = o + 12;
  const labels: string[] = [];
  let total = 0;
  for (;;) {
    if (i >= buf.length) return null;
    const n = buf[i];
    if (n === 0) {
      i++;
      break;
    }
    if (n > 63) return null;
    total += n + 1;
    if (total > 255 || i + 1 + n > buf.length) return null;
    let label = '';
    for (let k = i + 1; k <= i + n; k++) {
      const c = buf[k];
      if (c <= 32 || c >= 127) return null;
      label += String.fromCharCode(c);
    }
    labels.push(label);
    i += 1 + n;
  }
  if (i + 4 > buf.length) return null;
  const qclass = u16(buf, i + 2) & 0x7fff;
  if (qclass !== 1 && qclass !== 3 && qclass !== 4 && qclass !== 255) return null;
  return labels.length === 0 ? '.' : labels.join('.');
}

function question(s: L7Streams): string | null {
  if (!PORTS.has(s.srcPort) && !PORTS.has(s.dstPort)) return null;
  if (s.proto === 17) return dnsQuestion(s.fwd, 0) ?? dnsQuestion(s.bwd, 0);
  if (s.fwd.length >= 2 && u16(s.fwd, 0) <= s.fwd.length + 65535) return dnsQuestion(s.fwd, 2);
  return null;
}

/** The DNS dissector. */
export const dns: L7Dissector = {
  name: 'dns',
  transports: [17, 6],
  match: (s: L7Streams) => question(s) !== null,
  facts(s: L7Streams, out: L7Facts) {
    out.dns_query = question(s);
  },
};
