/**
 * HL7 v2 over MLLP: a frame is 0x0B, the message, 0x1C 0x0D. The MSH segment gives the message
 * type (MSH-9, first two components, e.g. ORU^R01), sending application (MSH-3), sending facility
 * (MSH-4) and version (MSH-12). Delimiters are read from MSH itself, not assumed.
 */
import { cleanText, hasAscii, utf8 } from './bytes.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

const VT = 0x0b;
const FS = 0x1c;

function isMllp(buf: Uint8Array): boolean {
  return buf.length >= 9 && buf[0] === VT && hasAscii(buf, 'MSH', 1);
}

/** MSH fields of the first MLLP frame: index n is MSH-n (MSH-1 is the field separator). */
export function mshFields(buf: Uint8Array): { fields: string[]; component: string } | null {
  if (!isMllp(buf)) return null;
  let end = 1;
  while (end < buf.length && buf[end] !== 13 && buf[end] !== 10 && buf[end] !== FS) end++;
  const segment = utf8(buf, 1, end);
  const sep = segment[3];
  if (sep === undefined || /[A-Za-z0-9\s]/.test(sep)) return null;
  const parts = segment.split(sep);
  // parts[0] = "MSH", parts[1] = encoding characters (MSH-2); MSH-n is parts[n - 1].
  const fields = ['MSH', sep, ...parts.slice(1)];
  return { fields, component: parts[1]?.[0] ?? '^' };
}

/** The HL7-over-MLLP dissector. */
export const hl7Mllp: L7Dissector = {
  name: 'hl7-mllp',
  transports: [6],
  match: (s: L7Streams) => isMllp(s.fwd),
  facts(s: L7Streams, out: L7Facts) {
    const msh = mshFields(s.fwd);
    if (!msh) return;
    const f = msh.fields;
    const type = f[9];
    if (type !== undefined) out.hl7_message_type = cleanText(type.split(msh.component).slice(0, 2).join('^'));
    if (f[3] !== undefined) out.hl7_sending_app = cleanText(f[3]);
    if (f[4] !== undefined) out.hl7_sending_facility = cleanText(f[4]);
    if (f[12] !== undefined) out.hl7_version = cleanText(f[12].split(msh.component)[0]);
  },
};
