/**
 * The SMB dissector: hand-built SMB1/SMB2 exchanges with NTLMSSP (Windows fingerprints a lab cannot
 * run), random bytes behind an SMB header (never throws), and a real Samba server on loopback
 * captured with tcpdump: smbclient forced to SMBv1 (NT1) and with its default (SMB 3.1.1), with the
 * right password and a wrong one. smbv1-in-use fires on the SMB1 session only; the password, its
 * hash and the NTLM response never reach flows or findings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { sha256Hex } from '../../../knowledge/rules.ts';
import { createHunt } from '../../../operators/hunt.ts';
import { findingRows, type FindingRow } from '../../../operators/findings-schema.ts';
import { observeDevices } from '../../../operators/inventory.ts';
import { inspectL7 } from '../../../operators/l7/inspect.ts';
import { AddressClassifier } from '../../../knowledge/networks.ts';
import { flowBatch, type FlowRow } from '../../../pipeline/flow-schema.ts';
import { captureLoopback, requireTool, run } from '../../helpers/loopback.ts';
import { parseCaptureFile } from '../../helpers/pcap.ts';
import { smbList, startSamba } from '../../helpers/samba.ts';

// ---- building SMB by hand ---------------------------------------------------------------------

const bytes = (...parts: (number[] | Uint8Array)[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const le16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const utf16 = (s: string) => [...s].flatMap((c) => le16(c.charCodeAt(0)));
const nbss = (msg: Uint8Array) => bytes([0, (msg.length >> 16) & 0xff, (msg.length >> 8) & 0xff, msg.length & 0xff], msg);

function smb2(command: number, response: boolean, status: number, body: number[]): Uint8Array {
  const h = [0xfe, ...ascii('SMB'), ...le16(64), ...le16(0), ...le32(status), ...le16(command), ...le16(1), ...le32(response ? 1 : 0), ...le32(0), ...new Array(8).fill(0), ...new Array(32).fill(0)];
  return bytes(h, body);
}

function smb1(command: number, status: number, words: number[], data: number[]): Uint8Array {
  const h = [0xff, ...ascii('SMB'), command, ...le32(status), 0x18, ...le16(0x0001), ...new Array(20).fill(0)];
  return bytes(h, [words.length / 2], words, le16(data.length), data);
}

/** NTLMSSP CHALLENGE with VERSION and target info (NetBIOS domain and computer). */
function challenge(major: number, minor: number, build: number, domain: string, host: string): number[] {
  const name = utf16(host);
  const info = [...le16(2), ...le16(utf16(domain).length), ...utf16(domain), ...le16(1), ...le16(name.length), ...name, 0, 0, 0, 0];
  const head = 56;
  return [...ascii('NTLMSSP'), 0, ...le32(2), ...le16(name.length), ...le16(name.length), ...le32(head), ...le32(0x02800001), ...new Array(8).fill(0x11), ...new Array(8).fill(0), ...le16(info.length), ...le16(info.length), ...le32(head + name.length), major, minor, ...le16(build), 0, 0, 0, 15, ...name, ...info];
}

/** NTLMSSP AUTHENTICATE with a 24-byte (NTLMv1) or longer (NTLMv2) response. */
function authenticate(domain: string, user: string, workstation: string, ntResponse: number[], version: [number, number, number]): number[] {
  const d = utf16(domain);
  const u = utf16(user);
  const w = utf16(workstation);
  const head = 88;
  let at = head;
  const fieldOf = (len: number) => {
    const f = [...le16(len), ...le16(len), ...le32(at)];
    at += len;
    return f;
  };
  const lm = fieldOf(0);
  const nt = fieldOf(ntResponse.length);
  const df = fieldOf(d.length);
  const uf = fieldOf(u.length);
  const wf = fieldOf(w.length);
  const key = fieldOf(0);
  return [...ascii('NTLMSSP'), 0, ...le32(3), ...lm, ...nt, ...df, ...uf, ...wf, ...key, ...le32(0x02000001), version[0], version[1], ...le16(version[2]), 0, 0, 0, 15, ...new Array(16).fill(0), ...ntResponse, ...d, ...u, ...w];
}

