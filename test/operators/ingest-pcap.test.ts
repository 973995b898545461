/**
 * The pcap parser on real captures (the medical-device WiFi and BLE captures, nDPI's MQTT pcapng,
 * the loopback fixtures, a live `tcpdump -w -` stream), on every link type and file variant it
 * reads, and on broken input: empty and foreign files, truncated and absurd records.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePcap, parser, pcapStats } from '../../operators/ingest-pcap.ts';
import { CaptureReader } from '../../operators/pcap/reader.ts';
import { InputError } from '../../pipeline/errors.ts';
import { flowRows, type FlowRow } from '../../pipeline/flow-schema.ts';
import type { DeadLetter } from '../../pipeline/types.ts';
import { captureLoopback, requireTool, run } from '../helpers/loopback.ts';
import { chunked, nullLink, pcapFile, pcapngFile, radiotap, sll, sll2, wifiData, type Frame } from '../helpers/packets.ts';
import { parseCaptureFile } from '../helpers/pcap.ts';

const SHARED = new URL('../../../shared/datasets/pcaps/', import.meta.url).pathname;
const FIXTURES = new URL('../fixtures/pcaps/', import.meta.url).pathname;

interface Parsed {
  rows: FlowRow[];
  dead: DeadLetter[];
  offsets: number[];
}

async function parseBytes(bytes: Uint8Array, sizes: number[] = [65536], input = 'mem.pcap'): Promise<Parsed> {
  const rows: FlowRow[] = [];
  const dead: DeadLetter[] = [];
  const offsets: number[] = [];
  for await (const out of parser.parse(chunked(bytes, sizes), { site: 's', sensor: 'x', input, batchSize: 100 })) {
    if (out.flows) rows.push(...flowRows(out.flows));
    if (out.deadLetters) dead.push(...out.deadLetters);
    offsets.push(out.offset);
  }
  return { rows, dead, offsets };
}

async function rejects(bytes: Uint8Array, input: string): Promise<InputError> {
  try {
    await parseBytes(bytes, [65536], input);
  } catch (error) {
    assert.instance(error, InputError);
    return error as InputError;
  }
  throw new assert.Assertion({ message: `${input} should have been rejected`, generated: false, operator: 'throws', expects: 'InputError', actual: 'nothing' });
}

/** The frames of a capture file, read with the project's reader. */
function framesOf(file: string): { linkType: number; frames: Frame[] } {
  const frames: Frame[] = [];
  const reader = new CaptureReader(file, {
    packet: (data, start, caplen, _wire, ts) => frames.push({ ts, data: data.slice(start, start + caplen) }),
    bad: (reason) => assert.unreachable(reason),
  });
  reader.push(readFileSync(file));
  reader.end();
  return { linkType: reader.fileLinkType, frames };
}

function listPcaps(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.pcap'))
    .map((f) => join(dir, f))
    .sort();
}

/** Rows without the columns that legitimately differ between link types. */
const comparable = (rows: FlowRow[]) =>
  rows.map((r) => ({ ...r, src_mac: null, dst_mac: null, link_type: null, vlan_id: null })).sort((a, b) => (a.flow_id < b.flow_id ? -1 : 1));

test('every medical-device capture parses; BLE and empty files are reported per file', async () => {
  const files = listPcaps(join(SHARED, 'medical-devices'));
  assert.ok(files.length > 300, `expected the shared captures, found ${files.length}`);
  const outcome = { wifi: 0, ble: 0, empty: 0, flows: 0 };
  const l7 = new Map<string, number>();
  for (const file of files) {
    const size = statSync(file).size;
    const stats = pcapStats();
    try {
      for await (const out of parsePcap(chunked(readFileSync(file), [65536]), { site: 's', sensor: 'x', input: file, batchSize: 1000, stats })) {
        for (const r of out.flows ? flowRows(out.flows) : []) {
          assert.is(r.link_type, 101);
          if (r.l7_proto) l7.set(r.l7_proto, (l7.get(r.l7_proto) ?? 0) + 1);
          outcome.flows++;
        }
      }
      assert.equal(stats.linkTypes, [101], file);
      assert.is(stats.deadLetters, 0, file);
      outcome.wifi++;
    } catch (error) {
      assert.instance(error, InputError, `${file}: ${error}`);
      const message = (error as Error).message;
      assert.ok(message.startsWith(file), 'the error names the file');
      if (size === 0) {
        assert.match(message, /empty capture file/);
        outcome.empty++;
      } else {
        assert.match(message, /Bluetooth LE capture \(link type 272\): no IP flows/);
        assert.match(file, /bluetooth/);
        outcome.ble++;
      }
    }
  }
  assert.ok(outcome.wifi > 250 && outcome.ble > 20 && outcome.empty > 10, JSON.stringify(outcome));
  assert.ok((l7.get('tls') ?? 0) > 1000 && (l7.get('dns') ?? 0) > 100 && (l7.get('http') ?? 0) > 50, JSON.stringify([...l7]));
});

