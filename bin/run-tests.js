#!/usr/bin/env node
// `npm test`: makes sure the real components the tests drive are installed, runs every
// test/**/*.test.ts file in its own Node.js process (two at a time), and prints one closing line
// `N passed, N failed`. Exits non-zero on any failure, and when no test ran at all.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cpus } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

// Debian packages the tests use, by the command that proves each is there.
const NEEDED = {
  'nats-server': 'nats-server', tcpdump: 'tcpdump', tshark: 'tshark', softflowd: 'softflowd', nfcapd: 'nfdump',
  ra: 'argus-client', argus: 'argus-server', mllp_send: 'python3-hl7', echoscu: 'dcmtk', mosquitto: 'mosquitto',
  mosquitto_pub: 'mosquitto-clients', telnet: 'telnet', telnetd: 'inetutils-telnetd', vsftpd: 'vsftpd', openssl: 'openssl',
  nmap: 'nmap', hping3: 'hping3', hydra: 'hydra', arpspoof: 'dsniff', x11vnc: 'x11vnc', dropbear: 'dropbear-bin', ip: 'iproute2',
  mergecap: 'wireshark-common', chromium: 'chromium', curl: 'curl', smbd: 'samba', smbclient: 'smbclient',
};

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd} || test -x /usr/sbin/${cmd}`], { stdio: 'ignore' }).status === 0;
}

function ensurePackages() {
  const missing = [...new Set(Object.entries(NEEDED).filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg))];
  if (have('python3') && spawnSync('/usr/bin/python3', ['-c', 'import sklearn'], { stdio: 'ignore' }).status !== 0) missing.push('python3-sklearn');
  if (missing.length === 0) return;
  const root = process.getuid?.() === 0;
  const sudo = !root && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (process.env.HEIR_NO_INSTALL || (!root && !sudo)) {
    console.error(`npm test needs these Debian packages: ${missing.join(' ')}\ninstall them with: sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
  console.error(`installing Debian packages the tests need: ${missing.join(' ')}`);
  const prefix = root ? [] : ['sudo', '-n'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync(prefix[0] ?? args[0], prefix.length ? [...prefix.slice(1), ...args] : args.slice(1), { stdio: 'inherit', env });
  let r = run(['apt-get', 'install', '-y', '-q', ...missing]);
  if (r.status !== 0) {
    run(['apt-get', 'update', '-q']);
    r = run(['apt-get', 'install', '-y', '-q', ...missing]);
  }
  if (r.status !== 0) {
    console.error(`could not install ${missing.join(' ')}; install them with: sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
}

function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...testFiles(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out.sort();
}

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    // Its own process group, so a hung file is killed together with the servers it started.
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root, env: { ...process.env, TZ: 'UTC', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    // A hung test file is a failure, not a stuck CI: kill it (and what it started) after the limit.
    const limit = Number(process.env.HEIR_TEST_TIMEOUT ?? 600) * 1000;
    const timer = setTimeout(() => {
      output += `\n${relative(root, file)}: killed after ${limit / 1000} s (HEIR_TEST_TIMEOUT)\n`;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, limit);
    child.on('close', (code) => {
      clearTimeout(timer);
      // uvu prints "Total: N  Passed: N  Skipped: N"; a crash before it counts as one failure.
      const total = /Total:\s+(\d+)/.exec(output);
      const passed = /Passed:\s+(\d+)/.exec(output);
      let p = passed ? Number(passed[1]) : 0;
      let f = total ? Number(total[1]) - p - Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0) : 0;
      if (code !== 0 && f === 0) f = 1;
      if (!total && code === 0) f = 1; // a file that ran no test is a failure, not a pass
      resolve({ file, passed: p, failed: f, code, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

ensurePackages();
let files = testFiles(join(root, 'test'));
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
const parallel = Number(process.env.HEIR_TEST_JOBS ?? Math.max(1, Math.min(2, cpus().length)));
const results = [];
let next = 0;
async function worker() {
  while (next < files.length) {
    const file = files[next++];
    const r = await runFile(file);
    results.push(r);
    const name = relative(root, file);
    console.log(`${r.failed === 0 ? 'ok  ' : 'FAIL'} ${name}  (${r.passed} passed, ${r.failed} failed, ${r.seconds.toFixed(1)} s)`);
    if (r.failed > 0) console.log(r.output.split('\n').map((l) => `    ${l}`).join('\n'));
  }
}
// The typecheck counts as one test: CI fails on a type error like on any failing assertion.
const typecheck = !filters.length ? new Promise((resolve) => {
  const child = spawn(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  child.on('close', (code) => resolve({ file: 'tsc --noEmit', passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, code, output, seconds: 0 }));
}) : null;
await Promise.all(Array.from({ length: parallel }, worker));
if (typecheck) {
  const r = await typecheck;
  results.push(r);
  console.log(`${r.failed === 0 ? 'ok  ' : 'FAIL'} typecheck (tsc --noEmit)`);
  if (r.failed) console.log(r.output);
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
