/**
 * FTP control channel: the 220 greeting is the banner; USER and PASS give the login (the password
 * only as SHA-256); every 530 reply counts as a failed login.
 */
import { cleanText, hasAscii, hasAsciiNoCase, latin1, lineEnd, nextLine, sha256Hex } from './bytes.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

// Commands an FTP client opens with; SMTP's HELO/EHLO keep SMTP out.
const OPENERS = ['user ', 'auth ', 'feat', 'syst', 'opts ', 'pass ', 'quit', 'acct '] as const;

function lines(buf: Uint8Array, max = 200): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let o = 0; o < buf.length && out.length < max; ) {
    const e = lineEnd(buf, o);
    if (e >= buf.length) break; // an unfinished last line is not a command yet
    out.push([o, e]);
    o = nextLine(buf, e);
  }
  return out;
}

/** The FTP dissector. */
export const ftp: L7Dissector = {
  name: 'ftp',
  transports: [6],
  match: (s: L7Streams) =>
    (hasAscii(s.bwd, '220 ') || hasAscii(s.bwd, '220-')) && (s.fwd.length === 0 || OPENERS.some((c) => hasAsciiNoCase(s.fwd, c))),
  facts(s: L7Streams, out: L7Facts) {
    const replies = lines(s.bwd);
    if (replies.length > 0) out.banner = cleanText(latin1(s.bwd, replies[0][0] + 4, replies[0][1]));
    let failures = 0;
    for (const [a] of replies) if (hasAscii(s.bwd, '530', a)) failures++;
    let user: string | null = null;
    let secret: string | null = null;
    for (const [a, e] of lines(s.fwd)) {
      if (user === null && hasAsciiNoCase(s.fwd, 'user ', a)) user = latin1(s.fwd, a + 5, e).trim();
      else if (secret === null && hasAsciiNoCase(s.fwd, 'pass ', a)) secret = sha256Hex(s.fwd.subarray(a + 5, e));
    }
    if (user !== null) {
      out.login_protocol = 'ftp';
      out.login_user = user;
      out.login_secret_sha256 = secret;
      out.login_failures = failures;
    }
  },
};