test('flows and packets of a WiFi capture agree with tshark', async () => {
  requireTool('tshark', 'tshark');
  const file = join(SHARED, 'medical-devices/babymonitor/wifi/6_1.pcap');
  const { rows } = await parseCaptureFile(file);
  const count = async (args: string[]) => (await run('tshark', ['-r', file, ...args])).stdout.split('\n').filter((l) => l.trim() !== '');
  const ipPackets = (await count(['-Y', 'ip || ipv6'])).length;
  const tcpStreams = new Set(await count(['-T', 'fields', '-e', 'tcp.stream'])).size;
  const udpStreams = new Set(await count(['-T', 'fields', '-e', 'udp.stream'])).size;
  assert.is(rows.reduce((n, r) => n + r.fwd_packets + r.bwd_packets, 0), ipPackets);
  assert.is(rows.filter((r) => r.ip_proto === 6).length, tcpStreams);
  assert.is(rows.filter((r) => r.ip_proto === 17).length, udpStreams);
  const sni = rows.filter((r) => r.tls_sni !== null);
  assert.ok(sni.length > 0 && sni.every((r) => r.l7_proto === 'tls'));
});

test("nDPI's MQTT sample (pcapng) yields MQTT facts", async () => {
  const { rows, deadLetters } = await parseCaptureFile(join(SHARED, 'protocol-samples/mqtt.pcap'));
  assert.is(deadLetters.length, 0);
  const mqtt = rows.filter((r) => r.l7_proto === 'mqtt');
  assert.is(mqtt.length, 2);
  for (const r of mqtt) {
    assert.is(r.dst_port, 1883);
    assert.ok(r.mqtt_client_id && r.mqtt_client_id.length > 0);
    assert.is(r.mqtt_password, true);
    assert.is(r.login_protocol, 'mqtt');
    assert.match(r.login_secret_sha256 ?? '', /^[0-9a-f]{64}$/);
  }
  const other = await parseCaptureFile(join(SHARED, 'protocol-samples/coap_mqtt.pcap'));
  assert.ok(other.rows.length > 0);
  assert.ok(other.rows.some((r) => r.l7_proto === 'mqtt'));
});

test('the loopback fixtures carry their facts (for reuse by other tests)', async () => {
  const expect: Record<string, (rows: FlowRow[]) => void> = {
    'hl7-mllp.pcap': (rows) => assert.ok(rows.some((r) => r.hl7_message_type === 'ORU^R01')),
    'dicom-echo.pcap': (rows) => assert.ok(rows.some((r) => r.dicom_calling_ae === 'INFUSION_GW')),
    'mqtt-login.pcap': (rows) => assert.is(rows.filter((r) => r.login_protocol === 'mqtt').length, 3),
    'telnet-login.pcap': (rows) => assert.ok(rows.some((r) => r.login_protocol === 'telnet' && r.login_failures === 1)),
    'ftp-login.pcap': (rows) => assert.ok(rows.some((r) => r.login_protocol === 'ftp' && r.login_user === 'nurse')),
    'http-basic.pcap': (rows) => assert.is(rows.filter((r) => r.http_basic_auth).length, 2),
    'ssh-banner.pcap': (rows) => assert.ok(rows.some((r) => r.l7_proto === 'ssh' && r.banner === 'SSH-2.0-PumpSSH_2.4 vendor build')),
    'tls10.pcap': (rows) => assert.ok(rows.some((r) => r.tls_version === 'TLS1.0')),
    'tls13.pcap': (rows) => assert.ok(rows.some((r) => r.tls_version === 'TLS1.3' && r.tls_sni === 'pump-17.ward7.example')),
  };
  for (const [name, check] of Object.entries(expect)) {
    const { rows, deadLetters } = await parseCaptureFile(join(FIXTURES, name));
    assert.is(deadLetters.length, 0, name);
    check(rows);
  }
});

