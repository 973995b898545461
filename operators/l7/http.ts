/**
 * HTTP/1.x: the first request's method, Host, path (query removed) and User-Agent; a Basic
 * Authorization header anywhere in the kept requests gives the login (user name, SHA-256 of the
 * password, never the password); the first response's Server header; 401 answers count as failed
 * logins when Basic credentials were sent.
 */
import { NoCaseNeedle, cleanText, hasAscii, hasAsciiNoCase, latin1, lineEnd, lineEndIn, nextLine, sha256Hex, viewOf } from './bytes.ts';
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
  /** First line (read only when asked for). */
  start: string;
  /** Values of the headers the facts use (first occurrence), null when absent. */
  host: string | null;
  userAgent: string | null;
  authorization: string | null;
  server: string | null;
  /** Offset after the message (body skipped); -1 when the message runs past the kept bytes. */
  next: number;
}

// Header names the facts read, matched on bytes so other headers cost no string.
const H_HOST = 'host:';
const H_UA = 'user-agent:';
const H_AUTH = 'authorization:';
const H_SERVER = 'server:';
const H_LENGTH = 'content-length:';
const H_TE = 'transfer-encoding:';

// What readMessage reads besides the framing (Content-Length, Transfer-Encoding): later messages
// of a connection only need their Authorization header (requests) or status (responses).
const WANT_START = 1;
const WANT_HOST_UA = 2;
const WANT_AUTH = 4;
const WANT_SERVER = 8;

function valueOf(buf: Uint8Array, from: number, eol: number): string {
  return latin1(buf, from, eol).trim();
}

/** One message object per dissection, refilled (facts are read before the next message). */
const scratch: Message = { start: '', host: null, userAgent: null, authorization: null, server: null, next: -1 };

/**
 * Read one message at `at` into the scratch message: the start line and headers asked for by
 * `want`, and skip its Content-Length body. Null when the start line runs past the kept bytes.
 * `view` is `viewOf(buf)` (lines are found four bytes at a time).
 */
function readMessage(buf: Uint8Array, view: DataView, at: number, want: number): Message | null {
  let eol = lineEndIn(buf, view, at);
  if (eol >= buf.length) return null;
  const m = scratch;
  m.start = want & WANT_START ? latin1(buf, at, eol) : '';
  m.host = m.userAgent = m.authorization = m.server = null;
  m.next = -1;
  let length = 0;
  let chunked = false;
  let o = nextLine(buf, eol);
  for (let guard = 0; guard < 200 && o < buf.length; guard++) {
    eol = lineEndIn(buf, view, o);
    if (eol === o) {
      o = nextLine(buf, eol);
      const next = chunked ? -1 : o + length;
      m.next = next > buf.length ? -1 : next;
      return m;
    }
    if (eol >= buf.length) break;
    const c = buf[o] | 0x20;
    if (c === 0x68 && want & WANT_HOST_UA && m.host === null && hasAsciiNoCase(buf, H_HOST, o)) m.host = valueOf(buf, o + H_HOST.length, eol);
    else if (c === 0x75 && want & WANT_HOST_UA && m.userAgent === null && hasAsciiNoCase(buf, H_UA, o)) m.userAgent = valueOf(buf, o + H_UA.length, eol);
    else if (c === 0x61 && want & WANT_AUTH && m.authorization === null && hasAsciiNoCase(buf, H_AUTH, o)) m.authorization = valueOf(buf, o + H_AUTH.length, eol);
    else if (c === 0x73 && want & WANT_SERVER && m.server === null && hasAsciiNoCase(buf, H_SERVER, o)) m.server = valueOf(buf, o + H_SERVER.length, eol);
    else if (c === 0x63 && hasAsciiNoCase(buf, H_LENGTH, o)) {
      const n = Number(valueOf(buf, o + H_LENGTH.length, eol));
      length = Number.isFinite(n) && n >= 0 ? n : Infinity;
    } else if (c === 0x74 && hasAsciiNoCase(buf, H_TE, o)) chunked = /chunked/i.test(valueOf(buf, o + H_TE.length, eol));
    o = nextLine(buf, eol);
  }
  return m;
}

/** The Authorization header's name, for a skipping search over kept requests. */
const AUTH_NAME = new NoCaseNeedle(H_AUTH);

/** The text before the first space (the first item of `split(' ')`, without the array). */
export function firstWord(line: string): string {
  const sp = line.indexOf(' ');
  return sp < 0 ? line : line.slice(0, sp);
}

