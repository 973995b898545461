/**
 * MQTT 3.1, 3.1.1 and 5: the CONNECT packet gives the client id and whether a user name and a
 * password were sent (the password leaves only as SHA-256); a CONNACK with a non-zero return or
 * reason code counts as a failed login.
 */
import { hasAscii, sha256Hex, u16, utf8 } from './bytes.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

const CONNECT = 0x10;
const CONNACK = 0x20;

/** Variable-length integer at `o`: [value, bytes used], or null when malformed or cut. */
function varint(buf: Uint8Array, o: number): [number, number] | null {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    if (o + i >= buf.length) return null;
    const b = buf[o + i];
    value += (b & 0x7f) * 128 ** i;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  return null;
}

/** Offset of the protocol name after the fixed header, or -1 when this is not a CONNECT. */
function connectBody(buf: Uint8Array): number {
  if (buf.length < 10 || buf[0] !== CONNECT) return -1;
  const rl = varint(buf, 1);
  if (!rl) return -1;
  const o = 1 + rl[1];
  if ((u16(buf, o) === 4 && hasAscii(buf, 'MQTT', o + 2)) || (u16(buf, o) === 6 && hasAscii(buf, 'MQIsdp', o + 2))) return o;
  return -1;
}

/** The MQTT dissector. */
export const mqtt: L7Dissector = {
  name: 'mqtt',
  transports: [6],
  match: (s: L7Streams) => connectBody(s.fwd) >= 0,
  facts(s: L7Streams, out: L7Facts) {
    const b = s.fwd;
    let o = connectBody(b);
    o += 2 + u16(b, o);
    if (o + 4 > b.length) return;
    const level = b[o];
    const flags = b[o + 1];
    o += 4;
    const hasUser = (flags & 0x80) !== 0;
    const hasPassword = (flags & 0x40) !== 0;
    out.mqtt_username = hasUser;
    out.mqtt_password = hasPassword;
    if (level >= 5) {
      const props = varint(b, o);
      if (!props) return;
      o += props[1] + props[0];
    }
    const str = (): Uint8Array | null => {
      if (o + 2 > b.length) return null;
      const n = u16(b, o);
      if (o + 2 + n > b.length) return null;
      const v = b.subarray(o + 2, o + 2 + n);
      o += 2 + n;
      return v;
    };
    const clientId = str();
    if (clientId === null) return;
    out.mqtt_client_id = utf8(clientId);
    if (flags & 0x04) {
      if (level >= 5) {
        const props = varint(b, o);
        if (!props) return;
        o += props[1] + props[0];
      }
      if (str() === null || str() === null) return;
    }
    if (hasUser || hasPassword) out.login_protocol = 'mqtt';
    if (hasUser) {
      const user = str();
      if (user === null) return;
      out.login_user = utf8(user);
    }
    if (hasPassword) {
      const password = str();
      if (password !== null) out.login_secret_sha256 = sha256Hex(password);
    }
    const a = s.bwd;
    if (a.length >= 4 && a[0] === CONNACK) {
      const rl = varint(a, 1);
      if (rl && rl[0] >= 2 && 1 + rl[1] + 1 < a.length) {
        const code = a[1 + rl[1] + 1];
        if (hasUser || hasPassword) out.login_failures = code === 0 ? 0 : 1;
      }
    }
  },
};