const smb2Negotiate = (dialects: number[]) => smb2(0, false, 0, [...le16(36), ...le16(dialects.length), ...le16(1), 0, 0, ...le32(0), ...new Array(16).fill(7), ...new Array(8).fill(0), ...dialects.flatMap(le16)]);
const smb2NegotiateReply = (dialect: number) => smb2(0, true, 0, [...le16(65), ...le16(1), ...le16(dialect), ...new Array(58).fill(0)]);
const smb2SetupRequest = (blob: number[]) => smb2(1, false, 0, [...le16(25), 0, 1, ...le32(0), ...le32(0), ...le16(64 + 24), ...le16(blob.length), ...new Array(8).fill(0), ...blob]);
const smb2SetupReply = (status: number, blob: number[]) => smb2(1, true, status, [...le16(9), ...le16(0), ...le16(64 + 8), ...le16(blob.length), ...blob]);

const NTLMV2_RESPONSE = [...new Array(16).fill(0xab), 1, 1, 0, 0, 0, 0, 0, 0, ...new Array(40).fill(0xcd)];

function flowOf(fwd: Uint8Array, bwd: Uint8Array, tsIso: string): Partial<FlowRow> {
  const ts = Date.parse(tsIso) * 1000;
  const facts = inspectL7({ fwd, bwd, proto: 6, srcPort: 49700, dstPort: 445 });
  return {
    flow_id: `smb-${tsIso}`, site_id: 'h1', sensor_id: 's1', source: 'lab', ts_start: ts, ts_end: ts + 2_000_000, duration_s: 2,
    ip_version: 4, ip_proto: 6, src_addr: '10.20.0.15', dst_addr: '10.20.0.40', src_port: 49700, dst_port: 445,
    fwd_packets: 8, bwd_packets: 8, fwd_bytes: fwd.length + 400, bwd_bytes: bwd.length + 400, fwd_payload_bytes: fwd.length, bwd_payload_bytes: bwd.length, ...facts,
  };
}

function hunt(rows: readonly Partial<FlowRow>[]): FindingRow[] {
  const out = createHunt().apply({ flows: flowBatch(rows) }, { site: 'h1', sensor: 's1', batchId: 'b1', warn() {} }) as { findings: never };
  return findingRows(out.findings);
}

test('SMB2 with NTLMSSP: dialects offered and chosen, Windows 7 SP1 server and NTLMv2 client, never the response', () => {
  const fwd = bytes(nbss(smb2Negotiate([0x0202, 0x0210])), nbss(smb2SetupRequest(authenticate('RADIOLOGY', 'tech1', 'CT-CONSOLE', NTLMV2_RESPONSE, [6, 1, 7601]))));
  const bwd = bytes(nbss(smb2NegotiateReply(0x0210)), nbss(smb2SetupReply(0xc0000016, challenge(6, 1, 7601, 'RADIOLOGY', 'PACS-GW'))));
  const flow = flowOf(fwd, bwd, '2026-03-02T10:00:00Z');
  assert.equal(
    Object.fromEntries(Object.entries(flow).filter(([k]) => /^(l7_proto|smb_|ntlm_|login_)/.test(k))),
    { l7_proto: 'smb', smb_dialects: 'SMB 2.0.2,SMB 2.1', smb_dialect: 'SMB 2.1', ntlm_server_version: '6.1.7601', ntlm_client_version: '6.1.7601', ntlm_server_name: 'RADIOLOGY\\PACS-GW', ntlm_client_name: 'CT-CONSOLE', ntlm_auth: 'NTLMv2', login_protocol: 'smb', login_user: 'RADIOLOGY\\tech1', login_failures: 0 },
  );
  const findings = hunt([flow]);
  const server = findings.find((f) => f.rule_id === 'unsupported-server-os');
  assert.ok(server, `no unsupported-server-os among ${findings.map((f) => f.rule_id).join(', ')}`);
  assert.is(server.device, '10.20.0.40');
  assert.is(server.subject, 'windows-7');
  assert.match(server.evidence, /ntlm_server_version=6\.1\.7601/);
  assert.match(server.evidence, /Windows 7 \/ Server 2008 R2 seen in ntlm_server_version; end of support 2020-01-14/);
  const client = findings.find((f) => f.rule_id === 'unsupported-os');
  assert.is(client?.device, '10.20.0.15');
  assert.not.ok(findings.some((f) => f.rule_id === 'smbv1-in-use'), 'SMB 2.1 is not SMBv1');
  // Before Windows 7 left support, the same session is no finding.
  assert.not.ok(hunt([flowOf(fwd, bwd, '2019-06-01T10:00:00Z')]).some((f) => f.rule_id.startsWith('unsupported')));
  const text = JSON.stringify({ flow, findings });
  assert.not.ok(/abababab|cdcdcdcd/i.test(text), 'the NTLM response never leaves the dissector');
});

