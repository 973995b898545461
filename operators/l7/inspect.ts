/**
 * Runs the L7 dissectors over a flow's first payload bytes: the first that recognises the payload
 * names the protocol and fills its facts. When the initiator looks wrong (capture started
 * mid-connection), the directions are tried swapped.
 */
import { dhcp } from './dhcp.ts';
import { dicom } from './dicom.ts';
import { dns } from './dns.ts';
import { ftp } from './ftp.ts';
import { hl7Mllp } from './hl7-mllp.ts';
import { http } from './http.ts';
import { mqtt } from './mqtt.ts';
import { smb } from './smb.ts';
import { ssh } from './ssh.ts';
import { telnet } from './telnet.ts';
import { tls } from './tls.ts';
import { vnc } from './vnc.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

/** Dissectors in the order they are tried (most specific signatures first). */
export const DISSECTORS: readonly L7Dissector[] = [tls, hl7Mllp, dicom, smb, mqtt, http, ssh, vnc, telnet, ftp, dns, dhcp];

/** The dissectors of each transport (TCP, UDP), in the order of DISSECTORS. */
const TCP_DISSECTORS = DISSECTORS.filter((d) => d.transports.includes(6));
const UDP_DISSECTORS = DISSECTORS.filter((d) => d.transports.includes(17));

function run(streams: L7Streams, out: L7Facts): boolean {
  const proto = streams.proto;
  // TCP and UDP take their own list (no transport check per dissector); any other protocol the whole list, checked.
  const list = proto === 6 ? TCP_DISSECTORS : proto === 17 ? UDP_DISSECTORS : DISSECTORS;
  const check = list === DISSECTORS;
  for (let k = 0; k < list.length; k++) {
    const d = list[k];
    if ((check && !d.transports.includes(proto)) || !d.match(streams)) continue;
    out.l7_proto = d.name;
    try {
      d.facts(streams, out);
    } catch {
      // A dissector that trips over hostile bytes keeps the protocol name and whatever facts it set.
    }
    return true;
  }
  return false;
}

/** Facts of one flow's payload (empty when no dissector recognises it). */
export function inspectL7(streams: L7Streams): L7Facts {
  const out: L7Facts = {};
  inspectL7Into(streams, out);
  return out;
}

/** `inspectL7` into a given facts object (one without facts set: every key absent or undefined). */
export function inspectL7Into(streams: L7Streams, out: L7Facts): void {
  if (streams.fwd.length === 0 && streams.bwd.length === 0) return;
  if (run(streams, out)) return;
  run({ fwd: streams.bwd, bwd: streams.fwd, proto: streams.proto, srcPort: streams.dstPort, dstPort: streams.srcPort }, out);
}
