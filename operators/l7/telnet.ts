/**
 * Telnet, recognised by option negotiation (IAC …) or, for servers that negotiate nothing, by a
 * plain-text `login:` prompt. Negotiation is stripped from both directions; the first server text line
 * is the banner; when the server prompted `login:` the first line the client typed is the user name
 * and, after a `Password:` prompt, the second is the password (kept only as SHA-256). Each
 * "Login incorrect" counts as a failure.
 */
import { cleanText, indexOfAscii, latin1, sha256Hex } from './bytes.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

const IAC = 255;
const SB = 250;
const SE = 240;

function startsWithNegotiation(buf: Uint8Array): boolean {
  return buf.length >= 3 && buf[0] === IAC && buf[1] >= SB && buf[1] <= 254;
}

/** Printable text (tabs, CR, LF, NUL allowed) over the first `n` bytes. */
function isText(buf: Uint8Array, n: number): boolean {
  const end = Math.min(n, buf.length);
  for (let i = 0; i < end; i++) {
    const b = buf[i];
    if (b < 32 && b !== 9 && b !== 10 && b !== 13 && b !== 0) return false;
    if (b > 126) return false;
  }
  return true;
}

/** A server that opens with a plain-text login prompt (embedded Telnet servers often negotiate nothing). */
function plainLoginPrompt(s: L7Streams): boolean {
  return s.bwd.length > 0 && isText(s.bwd, 1024) && isText(s.fwd, 256) && indexOfAscii(s.bwd, 'login:', 0, Math.min(s.bwd.length, 1024), true) >= 0;
}

/** The data bytes of a Telnet stream: commands and subnegotiations removed, IAC IAC kept as 255. */
export function telnetData(buf: Uint8Array): Uint8Array {
  const out = new Uint8Array(buf.length);
  let n = 0;
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    if (b !== IAC) {
      out[n++] = b;
      i++;
      continue;
    }
    const cmd = buf[i + 1];
    if (cmd === IAC) {
      out[n++] = IAC;
      i += 2;
    } else if (cmd === SB) {
      i += 2;
      while (i < buf.length && !(buf[i] === IAC && buf[i + 1] === SE)) i++;
      i += 2;
    } else if (cmd !== undefined && cmd >= 251) i += 3;
    else i += 2;
  }
  return out.subarray(0, n);
}

/** Lines the client typed: CR, LF, CR NUL and CR LF end a line; backspace and DEL erase. */
export function typedLines(data: Uint8Array): string[] {
  const lines: string[] = [];
  let cur: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (b === 13 || b === 10) {
      if (b === 13 && (data[i + 1] === 10 || data[i + 1] === 0)) i++;
      lines.push(String.fromCharCode(...cur));
      cur = [];
    } else if (b === 8 || b === 127) cur.pop();
    else if (b >= 32 && cur.length < 256) cur.push(b);
  }
  return lines;
}

/** The Telnet dissector. */
export const telnet: L7Dissector = {
  name: 'telnet',
  transports: [6],
  match: (s: L7Streams) => startsWithNegotiation(s.bwd) || startsWithNegotiation(s.fwd) || plainLoginPrompt(s),
  facts(s: L7Streams, out: L7Facts) {
    const server = telnetData(s.bwd);
    const client = telnetData(s.fwd);
    const text = latin1(server);
    for (const line of text.split(/[\r\n]+/)) {
      const t = cleanText(line);
      if (t !== null) {
        out.banner = t;
        break;
      }
    }
    const login = indexOfAscii(server, 'login:', 0, server.length, true);
    if (login < 0) return;
    const lines = typedLines(client);
    let failures = 0;
    for (let at = indexOfAscii(server, 'login incorrect', 0, server.length, true); at >= 0; at = indexOfAscii(server, 'login incorrect', at + 1, server.length, true)) failures++;
    out.login_failures = failures;
    const user = lines.find((l) => l.trim().length > 0);
    if (user === undefined) return;
    out.login_protocol = 'telnet';
    out.login_user = user.trim();
    const prompt = indexOfAscii(server, 'password', login, server.length, true);
    const next = lines[lines.indexOf(user) + 1];
    if (prompt >= 0 && next !== undefined) out.login_secret_sha256 = sha256Hex(next);
  },
};