test('chunk boundaries do not matter (1, 7, 1500 and 64 KiB pieces)', async () => {
  const bytes = readFileSync(join(FIXTURES, 'mqtt-login.pcap'));
  const whole = comparable((await parseBytes(bytes)).rows);
  for (const sizes of [[1], [7], [1500, 3, 11]]) assert.equal(comparable((await parseBytes(bytes, sizes)).rows), whole, `chunks ${sizes}`);
});

test('pcap big-endian and nanosecond, pcapng both byte orders and ns resolution: same flows', async () => {
  const { linkType, frames } = framesOf(join(FIXTURES, 'http-basic.pcap'));
  const reference = comparable((await parseBytes(pcapFile(linkType, frames))).rows);
  assert.is(reference.length, 2);
  const variants: Array<[string, Uint8Array]> = [
    ['pcap BE', pcapFile(linkType, frames, { bigEndian: true })],
    ['pcap ns', pcapFile(linkType, frames, { nanos: true })],
    ['pcap ns BE', pcapFile(linkType, frames, { nanos: true, bigEndian: true })],
    ['pcapng LE', pcapngFile(linkType, frames)],
    ['pcapng BE ns', pcapngFile(linkType, frames, { bigEndian: true, tsresol: 9 })],
  ];
  for (const [name, bytes] of variants) {
    const { rows, dead } = await parseBytes(bytes, [333]);
    assert.is(dead.length, 0, name);
    assert.equal(comparable(rows), reference, name);
  }
});

test('link types 101, 228, 113, 276, 0, 108, 105, 127 and VLAN-tagged Ethernet give the same flows', async () => {
  const { frames } = framesOf(join(FIXTURES, 'tls13.pcap'));
  const ip = frames.map((f) => ({ ts: f.ts, data: f.data.subarray(14) }));
  const reference = comparable((await parseBytes(pcapFile(1, frames))).rows);
  const tagged = frames.map((f) => {
    const d = new Uint8Array(f.data.length + 8);
    d.set(f.data.subarray(0, 12), 0);
    d.set([0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x07], 12);
    d.set(f.data.subarray(12), 20);
    return { ts: f.ts, data: d };
  });
  const wrap = (fn: (d: Uint8Array) => Uint8Array) => ip.map((f) => ({ ts: f.ts, data: fn(f.data) }));
  const cases: Array<[number, Frame[]]> = [
    [101, ip],
    [228, ip],
    [113, wrap((d) => sll(d))],
    [276, wrap((d) => sll2(d))],
    [0, wrap((d) => nullLink(d))],
    [108, wrap((d) => nullLink(d, true))],
    [105, wrap((d) => wifiData(d))],
    [127, wrap((d) => radiotap(wifiData(d)))],
    [1, tagged],
  ];
  for (const [linkType, fs] of cases) {
    const { rows, dead } = await parseBytes(pcapFile(linkType, fs));
    assert.is(dead.length, 0, `link type ${linkType}`);
    assert.equal(comparable(rows), reference, `link type ${linkType}`);
    assert.ok(rows.every((r) => r.link_type === linkType));
  }
  const vlan = (await parseBytes(pcapFile(1, tagged))).rows;
  assert.ok(vlan.every((r) => r.vlan_id === 100), 'outer VLAN id of a QinQ frame');
  const cooked = (await parseBytes(pcapFile(113, wrap((d) => sll(d, '02:00:00:00:00:01'))))).rows;
  assert.ok(cooked.every((r) => r.src_mac === '02:00:00:00:00:01'));
  const wifi = (await parseBytes(pcapFile(127, wrap((d) => radiotap(wifiData(d, '02:00:00:00:00:0a', '02:00:00:00:00:0b')))))).rows;
  assert.ok(wifi.every((r) => r.src_mac === '02:00:00:00:00:0a' && r.dst_mac === '02:00:00:00:00:0b'), 'ToDS frames: SA is address 2, DA address 3');
  // Encrypted data frames are not IP to us: counted, neither flows nor dead letters.
  const stats = pcapStats();
  let flows = 0;
  for await (const out of parsePcap(chunked(pcapFile(105, wrap((d) => wifiData(d, undefined, undefined, undefined, true)))), { site: 's', sensor: 'x', input: 'wpa.pcap', batchSize: 10, stats }))
    flows += out.flows?.numRows ?? 0;
  assert.is(flows, 0);
  assert.is(stats.nonIp, ip.length);
  assert.is(stats.deadLetters, 0);
});

