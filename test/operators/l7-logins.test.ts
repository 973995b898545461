/**
 * Cleartext logins between real programs on loopback, recorded with tcpdump and read back by the
 * pcap parser. Telnet: the real inetutils telnetd (spawned per connection on the accepted socket by
 * a small inetd-like Node server, with `-E` pointing at a login script that prompts like login(1)
 * and always refuses) and the real `telnet` client driven through a pipe. FTP: vsftpd standalone
 * with its own config and `curl ftp://`. HTTP: a Node http server asking for Basic auth and `curl -u`.
 * SSH: the real OpenSSH client against a Node server that only exchanges identification strings.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256Hex } from '../../operators/l7/bytes.ts';
import { background, captureLoopback, freePort, requireTool, run, waitForPort } from '../helpers/loopback.ts';
import { keepCapture, parseCaptureFile } from '../helpers/pcap.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-l7-logins-'));
chmodSync(dir, 0o755);
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('Telnet: telnetd prompts, the telnet client types a wrong password; user, hash and failure are seen', async () => {
  requireTool('/usr/sbin/telnetd', 'inetutils-telnetd');
  requireTool('telnet', 'telnet');
  const script = join(dir, 'login.sh');
  writeFileSync(
    script,
    "#!/bin/sh\nprintf 'HEIR test telnet service\\r\\n\\r\\nlogin: '\nread user\nprintf 'Password: '\nstty -echo 2>/dev/null\nread pass\nstty echo 2>/dev/null\nprintf '\\r\\nLogin incorrect\\r\\n'\nsleep 1\n",
  );
  chmodSync(script, 0o755);
  const port = await freePort();
  // inetd-like: telnetd gets the accepted connection as its stdin/stdout.
  const server = createServer({ pauseOnConnect: true }, (sock) => {
    const daemon = spawn('/usr/sbin/telnetd', ['-h', '-E', script], { stdio: [sock, sock, 'ignore'] });
    daemon.on('exit', () => sock.destroy());
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const file = join(dir, 'telnet-login.pcap');
  const capture = await captureLoopback(file, `tcp port ${port}`);
  const client = spawn('telnet', ['127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'ignore'] });
  let screen = '';
  let step = 0;
  client.stdout.on('data', (d) => {
    screen += d;
    if (step === 0 && /login: $/.test(screen)) client.stdin.write('nurse\n'), (step = 1);
    if (step === 1 && /Password: ?$/.test(screen)) client.stdin.write('wrong\n'), (step = 2);
    if (step === 2 && /Login incorrect/.test(screen)) setTimeout(() => client.stdin.end(), 300), (step = 3);
  });
  const killer = setTimeout(() => client.kill('SIGKILL'), 10_000);
  await once(client, 'exit');
  clearTimeout(killer);
  await capture.stop();
  server.close();
  assert.is(step, 3, `the login dialogue did not complete: ${JSON.stringify(screen)}`);
  keepCapture(file, 'telnet-login.pcap');
  const { rows } = await parseCaptureFile(file);
  assert.is(rows.length, 1);
  const r = rows[0];
  assert.is(r.l7_proto, 'telnet');
  assert.is(r.login_protocol, 'telnet');
  assert.is(r.login_user, 'nurse');
  assert.is(r.login_secret_sha256, sha256Hex('wrong'));
  assert.is(r.login_failures, 1);
  assert.is(r.banner, 'HEIR test telnet service');
  assert.is(r.dst_port, port);
});

test('FTP: vsftpd refuses curl; banner, user, password hash and the 530 are seen', async () => {
  requireTool('vsftpd', 'vsftpd');
  requireTool('curl', 'curl');
  const port = await freePort();
  const conf = join(dir, 'vsftpd.conf');
  writeFileSync(
    conf,
    [
      'listen=YES',
      'listen_ipv6=NO',
      'listen_address=127.0.0.1',
      `listen_port=${port}`,
      'background=NO',
      'anonymous_enable=NO',
      'local_enable=YES',
      'ftpd_banner=HEIR test FTP service ready',
      'secure_chroot_dir=/var/run/vsftpd/empty',
      'pam_service_name=vsftpd',
      'seccomp_sandbox=NO',
      'xferlog_enable=NO',
      'delay_failed_login=0',
      '',
    ].join('\n'),
  );
  const ftpd = background('vsftpd', [conf]);
  try {
    await waitForPort(port).catch((e) => {
      throw new Error(`${e.message}; vsftpd said: ${ftpd.output()}`);
    });
    const file = join(dir, 'ftp-login.pcap');
    const capture = await captureLoopback(file, `tcp port ${port}`);
    const got = await run('curl', ['-s', `ftp://nurse:wrong@127.0.0.1:${port}/`]);
    await capture.stop();
    assert.is(got.code, 67, 'curl should report a refused login (exit 67)');
    keepCapture(file, 'ftp-login.pcap');
    const { rows } = await parseCaptureFile(file);
    const r = rows.find((x) => x.l7_proto === 'ftp');
    assert.ok(r, `no FTP flow among ${rows.length}`);
    assert.is(r.banner, 'HEIR test FTP service ready');
    assert.is(r.login_protocol, 'ftp');
    assert.is(r.login_user, 'nurse');
    assert.is(r.login_secret_sha256, sha256Hex('wrong'));
    assert.is(r.login_failures, 1);
  } finally {
    await ftpd.stop();
  }
});

test('HTTP: Basic auth from curl, accepted then refused; request facts, Server header, 401 counted', async () => {
  requireTool('curl', 'curl');
  const good = 'Basic ' + Buffer.from('admin:admin').toString('base64');
  const server = createHttpServer((req, res) => {
    const ok = req.headers.authorization === good;
    res.writeHead(ok ? 200 : 401, { Server: 'HeirTestServer/1.0', 'WWW-Authenticate': 'Basic realm="pump"' });
    res.end(ok ? '{"state":"running"}' : 'denied');
  });
  server.keepAliveTimeout = 100;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const file = join(dir, 'http-basic.pcap');
  const capture = await captureLoopback(file, `tcp port ${port}`);
  const url = `http://127.0.0.1:${port}/pump/status?bed=12`;
  const ok = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-A', 'HeirTest/1.0', '-u', 'admin:admin', url]);
  const refused = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-A', 'HeirTest/1.0', '-u', 'admin:guess', url]);
  await capture.stop();
  server.close();
  assert.is(ok.stdout, '200');
  assert.is(refused.stdout, '401');
  keepCapture(file, 'http-basic.pcap');
  const { rows } = await parseCaptureFile(file);
  assert.is(rows.length, 2);
  const [first, second] = rows.sort((a, b) => a.ts_start - b.ts_start);
  for (const r of [first, second]) {
    assert.is(r.l7_proto, 'http');
    assert.is(r.http_method, 'GET');
    assert.is(r.http_host, `127.0.0.1:${port}`);
    assert.is(r.http_path, '/pump/status');
    assert.is(r.http_user_agent, 'HeirTest/1.0');
    assert.is(r.http_basic_auth, true);
    assert.is(r.http_server, 'HeirTestServer/1.0');
    assert.is(r.login_protocol, 'http-basic');
    assert.is(r.login_user, 'admin');
  }
  assert.is(first.login_secret_sha256, sha256Hex('admin'));
  assert.is(first.login_failures, 0);
  assert.is(second.login_secret_sha256, sha256Hex('guess'));
  assert.is(second.login_failures, 1);
});

test('SSH: the server identification string is the banner', async () => {
  requireTool('ssh', 'openssh-client');
  const port = await freePort();
  const server = createServer((sock) => {
    sock.write('SSH-2.0-PumpSSH_2.4 vendor build\r\n');
    sock.once('data', () => setTimeout(() => sock.end(), 50));
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const file = join(dir, 'ssh-banner.pcap');
  const capture = await captureLoopback(file, `tcp port ${port}`);
  const ssh = await run('ssh', ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-p', String(port), 'nurse@127.0.0.1', 'true']);
  await capture.stop();
  server.close();
  assert.is.not(ssh.code, 0, 'the handshake cannot complete against an identification-only server');
  keepCapture(file, 'ssh-banner.pcap');
  const { rows } = await parseCaptureFile(file);
  assert.is(rows.length, 1);
  assert.is(rows[0].l7_proto, 'ssh');
  assert.is(rows[0].banner, 'SSH-2.0-PumpSSH_2.4 vendor build');
});

test.run();