test('SMB1: NT LM 0.12 chosen is SMBv1; Native OS of both sides; a plaintext password field is skipped unread', () => {
  const dialects = [2, ...ascii('PC NETWORK PROGRAM 1.0'), 0, 2, ...ascii('NT LM 0.12'), 0];
  const setupWords = [0xff, 0, ...le16(0), ...le16(4356), ...le16(50), ...le16(0), ...le32(0), ...le16(8), ...le16(0), ...le32(0), ...le32(0)];
  const setupData = [...ascii('secret12'), ...ascii('nurse'), 0, ...ascii('WARD7'), 0, ...ascii('Windows 5.1'), 0, ...ascii('Windows 2000 LAN Manager'), 0];
  const fwd = bytes(nbss(smb1(0x72, 0, [], dialects)), nbss(smb1(0x73, 0, setupWords, setupData)));
  const replyData = [...ascii('Windows Server 2003 3790 Service Pack 2'), 0, ...ascii('Windows Server 2003 5.2'), 0, ...ascii('WARD7'), 0];
  const bwd = bytes(nbss(smb1(0x72, 0, [...le16(1), ...new Array(32).fill(0)], [])), nbss(smb1(0x73, 0, [0xff, 0, ...le16(0), ...le16(0)], replyData)));
  const flow = flowOf(fwd, bwd, '2026-03-02T10:00:00Z');
  assert.is(flow.smb_dialect, 'SMB1 (NT LM 0.12)');
  assert.is(flow.smb_dialects, 'PC NETWORK PROGRAM 1.0,NT LM 0.12');
  assert.is(flow.smb_client_os, 'Windows 5.1 | Windows 2000 LAN Manager');
  assert.is(flow.smb_server_os, 'Windows Server 2003 3790 Service Pack 2 | Windows Server 2003 5.2');
  assert.not.ok(JSON.stringify(flow).includes('secret12'));
  const findings = hunt([flow]);
  const ids = (rule: string) => findings.filter((f) => f.rule_id === rule).map((f) => `${f.device} ${f.subject}`);
  assert.equal(ids('smbv1-in-use'), ['10.20.0.40 tcp/445']);
  assert.equal(ids('unsupported-os'), ['10.20.0.15 windows-xp']);
  assert.equal(ids('unsupported-server-os'), ['10.20.0.40 windows-server-2003']);
  assert.not.ok(JSON.stringify(findings).includes('secret12'));
});

