/**
 * Operating systems named from what a device says about itself on the wire: the NTLMSSP VERSION
 * (major.minor.build, MS-NLMP §2.2.2.10) of an SMB client or server, and SMB1 Native OS / Native
 * LAN Manager strings. Windows builds are Microsoft's published release builds; a build that is not
 * a Windows release (Samba announces 6.1.0) is never given a Windows name.
 */

/** Windows release builds by NTLM major.minor.build. Client and server editions share a build. */
const WINDOWS_BUILDS: Readonly<Record<string, string>> = {
  '5.0.2195': 'Windows 2000',
  '5.1.2600': 'Windows XP',
  '5.2.3790': 'Windows Server 2003 / XP x64',
  '6.0.6000': 'Windows Vista',
  '6.0.6001': 'Windows Vista SP1 / Server 2008',
  '6.0.6002': 'Windows Vista SP2 / Server 2008 SP2',
  '6.0.6003': 'Windows Server 2008 SP2',
  '6.1.7600': 'Windows 7 / Server 2008 R2',
  '6.1.7601': 'Windows 7 SP1 / Server 2008 R2 SP1',
  '6.2.9200': 'Windows 8 / Server 2012',
  '6.3.9600': 'Windows 8.1 / Server 2012 R2',
  '10.0.10240': 'Windows 10 1507 (LTSB 2015)',
  '10.0.10586': 'Windows 10 1511',
  '10.0.14393': 'Windows 10 1607 (LTSB 2016) / Server 2016',
  '10.0.15063': 'Windows 10 1703',
  '10.0.16299': 'Windows 10 1709',
  '10.0.17134': 'Windows 10 1803',
  '10.0.17763': 'Windows 10 1809 (LTSC 2019) / Server 2019',
  '10.0.18362': 'Windows 10 1903',
  '10.0.18363': 'Windows 10 1909',
  '10.0.19041': 'Windows 10 2004',
  '10.0.19042': 'Windows 10 20H2',
  '10.0.19043': 'Windows 10 21H1',
  '10.0.19044': 'Windows 10 21H2 (LTSC 2021)',
  '10.0.19045': 'Windows 10 22H2',
  '10.0.20348': 'Windows Server 2022',
  '10.0.22000': 'Windows 11 21H2',
  '10.0.22621': 'Windows 11 22H2',
  '10.0.22631': 'Windows 11 23H2',
  '10.0.26100': 'Windows 11 24H2 / Server 2025',
};

/** The OS an NTLMSSP version names: a Windows release, or what the number is known to be. */
export function osFromNtlmVersion(version: string): string {
  const name = WINDOWS_BUILDS[version];
  if (name) return `${name} (NTLM ${version})`;
  // Windows always fills the build; build 0 is a non-Windows NTLM stack (Samba announces 6.1.0).
  if (/^\d+\.\d+\.0$/.test(version)) return `non-Windows NTLM (${version}, as Samba announces)`;
  return `NTLM ${version} (unknown build)`;
}

/** The OS an SMB1 "Native OS | Native LAN Manager" string names. */
export function osFromSmbNative(native: string): string | null {
  const [os, lanman = ''] = native.split(' | ');
  // Samba reports Native OS "Windows 6.1" or "Unix" and its own name and version as the LAN Manager.
  const samba = /\bSamba(?:\s+[\w.~+-]+)?/.exec(lanman) ?? /\bSamba(?:\s+[\w.~+-]+)?/.exec(os);
  if (samba) return samba[0];
  const t = os.trim();
  return t === '' ? null : t;
}

/** Every OS a device announced, most specific first: SMB1 Native OS strings, then NTLM versions. */
export function osNames(facts: { readonly ntlmVersions: Iterable<string>; readonly smbNative: Iterable<string> }): string[] {
  const out: string[] = [];
  for (const n of facts.smbNative) {
    const os = osFromSmbNative(n);
    if (os && !out.includes(os)) out.push(os);
  }
  for (const v of facts.ntlmVersions) {
    const os = osFromNtlmVersion(v);
    // Samba's 6.1.0 adds nothing once its Native LAN Manager named it.
    if (os.startsWith('non-Windows') && out.some((o) => o.startsWith('Samba'))) continue;
    if (!out.includes(os)) out.push(os);
  }
  return out;
}
