/**
 * DICOM upper layer (PS3.8): the A-ASSOCIATE-RQ PDU that opens every association gives the called
 * and calling AE titles and, in its user information item, the requester's implementation class
 * UID and implementation version name.
 */
import { cleanText, latin1, u16 } from './bytes.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

const A_ASSOCIATE_RQ = 0x01;
const ITEM_USER_INFO = 0x50;
const SUB_IMPL_CLASS_UID = 0x52;
const SUB_IMPL_VERSION = 0x55;

function u32(buf: Uint8Array, o: number): number {
  return ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
}

function isAssociateRq(buf: Uint8Array): boolean {
  return buf.length >= 74 && buf[0] === A_ASSOCIATE_RQ && buf[1] === 0 && u32(buf, 2) >= 68 && u32(buf, 2) < 1 << 20 && u16(buf, 6) === 1;
}

// AE titles and UIDs are padded with spaces or NULs.
function text(buf: Uint8Array, start: number, end: number): string | null {
  return cleanText(latin1(buf, start, end).replace(/\u0000/g, ' '), 64);
}

/** The DICOM upper-layer dissector. */
export const dicom: L7Dissector = {
  name: 'dicom',
  transports: [6],
  match: (s: L7Streams) => isAssociateRq(s.fwd),
  facts(s: L7Streams, out: L7Facts) {
    const b = s.fwd;
    out.dicom_called_ae = text(b, 10, 26);
    out.dicom_calling_ae = text(b, 26, 42);
    const end = Math.min(b.length, 6 + u32(b, 2));
    for (let o = 74; o + 4 <= end; ) {
      const type = b[o];
      const len = u16(b, o + 2);
      if (type === ITEM_USER_INFO) {
        const subEnd = Math.min(end, o + 4 + len);
        for (let i = o + 4; i + 4 <= subEnd; ) {
          const st = b[i];
          const sl = u16(b, i + 2);
          if (st === SUB_IMPL_CLASS_UID) out.dicom_impl_class_uid = text(b, i + 4, Math.min(subEnd, i + 4 + sl));
          if (st === SUB_IMPL_VERSION) out.dicom_impl_version = text(b, i + 4, Math.min(subEnd, i + 4 + sl));
          i += 4 + sl;
        }
      }
      o += 4 + len;
    }
  },
};
