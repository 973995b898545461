/**
 * The ZeroMQ edge through its real interfaces: `heir sensor` and `heir gateway` processes over
 * tcp://127.0.0.1. The gateway is killed with SIGKILL in the middle of a 50,000-flow stream and
 * started again; with NATS JetStream as the bus and a `heir run --role worker`, the DuckDB flow
 * count equals the input count exactly. Garbage sent to the gateway is dead-lettered with the
 * reason and the gateway goes on. A capture streamed on standard input through sensor and gateway
 * (in-process store) yields the same flows as `heir ingest`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dealer } from 'zeromq';
import { freePort, startNats, type NatsServer } from '../helpers/nats.ts';
import { heir, heirChild } from '../helpers/cli.ts';
import { openStore } from '../../pipeline/store.ts';
import { batchMessage, readAck } from '../../pipeline/edge/protocol.ts';
import { seededRandom } from '../../pipeline/random.ts';

const COUNT = Number(process.env.HEIR_EDGE_FLOWS ?? 50_000);
const CAPTURE = new URL('../../../shared/datasets/pcaps/medical-devices/babymonitor/wifi/1_1.pcap', import.meta.url).pathname;
let nats: NatsServer;
let dir: string;
const children = new Set<ChildProcess>();

test.before(async () => {
  nats = await startNats();
  dir = mkdtempSync(join(tmpdir(), 'heir-edge-'));
});
test.after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A background `heir` process whose stderr is collected. */
function start(args: string[]): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = heirChild(args);
  children.add(child);
  let text = '';
  child.stderr!.on('data', (d) => (text += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => text, exited };
}

