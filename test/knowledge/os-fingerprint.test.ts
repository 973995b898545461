/** OS names from SMB/NTLM fingerprints: Windows builds, Samba never taken for Windows, unknown builds said so. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { osFromNtlmVersion, osFromSmbNative, osNames } from '../../knowledge/os-fingerprint.ts';
import { endOfSupportTable } from '../../knowledge/rules.ts';

test('NTLM versions: Windows release builds by name, build 0 is not Windows, other builds unknown', () => {
  assert.is(osFromNtlmVersion('6.1.7601'), 'Windows 7 SP1 / Server 2008 R2 SP1 (NTLM 6.1.7601)');
  assert.is(osFromNtlmVersion('5.1.2600'), 'Windows XP (NTLM 5.1.2600)');
  assert.is(osFromNtlmVersion('10.0.19045'), 'Windows 10 22H2 (NTLM 10.0.19045)');
  assert.is(osFromNtlmVersion('6.1.0'), 'non-Windows NTLM (6.1.0, as Samba announces)');
  assert.is(osFromNtlmVersion('10.0.99999'), 'NTLM 10.0.99999 (unknown build)');
});

test('SMB1 Native OS: Samba by its LAN Manager string, Windows as announced', () => {
  assert.is(osFromSmbNative('Windows 6.1 | Samba 4.17.12-Debian'), 'Samba 4.17.12-Debian');
  assert.is(osFromSmbNative('Unix | Samba'), 'Samba');
  assert.is(osFromSmbNative('Windows Server 2003 3790 Service Pack 2 | Windows Server 2003 5.2'), 'Windows Server 2003 3790 Service Pack 2');
  assert.equal(osNames({ smbNative: ['Windows 6.1 | Samba 4.17.12-Debian'], ntlmVersions: ['6.1.0'] }), ['Samba 4.17.12-Debian']);
  assert.equal(osNames({ smbNative: [], ntlmVersions: ['6.1.0'] }), ['non-Windows NTLM (6.1.0, as Samba announces)']);
});

test('the end-of-support table agrees: every build it lists as unsupported has a Windows name here, and Samba matches nothing', () => {
  const table = endOfSupportTable().filter((p) => p.fields.includes('ntlm_server_version'));
  assert.ok(table.length >= 10);
  for (const v of ['5.0.2195', '5.1.2600', '5.2.3790', '6.0.6002', '6.1.7600', '6.1.7601', '6.2.9200', '6.3.9600', '10.0.10240', '10.0.19045', '10.0.22000']) {
    assert.ok(table.some((p) => p.pattern.test(v)), `${v} is in the end-of-support table`);
    assert.ok(osFromNtlmVersion(v).startsWith('Windows'), v);
  }
  // Still supported (LTSC, servers) or not Windows: no end-of-support entry.
  for (const v of ['6.1.0', '10.0.14393', '10.0.17763', '10.0.19044', '10.0.20348', '10.0.26100']) assert.not.ok(table.some((p) => p.pattern.test(v)), v);
  const native = endOfSupportTable().filter((p) => p.fields.includes('smb_server_os'));
  assert.not.ok(native.some((p) => p.pattern.test('Windows 6.1 | Samba 4.17.12-Debian')), 'Samba is not Windows 7');
  assert.ok(native.some((p) => p.id === 'windows-7' && p.pattern.test('Windows 7 Professional 7601 Service Pack 1 | Windows 7 Professional 6.1')));
});

test.run();
