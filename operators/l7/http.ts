/**
 * HTTP/1.x: the first request's method, Host, path (query removed) and User-Agent; a Basic
 * Authorization header anywhere in the kept requests gives the login (user name, SHA-256 of the
 * password, never the password); the first response's Server header; 401 answers count as failed
 * logins when Basic credentials were sent.
 */
import { cleanText, hasAscii, hasAsciiNoCase, latin1, lineEnd, nextLine, sha256Hex } from './bytes.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

const METHODS = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'DELETE ', 'OPTIONS ', 'PATCH ', 'CONNECT ', 'TRACE '] as const;

function requestMethod(buf: Uint8Array, at = 0): string | null {
  for (const m of METHODS) if (hasAscii(buf, m, at)) return m.slice(0, -1);
  return null;
}

function isRequest(buf: Uint8Array): boolean {
  if (requestMethod(buf) === null) return false;
  const eol = lineEnd(buf, 0, Math.min(buf.length, 8192));
  for (let i = eol - 8; i > 0; i--) if (hasAscii(buf, ' HTTP/1.', i) || hasAscii(buf, ' HTTP/2', i)) return true;
  return false;
}

interface Message {
  /** First line. */
  start: string;
  headers: Map<string, string>;
  /** Offset after the message (body skipped); -1 when the message runs past the kept bytes. */
  next: number;
}

/** Read one message at `at`: start line, headers, and skip its Content-Length body. */
function readMessage(buf: Uint8Array, at: number): Message | null {
  const headers = new Map<string, string>();
  let eol = lineEnd(buf, at);
  if (eol >= buf.length) return null;
  const start = latin1(buf, at, eol);
  let o = nextLine(buf, eol);
  for (let guard = 0; guard < 200 && o < buf.length; guard++) {
    eol = lineEnd(buf, o);
    if (eol === o) {
      o = nextLine(buf, eol);
      const length = Number(headers.get('content-length') ?? '0');
      const chunked = /chunked/i.test(headers.get('transfer-encoding') ?? '');
      const next = chunked || !Number.isFinite(length) ? -1 : o + length;
      return { start, headers, next: next > buf.length ? -1 : next };
    }
    if (eol >= buf.length) break;
    const line = latin1(buf, o, eol);
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
    }
    o = nextLine(buf, eol);
  }
  return { start, headers, next: -1 };
}

/** The HTTP dissector. */
export const http: L7Dissector = {
  name: 'http',
  transports: [6],
  match: (s: L7Streams) => isRequest(s.fwd) || (s.fwd.length === 0 && hasAscii(s.bwd, 'HTTP/1.')),
  facts(s: L7Streams, out: L7Facts) {
    let basic = false;
    for (let at = 0, n = 0; at >= 0 && at < s.fwd.length && n < 50; n++) {
      if (requestMethod(s.fwd, at) === null) break;
      const m = readMessage(s.fwd, at);
      if (!m) break;
      if (n === 0) {
        const [method, target] = m.start.split(' ');
        out.http_method = method;
        if (target !== undefined) {
          let path = target.replace(/^[a-z]+:\/\/[^/]*/i, '');
          const q = path.search(/[?#]/);
          if (q >= 0) path = path.slice(0, q);
          out.http_path = cleanText(path, 2000) ?? '/';
        }
        out.http_host = cleanText(m.headers.get('host') ?? '') ?? null;
        out.http_user_agent = cleanText(m.headers.get('user-agent') ?? '', 500) ?? null;
      }
      const auth = m.headers.get('authorization');
      if (!basic && auth !== undefined && /^basic\s+/i.test(auth)) {
        basic = true;
        const decoded = Buffer.from(auth.replace(/^basic\s+/i, ''), 'base64');
        const colon = decoded.indexOf(0x3a);
        out.http_basic_auth = true;
        out.login_protocol = 'http-basic';
        out.login_user = colon >= 0 ? decoded.subarray(0, colon).toString('utf8') : decoded.toString('utf8');
        if (colon >= 0) out.login_secret_sha256 = sha256Hex(decoded.subarray(colon + 1));
      }
      at = m.next;
    }
    let failures = 0;
    for (let at = 0, n = 0; at >= 0 && at < s.bwd.length && n < 50; n++) {
      if (!hasAsciiNoCase(s.bwd, 'http/', at)) break;
      const m = readMessage(s.bwd, at);
      if (!m) break;
      if (n === 0) out.http_server = cleanText(m.headers.get('server') ?? '') ?? null;
      if (/^HTTP\/\S+\s+401\b/.test(m.start)) failures++;
      at = m.next;
    }
    if (basic) out.login_failures = failures;
  },
};