/** Resolve once `predicate(stderr)` holds; fail with the stderr when the process exits first or time runs out. */
async function until(p: ReturnType<typeof start>, predicate: (stderr: string) => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate(p.stderr())) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`process exited (${p.child.exitCode ?? p.child.signalCode}) before ${what}:\n${p.stderr()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `promise`, or a failure naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const lastCounter = (stderr: string, name: string) => [...stderr.matchAll(new RegExp(`"${name}":(\\d+)`, 'g'))].map((m) => Number(m[1])).pop() ?? 0;

test(`${COUNT} flows through sensor → gateway → NATS → worker survive kill -9 of the gateway, exactly once; garbage is dead-lettered`, async () => {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const db = join(dir, 'nats-site.duckdb');
  const gatewayArgs = ['gateway', '--bind', endpoint, '--nats', nats.url, '--site', 'edge-site', '--stats', '0.1'];
  const first = start(gatewayArgs);
  await until(first, (s) => s.includes('listening on'), 'the gateway listening');

  // Garbage: a message that is no batch at all, and a batch whose frame is random bytes.
  const random = seededRandom(11);
  const garbage = Uint8Array.from({ length: 300 }, () => Math.floor(random() * 256));
  const rogue = new Dealer({ linger: 0 });
  rogue.connect(endpoint);
  await rogue.send([garbage]);
  await rogue.send(batchMessage('rogue:bad-frame', garbage));
  const reply = await within(rogue.receive(), 30_000, () => `no acknowledgement for the bad frame:\n${first.stderr()}`);
  rogue.close();
  assert.equal(readAck(reply), { id: 'rogue:bad-frame', status: 'dead-letter' }, 'a bad frame with a batch id is acknowledged as dead-lettered');
  await until(first, (s) => lastCounter(s, 'deadLetters') >= 2, 'both garbage messages dead-lettered');

  const sensor = start(['sensor', '--connect', endpoint, '--site', 'edge-site', '--sensor', 'edge-s1', '--window', '8', '--resend', '1', '--batch', '1000', 'synthetic', String(COUNT), '--seed', '5']);
  // Kill the gateway once a fifth of the stream is on the bus.
  await until(first, (s) => lastCounter(s, 'rows') >= COUNT / 5, 'a fifth of the flows published');
  first.child.kill('SIGKILL');
  await first.exited;
  const publishedBeforeKill = lastCounter(first.stderr(), 'rows');
  assert.ok(publishedBeforeKill < COUNT, `the gateway was killed mid-stream (after ${publishedBeforeKill} flows)`);
  await new Promise((r) => setTimeout(r, 500));
  assert.is(sensor.child.exitCode, null, `the sensor waits for the gateway:\n${sensor.stderr()}`);

  const second = start(gatewayArgs);
  const sensorCode = await within(sensor.exited, 240_000, () => `the sensor did not finish after the gateway restart:\n${sensor.stderr()}\n${second.stderr()}`);
  assert.is(sensorCode, 0, sensor.stderr());
  assert.is(lastCounter(sensor.stderr(), 'rows'), COUNT, 'the sensor sent every flow');
  assert.is(lastCounter(sensor.stderr(), 'unacked'), 0);
  // Whether batches had to be resent depends on where the kill landed: batches still queued in the
  // sensor's socket reach the new gateway without a resend. Exactly-once below is what must hold.
  second.child.kill('SIGTERM');
  assert.is(await second.exited, 0, second.stderr());

  const worker = await heir(['run', '--role', 'worker', '--nats', nats.url, '--db', db, '--site', 'edge-site', '--idle-exit', '3'], { timeoutMs: 300_000 });
  assert.is(worker.code, 0, worker.stderr);

  const store = await openStore(db, { readOnly: true });
  const [flows] = await store.all<{ n: number; distinct: number }>('SELECT count(*)::INTEGER AS n, count(DISTINCT flow_id)::INTEGER AS distinct FROM flows');
  const dead = await store.all<{ stage: string; reason: string; batch_id: string }>("SELECT stage, reason, batch_id FROM dead_letters ORDER BY batch_id");
  await store.close();
  assert.is(flows.distinct, COUNT, 'every flow stored');
  assert.is(flows.n, COUNT, 'no flow stored twice');
  assert.is(dead.length, 2, JSON.stringify(dead));
  assert.ok(dead.every((d) => d.stage === 'edge'), JSON.stringify(dead));
  const notBatch = dead.find((d) => d.batch_id.startsWith('edge-bad:'));
  const badFrame = dead.find((d) => d.batch_id === 'rogue:bad-frame');
  assert.match(notBatch?.reason ?? '', /not a batch message/);
  assert.match(badFrame?.reason ?? '', /malformed batch frame|not an Arrow IPC stream/);
});

test('a capture streamed through sensor and gateway (in-process store) gives the flows heir ingest gives', async () => {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const db = join(dir, 'local-site.duckdb');
  const gateway = start(['gateway', '--bind', endpoint, '--db', db, '--site', 'local']);
  await until(gateway, (s) => s.includes('listening on'), 'the gateway listening');
  // The capture arrives on standard input, as from `tcpdump -i IFACE -w -`.
  const sensor = await heir(['sensor', '--connect', endpoint, '--site', 'local', '--sensor', 'wifi-1', '--batch', '50', 'pcap', '-'], { input: readFileSync(CAPTURE) });
  assert.is(sensor.code, 0, sensor.stderr);
  gateway.child.kill('SIGINT');
  assert.is(await gateway.exited, 0, gateway.stderr());

  // Standard input on both sides: a live stream, with the same live flow timeouts.
  const ingest = await heir(['ingest', 'pcap', '-', '--json', '--site', 'local', '--sensor', 'wifi-1'], { input: readFileSync(CAPTURE) });
  assert.is(ingest.code, 0, ingest.stderr);
  const expected = ingest.stdout.trim().split('\n').map((l) => JSON.parse(l).flow_id as string).sort();
  assert.ok(expected.length > 0, 'the capture has flows');
  const store = await openStore(db, { readOnly: true });
  const stored = (await store.all<{ flow_id: string }>('SELECT flow_id FROM flows ORDER BY flow_id')).map((r) => r.flow_id);
  await store.close();
  assert.equal(stored, expected);
  assert.is(lastCounter(sensor.stderr, 'rows'), expected.length);
});

test('sensor and gateway usage errors', async () => {
  const noConnect = await heir(['sensor', 'pcap', CAPTURE]);
  assert.is(noConnect.code, 2);
  assert.match(noConnect.stderr, /--connect/);
  const badFormat = await heir(['sensor', '--connect', 'tcp://127.0.0.1:1', 'pcapx', CAPTURE]);
  assert.is(badFormat.code, 2);
  assert.match(badFormat.stderr, /unknown format 'pcapx'/);
  const badBind = await heir(['gateway', '--bind', 'tcp://nowhere-host:x', '--db', join(dir, 'x.duckdb')]);
  assert.is(badBind.code, 1, badBind.stderr);
  assert.match(badBind.stderr, /cannot bind tcp:\/\/nowhere-host:x/);
});

test.run();
