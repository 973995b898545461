/** SSH: the identification string (`SSH-2.0-OpenSSH_9.2p1 …`) of the server is the banner. */
import { cleanText, hasAscii, latin1, lineEnd } from './bytes.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

/** The SSH dissector. */
export const ssh: L7Dissector = {
  name: 'ssh',
  transports: [6],
  match: (s: L7Streams) => hasAscii(s.bwd, 'SSH-') || hasAscii(s.fwd, 'SSH-'),
  facts(s: L7Streams, out: L7Facts) {
    const b = hasAscii(s.bwd, 'SSH-') ? s.bwd : s.fwd;
    out.banner = cleanText(latin1(b, 0, lineEnd(b, 0, Math.min(b.length, 255))));
  },
};
