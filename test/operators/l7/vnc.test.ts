import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inspectL7 } from '../../../operators/l7/inspect.ts';

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const streams = (bwd: Uint8Array, fwd = ascii('RFB 003.008\n')) => ({ fwd, bwd, proto: 6, srcPort: 40000, dstPort: 5901 });

test('RFB 3.8: the offered security types, in order; None means no authentication', () => {
  const offer = Uint8Array.from([...ascii('RFB 003.008\n'), 2, 1, 2]);
  assert.equal(inspectL7(streams(offer)), { l7_proto: 'vnc', banner: 'RFB 003.008', vnc_security: 'none,vnc' });
  const vencrypt = Uint8Array.from([...ascii('RFB 003.008\n'), 1, 19]);
  assert.is(inspectL7(streams(vencrypt)).vnc_security, 'vencrypt');
});

test('RFB 3.3: the server picks one type as a 32-bit number', () => {
  const picked = Uint8Array.from([...ascii('RFB 003.003\n'), 0, 0, 0, 2]);
  assert.equal(inspectL7(streams(picked, ascii('RFB 003.003\n'))), { l7_proto: 'vnc', banner: 'RFB 003.003', vnc_security: 'vnc' });
});

test('a refusal, a cut stream and look-alikes give no security claim', () => {
  assert.is(inspectL7(streams(Uint8Array.from([...ascii('RFB 003.008\n'), 0, 0, 0, 0, 5]))).vnc_security, undefined);
  assert.is(inspectL7(streams(ascii('RFB 003.008\n'))).vnc_security, undefined);
  assert.is(inspectL7(streams(Uint8Array.from([...ascii('RFB 003.008\n'), 3, 1]))).vnc_security, undefined);
  assert.not.equal(inspectL7(streams(ascii('RFB 0x3.008\n'), ascii('hello'))).l7_proto, 'vnc');
});

test.run();
