/** DHCP (BOOTP with the magic cookie): host name (option 12) and vendor class (option 60). */
import { cleanText, latin1 } from './bytes.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

function isDhcp(b: Uint8Array): boolean {
  return b.length >= 244 && (b[0] === 1 || b[0] === 2) && b[1] === 1 && b[2] === 6 && b[236] === 0x63 && b[237] === 0x82 && b[238] === 0x53 && b[239] === 0x63;
}

function options(b: Uint8Array, out: L7Facts): void {
  for (let o = 240; o < b.length; ) {
    const code = b[o];
    if (code === 0) {
      o++;
      continue;
    }
    if (code === 255 || o + 1 >= b.length) break;
    const len = b[o + 1];
    const end = Math.min(b.length, o + 2 + len);
    if (code === 12 && out.dhcp_hostname == null) out.dhcp_hostname = cleanText(latin1(b, o + 2, end));
    if (code === 60 && out.dhcp_vendor_class == null) out.dhcp_vendor_class = cleanText(latin1(b, o + 2, end));
    o += 2 + len;
  }
}

/** The DHCP dissector. */
export const dhcp: L7Dissector = {
  name: 'dhcp',
  transports: [17],
  match: (s: L7Streams) => isDhcp(s.fwd) || isDhcp(s.bwd),
  facts(s: L7Streams, out: L7Facts) {
    if (isDhcp(s.fwd)) options(s.fwd, out);
    if (isDhcp(s.bwd)) options(s.bwd, out);
  },
};