test('NetBIOS session request first (port 139); refused logins count; an encrypted SMB3 transform stops reading', () => {
  const request = bytes([0x81, 0, 0, 4], [1, 2, 3, 4]);
  const fwd = bytes(request, nbss(smb2Negotiate([0x0311])), nbss(smb2SetupRequest(authenticate('', 'admin', 'WS1', NTLMV2_RESPONSE, [10, 0, 19045]))), nbss(smb2SetupRequest(authenticate('', 'admin', 'WS1', new Array(24).fill(0x5a), [10, 0, 19045]))));
  const bwd = bytes([0x82, 0, 0, 0], nbss(smb2NegotiateReply(0x0311)), nbss(smb2SetupReply(0xc000006d, [])), nbss(smb2SetupReply(0xc000006d, [])), nbss(bytes([0xfd, ...ascii('SMB')], new Array(60).fill(9))));
  const flow = flowOf(fwd, bwd, '2026-03-02T10:00:00Z');
  assert.is(flow.l7_proto, 'smb');
  assert.is(flow.smb_dialect, 'SMB 3.1.1');
  assert.is(flow.login_failures, 2);
  assert.is(flow.login_user, 'admin');
  assert.is(flow.ntlm_client_version, '10.0.19045');
  // The last AUTHENTICATE seen sets the kind: a 24-byte response is NTLMv1.
  assert.is(flow.ntlm_auth, 'NTLMv1');
  const findings = hunt([flow]);
  assert.equal(findings.filter((f) => f.rule_id === 'unsupported-os').map((f) => f.subject), ['windows-10-22h2']);
  const v1 = findings.find((f) => f.rule_id === 'ntlmv1-auth');
  assert.is(v1?.device, '10.20.0.40');
  assert.match(v1!.evidence, /ntlm_auth=NTLMv1/);
  assert.not.ok(/5a5a5a5a/i.test(JSON.stringify(findings)), 'the NTLMv1 response is not kept');
});

test('random bytes behind an SMB header never throw and never claim SMB1 without an SMB1 header', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 600 }), fc.boolean(), (a, b, one) => {
      const head = one ? [0xff, ...ascii('SMB')] : [0xfe, ...ascii('SMB')];
      const fwd = bytes([0, 0, (a.length + 4) >> 8, (a.length + 4) & 0xff], head, a);
      const bwd = bytes([0, 0, (b.length + 4) >> 8, (b.length + 4) & 0xff], head, b);
      const facts = inspectL7({ fwd, bwd, proto: 6, srcPort: 40000, dstPort: 445 });
      assert.is(facts.l7_proto, 'smb');
      if (!one) assert.not.ok(String(facts.smb_dialect ?? '').startsWith('SMB1'));
      for (const v of Object.values(facts)) assert.ok(v === null || ['string', 'number'].includes(typeof v));
    }),
    { seed: 6, numRuns: 400 },
  );
  assert.is.not(inspectL7({ fwd: bytes([0, 0, 0, 8], ascii('GET / HTTP/1.1\r\n')), bwd: new Uint8Array(0), proto: 6, srcPort: 1, dstPort: 445 }).l7_proto, 'smb');
});

// ---- a real Samba server on loopback ------------------------------------------------------------