test('a live tcpdump -w - stream parses like the file', async () => {
  requireTool('tcpdump', 'tcpdump');
  const file = join(FIXTURES, 'dicom-echo.pcap');
  const child = spawn('tcpdump', ['-r', file, '-w', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const rows: FlowRow[] = [];
  for await (const out of parser.parse(child.stdout, { site: 's', sensor: 'x', input: '-', batchSize: 10 })) if (out.flows) rows.push(...flowRows(out.flows));
  assert.equal(comparable(rows), comparable((await parseBytes(readFileSync(file))).rows));
  assert.ok(rows.some((r) => r.l7_proto === 'dicom'));
});

test('a real Linux cooked capture (tcpdump -i any) reads like Ethernet', async () => {
  const server = createHttpServer((_req, res) => res.end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'heir-sll-'));
  try {
    const file = join(dir, 'any.pcap');
    const capture = await captureLoopback(file, `tcp port ${port}`, 'any');
    const got = await run('curl', ['-s', '-A', 'SllTest/1', `http://127.0.0.1:${port}/sll`]);
    await capture.stop();
    assert.is(got.stdout, 'ok');
    const { rows, stats } = await parseCaptureFile(file);
    assert.ok(stats.linkTypes.every((t) => t === 113 || t === 276), `link types ${stats.linkTypes}`);
    const http = rows.filter((r) => r.l7_proto === 'http');
    assert.is(http.length, 1);
    assert.is(http[0].http_path, '/sll');
    assert.is(http[0].http_user_agent, 'SllTest/1');
    assert.is(http[0].end_reason, 'fin');
    assert.ok(http[0].link_type === 113 || http[0].link_type === 276);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('empty input and a foreign file are InputErrors naming the input', async () => {
  const empty = await rejects(new Uint8Array(0), 'empty.pcap');
  assert.match(empty.message, /^empty\.pcap: empty capture file/);
  const foreign = await rejects(new TextEncoder().encode('timestamp,src,dst\n1,2,3\n'), 'flows.csv');
  assert.match(foreign.message, /^flows\.csv: not a pcap or pcapng file \(magic 0x74696d65\)/);
  const short = await rejects(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1, 2, 0), 'short.pcap');
  assert.match(short.message, /truncated capture header/);
  const ble = await rejects(pcapFile(272, [{ ts: 1, data: new Uint8Array(30) }]), 'ble.pcap');
  assert.match(ble.message, /^ble\.pcap: Bluetooth LE capture \(link type 272\): no IP flows/);
});

test('a truncated final record is a dead letter; earlier flows are kept', async () => {
  const bytes = readFileSync(join(FIXTURES, 'ftp-login.pcap'));
  const cut = bytes.subarray(0, bytes.length - 5);
  const { rows, dead, offsets } = await parseBytes(cut, [100]);
  assert.is(dead.length, 1);
  assert.match(dead[0].reason, /truncated final record/);
  assert.is(dead[0].stage, 'parse');
  assert.is(dead[0].input, 'mem.pcap');
  assert.ok(rows.some((r) => r.l7_proto === 'ftp'));
  assert.is(offsets[offsets.length - 1], cut.length);
});

test('an absurd record length is rejected without allocating, and reading resynchronises', async () => {
  const { linkType, frames } = framesOf(join(FIXTURES, 'hl7-mllp.pcap'));
  const good = pcapFile(linkType, frames);
  const ref = comparable((await parseBytes(good)).rows);
  // Corrupt the 4th record's captured length to 0xFFFFFFF0 (4 GiB).
  let o = 24;
  for (let i = 0; i < 3; i++) o += 16 + new DataView(good.buffer, good.byteOffset).getUint32(o + 8, true);
  const bad = good.slice();
  new DataView(bad.buffer).setUint32(o + 8, 0xfffffff0, true);
  const started = performance.now();
  const { rows, dead } = await parseBytes(bad, [4096]);
  assert.ok(performance.now() - started < 2000);
  assert.is(dead.length, 1);
  assert.match(dead[0].reason, /record length 4294967280 exceeds 262144 bytes; skipped \d+ bytes/);
  assert.is(rows.length, 1);
  assert.is(rows[0].fwd_packets + rows[0].bwd_packets, ref[0].fwd_packets + ref[0].bwd_packets - 1, 'one packet lost, the rest read');
});

test('a packet with a cut IP header is a dead letter with its reason; parsing goes on', async () => {
  const { linkType, frames } = framesOf(join(FIXTURES, 'hl7-mllp.pcap'));
  const broken = [...frames.slice(0, 2), { ts: frames[2].ts, data: frames[2].data.subarray(0, 20) }, ...frames.slice(3)];
  const { rows, dead } = await parseBytes(pcapFile(linkType, broken));
  assert.is(dead.length, 1);
  assert.match(dead[0].reason, /packet 3: IPv4 header cut short \(6 of 20 bytes\)/);
  assert.ok(dead[0].payload instanceof Uint8Array && dead[0].payload.length === 20);
  assert.is(rows[0].hl7_message_type, 'ORU^R01');
});

test('parses one after another, side by side, after one stopped early and with other site names: the same flows as alone', async () => {
  // A finished parse leaves its builder to the next parse of the thread: nothing of one parse may show in another.
  const files = listPcaps(join(SHARED, 'medical-devices/babymonitor/wifi')).slice(0, 4);
  const parse = async (file: string, site = 's', batchSize = 100, idleTimeoutS = 60) => {
    const rows: FlowRow[] = [];
    // Small chunks: parses side by side take turns every 2 KiB.
    for await (const out of parser.parse(chunked(readFileSync(file), [2048]), { site, sensor: 'x', input: file, batchSize, idleTimeoutS })) if (out.flows) rows.push(...flowRows(out.flows));
    return rows;
  };
  const alone: FlowRow[][] = [];
  for (const f of files) alone.push(await parse(f));
  assert.ok(alone.every((rows) => rows.length > 0));
  // Again in reverse order, with a parse stopped after its first output in between.
  for await (const _ of parser.parse(chunked(readFileSync(files[3]), [4096]), { site: 's', sensor: 'x', input: files[3], batchSize: 3 })) break;
  for (let k = files.length - 1; k >= 0; k--) assert.equal(await parse(files[k]), alone[k], files[k]);
  // Two at once, flows ending all through both (1 s idle timeout, batches of 3 and 2), their chunks taken in turn.
  const want = [await parse(files[0], 's', 3, 1), await parse(files[1], 's', 2, 1)];
  assert.ok(want[0].length > 6 && want[1].length > 4);
  const [a, b] = await Promise.all([parse(files[0], 's', 3, 1), parse(files[1], 's', 2, 1)]);
  assert.equal(a, want[0]);
  assert.equal(b, want[1]);
  const other = await parse(files[2], 'ward-9');
  assert.equal(other.map((r) => r.site_id), alone[2].map(() => 'ward-9'));
  assert.ok(other.every((r, i) => r.flow_id !== alone[2][i].flow_id), 'the flow id carries the site');
  assert.equal(await parse(files[2]), alone[2]);
});

test.run();
