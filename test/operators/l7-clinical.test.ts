/**
 * Clinical protocols between real programs on loopback, recorded with tcpdump and read back by the
 * pcap parser: HL7 v2 over MLLP (python3-hl7's mllp_send to a Node MLLP listener that ACKs),
 * DICOM (dcmtk echoscu to storescp) and MQTT with a password (mosquitto_pub to mosquitto).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256Hex } from '../../operators/l7/bytes.ts';
import { background, captureLoopback, freePort, requireTool, run, waitForPort } from '../helpers/loopback.ts';
import { keepCapture, parseCaptureFile } from '../helpers/pcap.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-l7-clinical-'));
// Servers that drop privileges (mosquitto) must still read their files here.
chmodSync(dir, 0o755);
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('HL7 v2 over MLLP: mllp_send to an ACKing listener yields MSH facts', async () => {
  requireTool('mllp_send', 'python3-hl7');
  const port = await freePort();
  const server = createServer((sock: Socket) => {
    let pending = Buffer.alloc(0);
    sock.on('data', (d) => {
      pending = Buffer.concat([pending, d]);
      const end = pending.indexOf(0x1c);
      if (end < 0) return;
      const control = /MSH\|[^\r]*/.exec(pending.toString('latin1'))?.[0].split('|')[9] ?? '0';
      pending = pending.subarray(end + 2);
      sock.write(`\x0bMSH|^~\\&|HIS|HOSP|PUMPCTRL|WARD7|20240101120001||ACK^R01|ACK${control}|P|2.5\rMSA|AA|${control}\r\x1c\r`);
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const file = join(dir, 'hl7-mllp.pcap');
  const capture = await captureLoopback(file, `tcp port ${port}`);
  const message = join(dir, 'oru.hl7');
  writeFileSync(
    message,
    'MSH|^~\\&|PUMPCTRL|WARD7|HIS|HOSP|20240101120000||ORU^R01^ORU_R01|MSG00001|P|2.5\r\nPID|1||123456^^^HOSP^MR||DOE^JANE\r\nOBX|1|NM|8867-4^Heart rate^LN||72|/min|||||F\r\n',
  );
  const sent = await run('mllp_send', ['--loose', '--file', message, '-p', String(port), '127.0.0.1']);
  await capture.stop();
  server.close();
  assert.is(sent.code, 0, `mllp_send failed: ${sent.stderr}`);
  assert.match(sent.stdout, /MSA\|AA\|MSG00001/);
  keepCapture(file, 'hl7-mllp.pcap');
  const { rows, deadLetters } = await parseCaptureFile(file);
  assert.is(deadLetters.length, 0);
  assert.is(rows.length, 1);
  const r = rows[0];
  assert.is(r.l7_proto, 'hl7-mllp');
  assert.is(r.hl7_message_type, 'ORU^R01');
  assert.is(r.hl7_sending_app, 'PUMPCTRL');
  assert.is(r.hl7_sending_facility, 'WARD7');
  assert.is(r.hl7_version, '2.5');
  assert.is(r.dst_port, port);
  assert.is(r.src_addr, '127.0.0.1');
  assert.is(r.end_reason, 'fin');
  assert.is(r.syn_count, 2);
  assert.is(r.link_type, 1);
});

test('DICOM: echoscu association with storescp yields AE titles and implementation facts', async () => {
  requireTool('storescp', 'dcmtk');
  const port = await freePort();
  const scp = background('storescp', ['-aet', 'PACS_ARCHIVE', '--output-directory', dir, String(port)]);
  try {
    await waitForPort(port);
    const file = join(dir, 'dicom-echo.pcap');
    // The readiness probe above is a connection too: start recording only after it.
    const capture = await captureLoopback(file, `tcp port ${port}`);
    const echo = await run('echoscu', ['-aet', 'INFUSION_GW', '-aec', 'PACS_ARCHIVE', '127.0.0.1', String(port)]);
    await capture.stop();
    assert.is(echo.code, 0, `echoscu failed: ${echo.stderr}`);
    keepCapture(file, 'dicom-echo.pcap');
    const { rows } = await parseCaptureFile(file);
    const r = rows.find((x) => x.l7_proto === 'dicom');
    assert.ok(r, `no DICOM flow among ${rows.length}`);
    assert.is(r.dicom_called_ae, 'PACS_ARCHIVE');
    assert.is(r.dicom_calling_ae, 'INFUSION_GW');
    assert.match(r.dicom_impl_class_uid ?? '', /^1\.2\.276\.0\.7230010\.3\./);
    assert.match(r.dicom_impl_version ?? '', /^OFFIS_DCMTK_\d+/);
    assert.is(r.dst_port, port);
  } finally {
    await scp.stop();
  }
});

test('MQTT: mosquitto_pub with a password (v3.1.1 and v5) and a refused one', async () => {
  requireTool('mosquitto', 'mosquitto');
  requireTool('mosquitto_pub', 'mosquitto-clients');
  const port = await freePort();
  const passwords = join(dir, 'passwd');
  const made = await run('mosquitto_passwd', ['-b', '-c', passwords, 'nurse', 'S3cret!']);
  assert.is(made.code, 0, made.stderr);
  chmodSync(passwords, 0o644);
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${passwords}\npersistence false\n`);
  const broker = background('mosquitto', ['-c', conf]);
  try {
    await waitForPort(port).catch((e) => {
      throw new Error(`${e.message}; mosquitto said: ${broker.output()}`);
    });
    const file = join(dir, 'mqtt-login.pcap');
    const capture = await captureLoopback(file, `tcp port ${port}`);
    const pub = (id: string, password: string, version: string) =>
      run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-u', 'nurse', '-P', password, '-i', id, '-t', 'ward7/pump', '-m', '{"rate_ml_h":12}']);
    const ok = await pub('pump-17', 'S3cret!', 'mqttv311');
    const ok5 = await pub('pump-19', 'S3cret!', 'mqttv5');
    const refused = await pub('pump-18', 'wrong', 'mqttv311');
    await capture.stop();
    assert.is(ok.code, 0, ok.stderr);
    assert.is(ok5.code, 0, ok5.stderr);
    assert.is.not(refused.code, 0);
    keepCapture(file, 'mqtt-login.pcap');
    const { rows } = await parseCaptureFile(file);
    const byClient = new Map(rows.filter((r) => r.l7_proto === 'mqtt').map((r) => [r.mqtt_client_id, r]));
    for (const id of ['pump-17', 'pump-19']) {
      const r = byClient.get(id);
      assert.ok(r, `no MQTT flow for ${id}`);
      assert.is(r.mqtt_username, true);
      assert.is(r.mqtt_password, true);
      assert.is(r.login_protocol, 'mqtt');
      assert.is(r.login_user, 'nurse');
      assert.is(r.login_secret_sha256, sha256Hex('S3cret!'));
      assert.is(r.login_failures, 0);
    }
    const bad = byClient.get('pump-18');
    assert.ok(bad, 'no MQTT flow for the refused client');
    assert.is(bad.login_secret_sha256, sha256Hex('wrong'));
    assert.is(bad.login_failures, 1);
  } finally {
    await broker.stop();
  }
});

test.run();
