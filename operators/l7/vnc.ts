/**
 * VNC (RFB, RFC 6143): the server's protocol version is the banner, and the security types it
 * offers tell whether a session needs any authentication at all (type 1, None).
 */
import { latin1 } from './bytes.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

/** Security type names (RFC 6143 §7.1.2 and the IANA RFB registry). */
const SECURITY: Readonly<Record<number, string>> = { 1: 'none', 2: 'vnc', 5: 'ra2', 6: 'ra2ne', 16: 'tight', 17: 'ultra', 18: 'tls', 19: 'vencrypt', 20: 'sasl', 21: 'md5', 22: 'xvp', 30: 'apple-dh', 113: 'ms-logon' };

/** True when `b` opens with `RFB xxx.yyy\n`. */
function isVersion(b: Uint8Array): boolean {
  if (b.length < 12 || b[0] !== 0x52 || b[1] !== 0x46 || b[2] !== 0x42 || b[3] !== 0x20 || b[7] !== 0x2e || b[11] !== 0x0a) return false;
  for (const i of [4, 5, 6, 8, 9, 10]) if (b[i] < 0x30 || b[i] > 0x39) return false;
  return true;
}

function securityName(type: number): string {
  return SECURITY[type] ?? `type-${type}`;
}

/** The VNC dissector. */
export const vnc: L7Dissector = {
  name: 'vnc',
  transports: [6],
  match: (s: L7Streams) => isVersion(s.bwd),
  facts(s: L7Streams, out: L7Facts) {
    const b = s.bwd;
    out.banner = latin1(b, 0, 11);
    const minor = Number(latin1(b, 8, 11));
    const major = Number(latin1(b, 4, 7));
    if (b.length < 13) return;
    if (major === 3 && minor < 7) {
      // RFB 3.3: the server alone picks one type, as a 32-bit number (0 means failure).
      if (b.length >= 16) {
        const type = ((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0;
        if (type !== 0) out.vnc_security = securityName(type);
      }
      return;
    }
    // RFB 3.7 and later: a count, then that many type bytes (a count of 0 is a refusal).
    const count = b[12];
    if (count === 0 || b.length < 13 + count) return;
    const names: string[] = [];
    for (let i = 0; i < count; i++) names.push(securityName(b[13 + i]));
    out.vnc_security = names.join(',');
  },
};