/** The text between the first and second space, undefined without a space (the second item of `split(' ')`). */
export function secondWord(line: string): string | undefined {
  const sp = line.indexOf(' ');
  if (sp < 0) return undefined;
  const sp2 = line.indexOf(' ', sp + 1);
  return sp2 < 0 ? line.slice(sp + 1) : line.slice(sp + 1, sp2);
}

/** White space of a JavaScript regular expression's \s among Latin-1 characters. */
function isSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d) || b === 0xa0;
}

/**
 * True when the status line at `at` says 401: `HTTP/` then non-space, space, `401` and no word
 * character after it (the bytes of /^HTTP\/\S+\s+401\b/ over the line's Latin-1 text).
 */
export function isStatus401(buf: Uint8Array, at: number): boolean {
  const eol = lineEnd(buf, at);
  if (!hasAscii(buf, 'HTTP/', at)) return false;
  let i = at + 5;
  const word = i;
  while (i < eol && !isSpace(buf[i])) i++;
  if (i === word) return false;
  const space = i;
  while (i < eol && isSpace(buf[i])) i++;
  if (i === space || i + 3 > eol || buf[i] !== 0x34 || buf[i + 1] !== 0x30 || buf[i + 2] !== 0x31) return false;
  if (i + 3 === eol) return true;
  const after = buf[i + 3];
  return !((after >= 0x30 && after <= 0x39) || (after >= 0x41 && after <= 0x5a) || (after >= 0x61 && after <= 0x7a) || after === 0x5f);
}

/** The HTTP dissector. */
export const http: L7Dissector = {
  name: 'http',
  transports: [6],
  match: (s: L7Streams) => isRequest(s.fwd) || (s.fwd.length === 0 && hasAscii(s.bwd, 'HTTP/1.')),
  facts(s: L7Streams, out: L7Facts) {
    let basic = false;
    const fwdView = viewOf(s.fwd);
    for (let at = 0, n = 0; at >= 0 && at < s.fwd.length && n < 50; n++) {
      if (requestMethod(s.fwd, at) === null) break;
      const m = readMessage(s.fwd, fwdView, at, n === 0 ? WANT_START | WANT_HOST_UA | WANT_AUTH : WANT_AUTH);
      if (!m) break;
      if (n === 0) {
        const method = firstWord(m.start);
        const target = secondWord(m.start);
        out.http_method = method;
        if (target !== undefined) {
          let path = target.replace(/^[a-z]+:\/\/[^/]*/i, '');
          const q = path.search(/[?#]/);
          if (q >= 0) path = path.slice(0, q);
          out.http_path = cleanText(path, 2000) ?? '/';
        }
        out.http_host = cleanText(m.host ?? '');
        out.http_user_agent = cleanText(m.userAgent ?? '', 500);
      }
      const auth = m.authorization;
      if (!basic && auth !== null && /^basic\s+/i.test(auth)) {
        basic = true;
        const decoded = Buffer.from(auth.replace(/^basic\s+/i, ''), 'base64');
        const colon = decoded.indexOf(0x3a);
        out.http_basic_auth = true;
        out.login_protocol = 'http-basic';
        out.login_user = colon >= 0 ? decoded.subarray(0, colon).toString('utf8') : decoded.toString('utf8');
        if (colon >= 0) out.login_secret_sha256 = sha256Hex(decoded.subarray(colon + 1));
      }
      // Later requests add nothing once the first is read and a Basic login is found, nor when
      // no Authorization header name follows in the kept bytes (their lines need no reading).
      if (basic || m.next < 0 || AUTH_NAME.find(s.fwd, m.next) < 0) break;
      at = m.next;
    }
    let failures = 0;
    // Without a Basic login only the first response's Server header is a fact; with one, every
    // response is read for 401s.
    const responses = basic ? 50 : 1;
    const bwdView = viewOf(s.bwd);
    for (let at = 0, n = 0; at >= 0 && at < s.bwd.length && n < responses; n++) {
      if (!hasAsciiNoCase(s.bwd, 'http/', at)) break;
      const m = readMessage(s.bwd, bwdView, at, n === 0 ? WANT_SERVER : 0);
      if (!m) break;
      if (n === 0) out.http_server = cleanText(m.server ?? '');
      if (isStatus401(s.bwd, at)) failures++;
      at = m.next;
    }
    if (basic) out.login_failures = failures;
  },
};
