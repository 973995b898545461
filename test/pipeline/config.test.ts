import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../pipeline/config.ts';
import { openSite, runSite } from '../../pipeline/site.ts';
import { ipv4, pcapFile, udp } from '../helpers/packets.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function fails(path: string, pattern: RegExp) {
  try {
    loadConfig(path, {}, {});
    assert.unreachable(`${path} should be refused`);
  } catch (error) {
    assert.is((error as { code?: string }).code, (error as { code?: string }).code?.startsWith('HEIR_CONFIG') ? (error as { code: string }).code : 'HEIR_CONFIG_INVALID');
    assert.match((error as Error).message, pattern);
  }
}

test('TOML and JSON configs give the same pipeline, with defaults filled in', () => {
  const toml = loadConfig(file('a.toml', 'site = "st-mary"\nstore = "x.duckdb"\noperators = ["hunt"]\n[bus]\nmax_in_flight = 8\n[[sources]]\nformat = "pcap"\npath = "a.pcap"\n'), {}, {});
  const json = loadConfig(file('a.json', JSON.stringify({ site: 'st-mary', store: 'x.duckdb', operators: ['hunt'], bus: { max_in_flight: 8 }, sources: [{ format: 'pcap', path: 'a.pcap' }] })), {}, {});
  assert.equal(toml, json);
  assert.is(toml.bus.kind, 'memory');
  assert.is(toml.bus.maxInFlight, 8);
  assert.is(toml.batch.maxRows, 2000);
  assert.is(toml.storeThread, false);
  assert.is(loadConfig(file('st.toml', 'store_thread = true\n'), {}, {}).storeThread, true);
});

test('environment and flags override the file, flags last; a NATS URL switches the bus', () => {
  const path = file('b.json', JSON.stringify({ site: 'file-site', store: 'file.duckdb' }));
  const env = loadConfig(path, {}, { HEIR_SITE: 'env-site', HEIR_NATS_URL: 'nats://10.0.0.1:4222' });
  assert.is(env.site, 'env-site');
  assert.is(env.bus.kind, 'nats');
  const flags = loadConfig(path, { site: 'flag-site', store: 'flag.duckdb', nats: 'nats://127.0.0.1:4333' }, { HEIR_SITE: 'env-site' });
  assert.equal([flags.site, flags.store, flags.bus.url], ['flag-site', 'flag.duckdb', 'nats://127.0.0.1:4333']);
});

test('every bad key is named with what was expected', () => {
  fails(file('c.json', '{"site": "x", "bsu": {}}'), /c\.json: unknown key 'bsu' \(known keys: site, sensor, store/);
  fails(file('d.json', '{"bus": {"max_in_flight": 0}}'), /bus\.max_in_flight: expected an integer from 1 to 1024, got 0/);
  fails(file('e.json', '{"bus": {"kind": "kafka"}}'), /bus\.kind: expected one of memory, nats, got "kafka"/);
  fails(file('f.json', '{"sources": [{"format": "pcap"}]}'), /sources\[0\]: path is required for format pcap/);
  fails(file('g.json', '{"sources": [{"format": "pcap", "path": "x", "colour": 1}]}'), /sources\[0\]: unknown key 'colour'/);
  fails(file('h.toml', 'site = \n'), /h\.toml: not valid TOML/);
  fails(file('i.json', '{"site": 3}'), /site: expected a non-empty string, got 3/);
  fails(file('k.json', '{"store_thread": "yes"}'), /store_thread: expected true or false, got "yes"/);
  fails(file('j.json', '{"bus": {"kind": "nats"}}'), /bus\.kind is nats but no bus\.url/);
  fails(join(dir, 'missing.json'), /cannot read config .*missing\.json/);
});

test('no operators key runs the default chain; operators = [] runs none', async () => {
  const pcap = join(import.meta.dirname, '../../datasets/samples/medical-devices/kardiamobile-5_6.pcap');
  assert.is(loadConfig(file('k.toml', 'site = "s"\n'), {}, {}).operators, undefined);
  assert.equal(loadConfig(file('l.toml', 'operators = []\n'), {}, {}).operators, []);
  const tablesOf = async (name: string, operators: string) => {
    const config = loadConfig(file(`${name}.toml`, `store = "${join(dir, `${name}.duckdb`)}"\n${operators}[[sources]]\nformat = "pcap"\npath = "${pcap}"\n`), {}, {});
    const site = await openSite(config);
    try {
      await runSite(site, new AbortController().signal, 200);
      return (await site.store!.tables()).sort();
    } finally {
      await site.close();
    }
  };
  const defaults = await tablesOf('m', '');
  for (const t of ['flows', 'flow_features', 'detections', 'findings', 'device_observations']) assert.ok(defaults.includes(t), `default chain wrote no ${t} table: ${defaults.join(', ')}`);
  const none = await tablesOf('n', 'operators = []\n');
  assert.ok(none.includes('flows'), none.join(', '));
  for (const t of ['flow_features', 'detections', 'findings', 'device_observations']) assert.not.ok(none.includes(t), `operators = [] still wrote ${t}`);
});

test('a pcap source sets its own flow timeouts; other formats refuse them', async () => {
  // One UDP conversation with a 20 s pause: the 60 s default keeps one flow, a 5 s idle timeout cuts it in two.
  const packet = (seconds: number) => ({ ts: 1_700_000_000_000_000 + seconds * 1e6, data: ipv4('10.0.0.1', '10.0.0.2', 17, udp(5000, 6000, new Uint8Array(8))) });
  const pcap = join(dir, 'pause.pcap');
  writeFileSync(pcap, pcapFile(101, [packet(0), packet(1), packet(21), packet(22)]));
  const flowsWith = async (name: string, keys: string) => {
    const config = loadConfig(file(`${name}.toml`, `store = "${join(dir, `${name}.duckdb`)}"\noperators = []\n[[sources]]\nformat = "pcap"\npath = "${pcap}"\n${keys}`), {}, {});
    const site = await openSite(config);
    try {
      await runSite(site, new AbortController().signal, 200);
      return await site.store!.count('flows');
    } finally {
      await site.close();
    }
  };
  assert.is(await flowsWith('t-default', ''), 1);
  assert.is(await flowsWith('t-idle', 'idle_timeout_s = 5\n'), 2);
  const parsed = loadConfig(file('t.toml', '[[sources]]\nformat = "pcap"\npath = "-"\nidle_timeout_s = 2.5\nactive_timeout_s = 20\n'), {}, {});
  assert.is(parsed.sources[0].idleTimeoutS, 2.5);
  assert.is(parsed.sources[0].activeTimeoutS, 20);
  fails(file('u.toml', '[[sources]]\nformat = "zeek"\npath = "conn.log"\nidle_timeout_s = 5\n'), /sources\[0\]: idle_timeout_s applies to format pcap only, not zeek/);
  fails(file('v.toml', '[[sources]]\nformat = "pcap"\npath = "-"\nidle_timeout_s = 0\n'), /sources\[0\]\.idle_timeout_s: expected seconds from 0\.001 to 86400, got 0/);
  fails(file('w.toml', '[[sources]]\nformat = "pcap"\npath = "-"\nidle_timeout_s = 60\nactive_timeout_s = 30\n'), /active_timeout_s \(30\) is shorter than idle_timeout_s \(60\)/);
});

test.run();
