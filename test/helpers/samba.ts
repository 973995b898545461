/**
 * A private Samba file server on loopback for SMB capture tests: its own smb.conf, state and
 * password database in a temp dir, one share, one account, SMB1 allowed (server min protocol NT1)
 * so a client can be made to speak SMBv1. smbd runs in the foreground and is stopped with the test.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, requireTool, run, waitForPort } from './loopback.ts';

/** A running smbd. */
export interface Samba {
  readonly port: number;
  readonly user: string;
  readonly share: string;
  readonly workgroup: string;
  readonly netbiosName: string;
  stop(): Promise<void>;
}

/** Start smbd on 127.0.0.1 with an account `user` (the current Unix user) whose SMB password is `password`. */
export async function startSamba(dir: string, password: string): Promise<Samba> {
  requireTool('smbd', 'samba smbclient');
  requireTool('smbclient', 'samba smbclient');
  requireTool('smbpasswd', 'samba smbclient');
  if (process.getuid?.() !== 0) throw new Error('the Samba capture test runs smbd, which needs root');
  const port = await freePort();
  const user = userInfo().username;
  const sub = (name: string) => {
    const p = join(dir, name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const conf = join(dir, 'smb.conf');
  writeFileSync(conf, [
    '[global]',
    '  workgroup = HEIRLAB',
    '  netbios name = PACSFS',
    '  server role = standalone server',
    `  smb ports = ${port}`,
    '  interfaces = 127.0.0.1',
    '  bind interfaces only = yes',
    '  server min protocol = NT1',
    '  disable netbios = yes',
    '  load printers = no',
    '  printing = bsd',
    '  printcap name = /dev/null',
    '  disable spoolss = yes',
    `  pid directory = ${sub('pid')}`,
    `  lock directory = ${sub('lock')}`,
    `  state directory = ${sub('state')}`,
    `  cache directory = ${sub('cache')}`,
    `  private dir = ${sub('private')}`,
    `  ncalrpc dir = ${sub('ncalrpc')}`,
    `  log file = ${join(dir, 'log.%m')}`,
    `  passdb backend = tdbsam:${join(dir, 'private', 'passdb.tdb')}`,
    '[images]',
    `  path = ${sub('images')}`,
    '  read only = no',
    '',
  ].join('\n'));
  const added = await run('smbpasswd', ['-c', conf, '-s', '-a', user], { input: `${password}\n${password}\n` });
  if (added.code !== 0) throw new Error(`smbpasswd failed: ${added.stderr || added.stdout}`);
  // smbd signals its whole process group when it stops: it gets a group of its own (detached),
  // and stop() ends that group, which holds only smbd and the workers it forked.
  const smbd = spawn('smbd', ['--foreground', '--no-process-group', '--debug-stdout', '-s', conf], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  smbd.stdout.on('data', (d) => (said += d));
  smbd.stderr.on('data', (d) => (said += d));
  const stop = async () => {
    if (smbd.exitCode !== null || smbd.signalCode !== null) return;
    const exited = once(smbd, 'exit');
    process.kill(-smbd.pid!, 'SIGTERM');
    const timer = setTimeout(() => process.kill(-smbd.pid!, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForPort(port, 20_000);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}; smbd said: ${said.trim()}`);
  }
  return { port, user, share: 'images', workgroup: 'HEIRLAB', netbiosName: 'PACSFS', stop };
}

/** List the share with smbclient; `smb1` forces the NT1 dialect (SMBv1), otherwise the default (SMB 3.1.1). */
export async function smbList(samba: Samba, password: string, smb1: boolean): Promise<{ code: number | null; output: string }> {
  const args = [`//127.0.0.1/${samba.share}`, '-p', String(samba.port), '-U', `${samba.user}%${password}`, '-c', 'ls'];
  if (smb1) args.push('-m', 'NT1', '--option=client min protocol=NT1');
  const r = await run('smbclient', args, { timeoutMs: 30_000 });
  return { code: r.code, output: `${r.stdout}${r.stderr}` };
}
