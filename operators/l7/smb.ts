/**
 * SMB (MS-SMB, MS-SMB2) over TCP 445 or NetBIOS 139, recognised by payload: NetBIOS session
 * messages carrying `\xFFSMB` (SMB1) or `\xFESMB` (SMB2/3). Facts: the dialects the client offered
 * and the one the server chose (SMB1 "NT LM 0.12" is SMBv1, the protocol WannaCry spread by), the
 * SMB1 SESSION_SETUP Native OS and Native LAN Manager strings of each side, and from NTLMSSP
 * (MS-NLMP) the VERSION each side announced (major.minor.build: 6.1.7601 is Windows 7 SP1 /
 * Server 2008 R2 SP1), the server's NetBIOS/DNS names, the client's workstation and user.
 *
 * The NTLM response is a credential (crackable offline): only its kind (NTLMv1, NTLMv2, anonymous)
 * is kept, never its bytes; SMB1 plaintext or LM/NTLM password fields are skipped unread.
 */
import { cleanText, latin1 } from './bytes.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

/** SMB2 dialect revision codes (MS-SMB2 §2.2.3). */
const SMB2_DIALECTS: Readonly<Record<number, string>> = { 0x0202: 'SMB 2.0.2', 0x0210: 'SMB 2.1', 0x0222: 'SMB 2.2', 0x0224: 'SMB 2.2.4', 0x0300: 'SMB 3.0', 0x0302: 'SMB 3.0.2', 0x0310: 'SMB 3.1', 0x0311: 'SMB 3.1.1', 0x02ff: 'SMB 2.???' };

/** NT status codes a SESSION_SETUP response refuses a login with. */
const LOGIN_REFUSED = new Set([0xc000006d, 0xc000006a, 0xc0000064, 0xc0000234, 0xc0000072, 0xc000006e, 0xc0000071, 0xc000015b]);

const SMB1_NEGOTIATE = 0x72;
const SMB1_SESSION_SETUP = 0x73;
const SMB2_NEGOTIATE = 0;
const SMB2_SESSION_SETUP = 1;
const MAX_MESSAGES = 64;

const u16le = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32le = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

/** `\xFF` or `\xFE` followed by "SMB" at `o`: 1, 2 or 0. */
function smbAt(b: Uint8Array, o: number): 0 | 1 | 2 {
  if (o + 4 > b.length || b[o + 1] !== 0x53 || b[o + 2] !== 0x4d || b[o + 3] !== 0x42) return 0;
  return b[o] === 0xff ? 1 : b[o] === 0xfe ? 2 : 0;
}

/** One SMB message inside a NetBIOS session message: its header offset and end (cut to the bytes kept). */
interface Message {
  readonly version: 1 | 2;
  readonly start: number;
  readonly end: number;
}