test('real Samba: SMBv1 (NT1) session fires smbv1-in-use, SMB 3.1.1 stays silent; no password, hash or NTLM response kept', async () => {
  requireTool('tshark', 'tshark');
  const dir = mkdtempSync(join(tmpdir(), 'heir-smb-'));
  const password = 'Pacs-Archive-7731';
  const samba = await startSamba(join(dir, 'samba'), password);
  const files = { smb1: join(dir, 'smb1.pcap'), smb3: join(dir, 'smb3.pcap'), wrong: join(dir, 'wrong.pcap') };
  try {
    for (const [name, smb1, pw] of [['smb1', true, password], ['smb3', false, password], ['wrong', false, 'guess-123']] as const) {
      const capture = await captureLoopback(files[name], `tcp port ${samba.port}`);
      const r = await smbList(samba, pw, smb1);
      await capture.stop();
      if (name === 'wrong') assert.match(r.output, /NT_STATUS_LOGON_FAILURE/, r.output);
      else assert.is(r.code, 0, r.output);
    }
  } finally {
    await samba.stop();
  }
  try {
    const smbFlows = async (file: string) => (await parseCaptureFile(file)).rows.filter((r) => r.l7_proto === 'smb');
    const [one] = await smbFlows(files.smb1);
    const [three] = await smbFlows(files.smb3);
    const [wrong] = await smbFlows(files.wrong);
    assert.ok(one && three && wrong, 'one SMB flow per capture');
    // smbclient -m NT1 offers the two NT dialects; Samba picks the first, NT LANMAN 1.0 (SMB1).
    assert.match(one.smb_dialects ?? '', /NT LM 0\.12/);
    assert.match(one.smb_dialect ?? '', /^SMB1 \(NT (LANMAN 1\.0|LM 0\.12)\)$/);
    assert.match(one.smb_server_os ?? '', /^Windows 6\.1 \| Samba 4\.\d+/);
    assert.match(one.smb_client_os ?? '', /Samba/);
    assert.is(three.smb_dialect, 'SMB 3.1.1');
    assert.is(three.smb_dialects, 'SMB 2.0.2,SMB 2.1,SMB 3.0,SMB 3.0.2,SMB 3.1.1');
    assert.is(three.smb_server_os, null, 'SMB2 has no Native OS');
    for (const f of [one, three, wrong]) {
      assert.is(f.ntlm_server_version, '6.1.0', 'Samba announces NTLM 6.1 build 0');
      assert.match(f.ntlm_server_name ?? '', /^PACSFS/);
      assert.is(f.ntlm_auth, 'NTLMv2');
      assert.match(f.login_user ?? '', new RegExp(`\\\\${samba.user}$`));
      assert.is(f.login_secret_sha256, null);
    }
    assert.is(one.login_failures, 0);
    assert.is(three.login_failures, 0);
    assert.is(wrong.login_failures, 1);

    const f1 = hunt([one]);
    const f3 = hunt([three, wrong]);
    const smbv1 = f1.find((f) => f.rule_id === 'smbv1-in-use');
    assert.ok(smbv1, `no smbv1-in-use among ${f1.map((f) => f.rule_id).join(', ')}`);
    assert.match(smbv1.evidence, /smb_dialect=SMB1/);
    assert.match(smbv1.evidence, /smb_server_os=Windows 6\.1 \| Samba/);
    assert.not.ok(f3.some((f) => f.rule_id === 'smbv1-in-use'), 'SMB 3.1.1 is silent');
    assert.not.ok([...f1, ...f3].some((f) => f.rule_id === 'ntlmv1-auth'), 'smbclient answers with NTLMv2');
    // Samba's 6.1.0 and "Windows 6.1" are not a Windows build: no unsupported-OS finding.
    assert.not.ok([...f1, ...f3].some((f) => f.rule_id.startsWith('unsupported')));

    // The inventory names the server by its LAN Manager string, not by Samba's "Windows 6.1" or NTLM 6.1.0.
    const [device] = observeDevices(flowBatch([one]), new AddressClassifier(), {}, 'b1').observations;
    assert.match(device.os ?? '', /^Samba\nSamba 4\.\d+/);
    assert.not.match(device.os ?? '', /Windows/);
    assert.match(device.host_names ?? '', /PACSFS/);

    // The password, its hash and the NTLMv2 responses on the wire appear nowhere in flows or findings.
    const responses: string[] = [];
    for (const file of Object.values(files)) {
      const t = await run('tshark', ['-r', file, '-d', `tcp.port==${samba.port},nbss`, '-T', 'fields', '-e', 'ntlmssp.ntlmv2_response'], { timeoutMs: 60_000 });
      assert.is(t.code, 0, t.stderr);
      responses.push(...t.stdout.split(/\s+/).map((s) => s.replace(/:/g, '')).filter((s) => s.length >= 32));
    }
    assert.ok(responses.length >= 3, `tshark found ${responses.length} NTLMv2 responses`);
    const kept = JSON.stringify({ flows: [one, three, wrong], findings: [...f1, ...f3] }).toLowerCase();
    for (const secret of [password.toLowerCase(), sha256Hex(password), ...responses.map((r) => r.toLowerCase().slice(0, 32)), Buffer.from(responses[0].slice(0, 32), 'hex').toString('base64').toLowerCase()]) {
      assert.not.ok(kept.includes(secret), `a secret was kept: ${secret.slice(0, 8)}…`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
