/**
 * The L7 dissectors on their own: hand-built payloads for the cases live traffic does not easily
 * show (a ClientHello split over two records, MQTT 3.1 and a CONNACK refusal, HL7 with unusual
 * delimiters, DHCP options, Telnet backspaces, absolute-form HTTP targets), foreign payloads that
 * must not be claimed, and DNS question names checked against tshark on a real capture.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256Hex } from '../../../operators/l7/bytes.ts';
import { inspectL7 } from '../../../operators/l7/inspect.ts';
import { typedLines, telnetData } from '../../../operators/l7/telnet.ts';
import { requireTool, run } from '../../helpers/loopback.ts';
import { parseCaptureFile } from '../../helpers/pcap.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const cat = (...parts: (Uint8Array | number[])[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const u16 = (n: number) => [n >> 8, n & 0xff];
const str16 = (s: string) => [...u16(s.length), ...enc(s)];
const tcp = (fwd: Uint8Array, bwd: Uint8Array = new Uint8Array(0), dstPort = 40123) => inspectL7({ fwd, bwd, proto: 6, srcPort: 50000, dstPort });

test('TLS: a ClientHello split over two records still gives SNI and JA3; ServerHello gives the version', () => {
  const sni = 'infusion.example.org';
  const ext = cat(u16(0), u16(sni.length + 5), u16(sni.length + 3), [0], str16(sni), u16(43), u16(3), [2, 3, 3]);
  const body = cat([3, 3], new Array(32).fill(7), [0], u16(4), [0x13, 0x01, 0xc0, 0x2f], [1, 0], u16(ext.length), ext);
  const hs = cat([1, 0, body.length >> 8, body.length & 0xff], body);
  const split = 30;
  const rec = (b: Uint8Array) => cat([0x16, 3, 1], u16(b.length), b);
  const fwd = cat(rec(hs.subarray(0, split)), rec(hs.subarray(split)));
  const shBody = cat([3, 3], new Array(32).fill(1), [0], [0xc0, 0x2f], [0]);
  const bwd = rec(cat([2, 0, 0, shBody.length], shBody));
  const f = tcp(fwd, bwd, 443);
  assert.is(f.l7_proto, 'tls');
  assert.is(f.tls_sni, sni);
  assert.is(f.tls_version, 'TLS1.2');
  assert.is(f.tls_cipher, '0xC02F');
  assert.match(f.tls_ja3 ?? '', /^[0-9a-f]{32}$/);
  assert.match(f.tls_ja4 ?? '', /^t12d020200_[0-9a-f]{12}_[0-9a-f]{12}$/);
});

test('MQTT 3.1 (MQIsdp) CONNECT with user and password, refused by CONNACK code 4', () => {
  const payload = cat(str16('MQIsdp'), [3, 0xc2], u16(60), str16('monitor-3'), str16('svc'), str16('hunter2'));
  const fwd = cat([0x10, payload.length], payload);
  const f = tcp(fwd, Uint8Array.of(0x20, 2, 0, 4), 1883);
  assert.is(f.l7_proto, 'mqtt');
  assert.is(f.mqtt_client_id, 'monitor-3');
  assert.is(f.login_user, 'svc');
  assert.is(f.login_secret_sha256, sha256Hex('hunter2'));
  assert.is(f.login_failures, 1);
  const anon = cat(str16('MQTT'), [4, 0x02], u16(60), str16('anon-1'));
  const g = tcp(cat([0x10, anon.length], anon), Uint8Array.of(0x20, 2, 0, 0));
  assert.is(g.mqtt_username, false);
  assert.is(g.login_protocol, undefined, 'no login without credentials');
});

test('HL7: delimiters come from MSH; a non-MLLP payload is not HL7', () => {
  const msg = enc('\x0bMSH#$%\\&#LABAPP#LAB1#EHR#H1#20240101##OML$O21$OML_O21#1#P#2.5.1\rPID#1\r\x1c\r');
  const f = tcp(msg);
  assert.is(f.l7_proto, 'hl7-mllp');
  assert.is(f.hl7_message_type, 'OML^O21');
  assert.is(f.hl7_sending_app, 'LABAPP');
  assert.is(f.hl7_version, '2.5.1');
  assert.is(tcp(enc('MSH|^~\\&|A|B|C|D|x||ADT^A01|1|P|2.3\r')).l7_proto, undefined);
});

test('HTTP: absolute-form target, query removed, no Basic header means no login', () => {
  const f = tcp(enc('POST http://gw.example/api/v1/vitals?token=abc HTTP/1.1\r\nHost: gw.example\r\nContent-Length: 2\r\n\r\n{}'), enc('HTTP/1.1 200 OK\r\nServer: nginx/1.18.0\r\nContent-Length: 0\r\n\r\n'));
  assert.is(f.l7_proto, 'http');
  assert.is(f.http_method, 'POST');
  assert.is(f.http_path, '/api/v1/vitals');
  assert.is(f.http_server, 'nginx/1.18.0');
  assert.is(f.http_basic_auth, undefined);
  assert.is(f.login_protocol, undefined);
});

test('Telnet: IAC negotiation stripped, backspace edits the typed line', () => {
  const data = telnetData(Uint8Array.of(0xff, 0xfb, 0x01, 0x61, 0xff, 0xfa, 0x18, 0x00, 0x78, 0xff, 0xf0, 0x62, 0xff, 0xff));
  assert.equal([...data], [0x61, 0x62, 0xff]);
  assert.equal(typedLines(enc('admx\x7fin\r\0secret\r\n')), ['admin', 'secret']);
  const f = tcp(cat([0xff, 0xfd, 0x18], enc('root\r\n1234\r\n')), cat([0xff, 0xfb, 0x01], enc('\r\nPump OS 2.1\r\nlogin: root\r\nPassword: \r\nLogin incorrect\r\nlogin: ')), 23);
  assert.is(f.l7_proto, 'telnet');
  assert.is(f.banner, 'Pump OS 2.1');
  assert.is(f.login_user, 'root');
  assert.is(f.login_secret_sha256, sha256Hex('1234'));
  assert.is(f.login_failures, 1);
});

test('Telnet without negotiation: a plain login prompt is enough', () => {
  const f = tcp(enc('service\r\nwrong\r\n'), enc('\r\nMonitor BX-200 login: Password: \r\nLogin incorrect\r\n'), 2323);
  assert.is(f.l7_proto, 'telnet');
  assert.is(f.login_user, 'service');
  assert.is(f.login_secret_sha256, sha256Hex('wrong'));
  assert.is(f.login_failures, 1);
});

test('DHCP: host name and vendor class from options 12 and 60', () => {
  const b = new Uint8Array(240);
  b.set([1, 1, 6, 0], 0);
  b.set([0x63, 0x82, 0x53, 0x63], 236);
  const opts = cat([53, 1, 1], [12, 9], enc('pump-ward'), [60, 8], enc('MSFT 5.0'), [255]);
  const f = inspectL7({ fwd: cat(b, opts), bwd: new Uint8Array(0), proto: 17, srcPort: 68, dstPort: 67 });
  assert.is(f.l7_proto, 'dhcp');
  assert.is(f.dhcp_hostname, 'pump-ward');
  assert.is(f.dhcp_vendor_class, 'MSFT 5.0');
});

test('foreign payloads are not claimed by any dissector', () => {
  for (const payload of [enc('hello world\r\n'), Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), enc('EHLO mail.example\r\n')]) {
    assert.is(tcp(payload, enc('250 ok\r\n')).l7_proto, undefined, new TextDecoder().decode(payload));
  }
  // A well-formed DNS header on a port that is not DNS's is left alone.
  const q = cat([0x12, 0x34, 1, 0], u16(1), u16(0), u16(0), u16(0), [3], enc('foo'), [0], u16(1), u16(1));
  assert.is(inspectL7({ fwd: q, bwd: new Uint8Array(0), proto: 17, srcPort: 40000, dstPort: 9999 }).l7_proto, undefined);
  assert.is(inspectL7({ fwd: q, bwd: new Uint8Array(0), proto: 17, srcPort: 40000, dstPort: 53 }).dns_query, 'foo');
});

test('DNS query names of a real capture match tshark', async () => {
  requireTool('tshark', 'tshark');
  const file = new URL('../../../../shared/datasets/pcaps/medical-devices/babymonitor/wifi/6_1.pcap', import.meta.url).pathname;
  const { rows } = await parseCaptureFile(file);
  const ours = new Set(rows.filter((r) => r.l7_proto === 'dns').map((r) => r.dns_query));
  const r = await run('tshark', ['-r', file, '-Y', 'dns.flags.response == 0', '-T', 'fields', '-e', 'dns.qry.name']);
  const theirs = new Set(r.stdout.split('\n').filter((l) => l.trim() !== ''));
  assert.ok(theirs.size > 0);
  assert.equal([...ours].sort(), [...theirs].sort());
});

test.run();