/** The SMB messages of one direction, in order (NetBIOS session request/response/keep-alive skipped). */
function messages(b: Uint8Array): Message[] {
  const out: Message[] = [];
  for (let o = 0; o + 4 <= b.length && out.length < MAX_MESSAGES; ) {
    const type = b[o];
    const len = (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
    if (type === 0x00) {
      const v = smbAt(b, o + 4);
      if (v === 0) break; // an SMB2 transform (encrypted) or foreign payload: nothing more to read
      out.push({ version: v, start: o + 4, end: Math.min(b.length, o + 4 + len) });
    } else if (type !== 0x81 && type !== 0x82 && type !== 0x83 && type !== 0x85) break;
    o += 4 + len;
  }
  return out;
}

/** True when `b` opens with a NetBIOS session message holding SMB (after an optional session request). */
function isSmb(b: Uint8Array): boolean {
  if (b.length < 8) return false;
  if (b[0] === 0x00) return smbAt(b, 4) !== 0;
  if (b[0] === 0x81 || b[0] === 0x82 || b[0] === 0x85) {
    const next = 4 + ((b[1] << 16) | (b[2] << 8) | b[3]);
    return next + 8 <= b.length && b[next] === 0x00 && smbAt(b, next + 4) !== 0;
  }
  return false;
}

/** A NUL-terminated string at `o` (UTF-16LE when `unicode`); returns the text and the offset after it. */
function cString(b: Uint8Array, o: number, end: number, unicode: boolean): [string, number] {
  let s = '';
  if (unicode) {
    let i = o;
    for (; i + 1 < end; i += 2) {
      const c = u16le(b, i);
      if (c === 0) return [s, i + 2];
      if (s.length < 256) s += String.fromCharCode(c);
    }
    return [s, end];
  }
  let i = o;
  for (; i < end && b[i] !== 0; i++) if (s.length < 256) s += String.fromCharCode(b[i]);
  return [s, Math.min(end, i + 1)];
}

/** UTF-16LE (or OEM) text of an NTLMSSP field. */
function text(b: Uint8Array, o: number, len: number, unicode: boolean): string {
  if (!unicode) return latin1(b, o, o + len);
  let s = '';
  for (let i = o; i + 1 < o + len; i += 2) s += String.fromCharCode(u16le(b, i));
  return s;
}

/** What one side said in NTLMSSP. */
interface Ntlm {
  version?: string;
  names?: string;
  user?: string;
  workstation?: string;
  auth?: string;
}

/** NTLMSSP VERSION: major.minor.build (MS-NLMP §2.2.2.10). */
function ntlmVersion(b: Uint8Array, o: number, end: number): string | undefined {
  if (o + 8 > end) return undefined;
  const major = b[o];
  const minor = b[o + 1];
  if (major === 0 && minor === 0) return undefined;
  return `${major}.${minor}.${u16le(b, o + 2)}`;
}

/** A payload field (len, maxlen, offset) of the NTLMSSP message at `m`, checked against `end`. */
function field(b: Uint8Array, m: number, at: number, end: number): [number, number] | null {
  if (m + at + 8 > end) return null;
  const len = u16le(b, m + at);
  const off = m + u32le(b, m + at + 4);
  if (len === 0 || off + len > end || off < m) return null;
  return [off, len];
}

const NTLM_FLAG_UNICODE = 0x1;
const NTLM_FLAG_VERSION = 0x02000000;

/** Parse every NTLMSSP message in `b[from, end)` into `side`. */
function ntlm(b: Uint8Array, from: number, end: number, side: Ntlm): void {
  for (let m = from; m + 12 <= end; m++) {
    if (b[m] !== 0x4e || b[m + 1] !== 0x54 || b[m + 2] !== 0x4c || b[m + 3] !== 0x4d || b[m + 4] !== 0x53 || b[m + 5] !== 0x53 || b[m + 6] !== 0x50 || b[m + 7] !== 0) continue;
    const type = u32le(b, m + 8);
    if (type === 1 && m + 16 <= end) {
      // NEGOTIATE: flags, domain and workstation fields, then VERSION when flagged.
      if (u32le(b, m + 12) & NTLM_FLAG_VERSION) side.version ??= ntlmVersion(b, m + 32, end);
    } else if (type === 2 && m + 24 <= end) {
      // CHALLENGE: target name, flags, server challenge, reserved, target info, VERSION.
      const flags = u32le(b, m + 20);
      const unicode = (flags & NTLM_FLAG_UNICODE) !== 0;
      if (flags & NTLM_FLAG_VERSION) side.version = ntlmVersion(b, m + 48, end) ?? side.version;
      const names: string[] = [];
      const target = field(b, m, 12, end);
      const info = field(b, m, 40, end);
      const av = new Map<number, string>();
      if (info) {
        for (let o = info[0]; o + 4 <= info[0] + info[1]; ) {
          const id = u16le(b, o);
          const len = u16le(b, o + 2);
          if (id === 0 || o + 4 + len > info[0] + info[1]) break;
          // 1 NetBIOS computer, 2 NetBIOS domain, 3 DNS computer, 4 DNS domain (always UTF-16LE).
          if (id >= 1 && id <= 4 && len > 0) av.set(id, text(b, o + 4, len, true));
          o += 4 + len;
        }
      }
      const host = av.get(1) ?? (target ? text(b, target[0], target[1], unicode) : undefined);
      if (host) names.push(av.get(2) && av.get(2) !== host ? `${av.get(2)}\\${host}` : host);
      if (av.get(3)) names.push(`dns ${av.get(3)}${av.get(4) ? `.${av.get(4)}` : ''}`);
      if (names.length > 0) side.names = names.join(', ');
    } else if (type === 3 && m + 64 <= end) {
      // AUTHENTICATE: LM and NT responses (never read), domain, user, workstation, session key, flags, VERSION.
      const flags = u32le(b, m + 60);
      const unicode = (flags & NTLM_FLAG_UNICODE) !== 0;
      if (flags & NTLM_FLAG_VERSION) side.version = ntlmVersion(b, m + 64, end) ?? side.version;
      const ntLen = u16le(b, m + 20);
      const lmLen = u16le(b, m + 12);
      const domain = field(b, m, 28, end);
      const user = field(b, m, 36, end);
      const ws = field(b, m, 44, end);
      const userName = user ? text(b, user[0], user[1], unicode) : '';
      const domainName = domain ? text(b, domain[0], domain[1], unicode) : '';
      // Only the response's kind: NTLMv2 responses are longer than 24 bytes; none at all is anonymous.
      side.auth = userName === '' && ntLen <= 1 && lmLen <= 1 ? 'anonymous' : ntLen > 24 ? 'NTLMv2' : ntLen === 24 ? 'NTLMv1' : lmLen > 0 ? 'LM' : 'NTLM';
      if (userName !== '') side.user = domainName !== '' ? `${domainName}\\${userName}` : userName;
      if (ws) side.workstation = text(b, ws[0], ws[1], unicode);
    }
    m += 11;
  }
}

/** Native OS and Native LAN Manager strings of an SMB1 SESSION_SETUP_ANDX message. */
function nativeStrings(b: Uint8Array, msg: Message, request: boolean): string | null {
  const s = msg.start;
  const wc = b[s + 32];
  const words = s + 33;
  const bytes = words + wc * 2 + 2;
  if (bytes > msg.end) return null;
  const unicode = (u16le(b, s + 10) & 0x8000) !== 0;
  let o: number;
  if (request && wc === 12) o = bytes + u16le(b, words + 14); // extended security: the blob, then strings
  else if (!request && wc === 4) o = bytes + u16le(b, words + 6);
  else if (request && wc === 13) {
    // Pre-NTLMSSP: password fields (skipped unread), then account and domain, then the OS strings.
    o = bytes + u16le(b, words + 14) + u16le(b, words + 16);
    if (unicode && (o - s) % 2 === 1) o++;
    [, o] = cString(b, o, msg.end, unicode);
    [, o] = cString(b, o, msg.end, unicode);
  } else if (!request && wc === 3) o = bytes;
  else return null;
  if (unicode && (o - s) % 2 === 1) o++;
  if (o >= msg.end) return null;
  const [os, next] = cString(b, o, msg.end, unicode);
  const [lanman] = next < msg.end ? cString(b, next, msg.end, unicode) : [''];
  return cleanText([os.trim(), lanman.trim()].filter((x) => x !== '').join(' | '));
}

/** The security blob of a SESSION_SETUP message: [start, end). */
function blob(b: Uint8Array, msg: Message, request: boolean): [number, number] | null {
  const s = msg.start;
  if (msg.version === 2) {
    // SMB2 SESSION_SETUP: blob offset (from the header) and length at body +12/+14 (request), +4/+6 (response).
    const body = s + 64;
    const at = request ? body + 12 : body + 4;
    if (at + 4 > msg.end) return null;
    const off = s + u16le(b, at);
    return [off, Math.min(msg.end, off + u16le(b, at + 2))];
  }
  const wc = b[s + 32];
  const words = s + 33;
  const bytes = words + wc * 2 + 2;
  const len = request && wc === 12 ? u16le(b, words + 14) : !request && wc === 4 ? u16le(b, words + 6) : -1;
  if (len < 0 || bytes > msg.end) return null;
  return [bytes, Math.min(msg.end, bytes + len)];
}

/** SMB1 NEGOTIATE request dialect strings. */
function smb1Dialects(b: Uint8Array, msg: Message): string[] {
  const s = msg.start;
  const bytes = s + 33 + b[s + 32] * 2 + 2;
  const out: string[] = [];
  for (let o = bytes; o < msg.end && b[o] === 0x02 && out.length < 32; ) {
    const [d, next] = cString(b, o + 1, msg.end, false);
    out.push(d);
    o = next;
  }
  return out;
}

/** The SMB dissector. */
export const smb: L7Dissector = {
  name: 'smb',
  transports: [6],
  match: (s: L7Streams) => isSmb(s.fwd) || isSmb(s.bwd),
  facts(s: L7Streams, out: L7Facts) {
    const offered: string[] = [];
    let smb1Offered: string[] = [];
    let chosen: string | null = null;
    let smb1Session = false;
    const client: Ntlm = {};
    const server: Ntlm = {};
    let failures = 0;
    const f = s.fwd;
    for (const msg of messages(f)) {
      const o = msg.start;
      if (msg.version === 1) {
        if (o + 33 > msg.end) continue;
        const cmd = f[o + 4];
        if (cmd === SMB1_NEGOTIATE) {
          smb1Offered = smb1Dialects(f, msg);
          for (const d of smb1Offered) if (!offered.includes(d)) offered.push(d);
          continue;
        }
        // Any other SMB1 request means the session itself runs SMB1.
        smb1Session = true;
        if (cmd === SMB1_SESSION_SETUP) {
          out.smb_client_os ??= nativeStrings(f, msg, true);
          const bl = blob(f, msg, true);
          if (bl) ntlm(f, bl[0], bl[1], client);
        }
      } else if (o + 66 <= msg.end) {
        const cmd = u16le(f, o + 12);
        if (cmd === SMB2_NEGOTIATE && o + 68 <= msg.end) {
          const count = u16le(f, o + 66);
          for (let k = 0; k < count && k < 32 && o + 100 + 2 * k + 2 <= msg.end; k++) {
            const code = u16le(f, o + 100 + 2 * k);
            const d = SMB2_DIALECTS[code] ?? `SMB 0x${code.toString(16).padStart(4, '0')}`;
            if (!offered.includes(d)) offered.push(d);
          }
        } else if (cmd === SMB2_SESSION_SETUP) {
          const bl = blob(f, msg, true);
          if (bl) ntlm(f, bl[0], bl[1], client);
        }
      }
    }
    const b = s.bwd;
    for (const msg of messages(b)) {
      const o = msg.start;
      if (msg.version === 1) {
        if (o + 33 > msg.end) continue;
        const cmd = b[o + 4];
        const status = u32le(b, o + 5);
        if (cmd === SMB1_NEGOTIATE && b[o + 32] >= 1 && o + 35 <= msg.end) {
          const index = u16le(b, o + 33);
          if (index < smb1Offered.length) chosen = `SMB1 (${smb1Offered[index]})`;
          else if (index !== 0xffff && smb1Offered.length === 0) chosen = 'SMB1';
        } else if (cmd === SMB1_SESSION_SETUP) {
          smb1Session = true;
          if (LOGIN_REFUSED.has(status)) failures++;
          out.smb_server_os ??= nativeStrings(b, msg, false);
          const bl = blob(b, msg, false);
          if (bl) ntlm(b, bl[0], bl[1], server);
        }
      } else if (o + 66 <= msg.end) {
        const cmd = u16le(b, o + 12);
        const status = u32le(b, o + 8);
        if (cmd === SMB2_NEGOTIATE && o + 70 <= msg.end && status === 0) {
          const code = u16le(b, o + 68);
          // 0x02FF answers a multi-protocol SMB1 negotiate; the SMB2 negotiate that follows picks the dialect.
          if (code !== 0x02ff || chosen === null) chosen = SMB2_DIALECTS[code] ?? `SMB 0x${code.toString(16).padStart(4, '0')}`;
        } else if (cmd === SMB2_SESSION_SETUP) {
          if (LOGIN_REFUSED.has(status)) failures++;
          const bl = blob(b, msg, false);
          if (bl) ntlm(b, bl[0], bl[1], server);
        }
      }
    }
    // A capture that missed the negotiate still shows SMB1 by its session commands.
    if (chosen === null && smb1Session) chosen = 'SMB1';
    if (offered.length > 0) out.smb_dialects = cleanText(offered.join(','), 400);
    if (chosen !== null) out.smb_dialect = chosen;
    if (server.version) out.ntlm_server_version = server.version;
    if (client.version) out.ntlm_client_version = client.version;
    if (server.names) out.ntlm_server_name = cleanText(server.names);
    if (client.workstation) out.ntlm_client_name = cleanText(client.workstation);
    if (client.auth) {
      out.ntlm_auth = client.auth;
      out.login_protocol = 'smb';
      out.login_user = client.user ? cleanText(client.user) : null;
      out.login_failures = failures;
    }
  },
};
