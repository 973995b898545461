/**
 * The inventory operator: what each batch of flows shows about the hospital's devices. It reads
 * `flows` and writes `device_observations` (one row per internal address: MAC and its maker,
 * protocols, services, peers, HL7 applications, DICOM AE titles, DHCP name and vendor class, user
 * agents, TLS server names, banners, the OS and host names announced over SMB/NTLM) and
 * `device_services` (the ports each device answered on).
 * Rows merge across batches at read time (`heir devices`), keyed by a deterministic device id.
 */
import { createHash } from 'node:crypto';
import type { RecordBatch } from 'apache-arrow';
import type { Operator, OperatorContext, Tables } from '../pipeline/types.ts';
import { AddressClassifier } from '../knowledge/networks.ts';
import { loadKnowledgeBase } from '../knowledge/kb.ts';
import { osNames } from '../knowledge/os-fingerprint.ts';
import { columnValues } from './column-values.ts';
import { deviceObservationsBatch, deviceServicesBatch, type DeviceObservationRow, type DeviceServiceRow } from './devices-schema.ts';

/** Options of the inventory operator. */
export interface InventoryOptions {
  /** Extra CIDR ranges that belong to the hospital. */
  readonly internalNetworks?: readonly string[];
  /** MAC OUI prefix → maker (default: the shipped knowledge base's table). */
  readonly oui?: Readonly<Record<string, string>>;
  /** Also record external (internet) addresses as devices. */
  readonly includeExternal?: boolean;
}

/** Deterministic device id over site and address. */
export function deviceId(site: string, address: string): string {
  return createHash('sha1').update(`${site}\u0000${address}`).digest('hex').slice(0, 16);
}

/** The maker registered for a MAC address's OUI, if the table has it. */
export function macVendor(oui: Readonly<Record<string, string>>, mac: string | null): string | null {
  if (!mac) return null;
  const prefix = mac.toUpperCase().replace(/-/g, ':').slice(0, 8);
  return oui[prefix] ?? null;
}

interface DeviceAcc {
  site: string;
  address: string;
  mac: string | null;
  internal: boolean;
  first: number;
  last: number;
  flows: number;
  bytes: number;
  protocols: Set<string>;
  servers: Set<string>;
  peers: Set<string>;
  external: Set<string>;
  hl7App: Set<string>;
  hl7Facility: Set<string>;
  ae: Set<string>;
  dhcpHost: string | null;
  dhcpVendor: string | null;
  agents: Set<string>;
  httpServers: Set<string>;
  sni: Set<string>;
  banners: Set<string>;
  dicomImpl: Set<string>;
  ntlmVersions: Set<string>;
  smbNative: Set<string>;
  hostNames: Set<string>;
}

const PLACEHOLDER_MAC = /^(00[:-]){5}00$|^(ff[:-]){5}ff$/i;
const UNSPECIFIED = new Set(['0.0.0.0', '::', '255.255.255.255']);
const LIST_MAX = 20;

function put(set: Set<string>, v: unknown): void {
  if (typeof v === 'string' && v !== '' && set.size < LIST_MAX) set.add(v);
}

function joined(set: Set<string>, sep = ','): string | null {
  return set.size === 0 ? null : [...set].sort().join(sep);
}

/** Summarise one flow batch into device observations and services. */
export function observeDevices(batch: RecordBatch, addresses: AddressClassifier, oui: Readonly<Record<string, string>>, batchId: string, includeExternal = false): { observations: DeviceObservationRow[]; services: DeviceServiceRow[] } {
  const n = batch.numRows;
  const col = (name: string): unknown[] => columnValues(batch, name);
  const site = col('site_id');
  const src = col('src_addr');
  const dst = col('dst_addr');
  const srcMac = col('src_mac');
  const dstMac = col('dst_mac');
  const proto = col('ip_proto');
  const dport = col('dst_port');
  const l7 = col('l7_proto');
  const start = col('ts_start') as number[];
  const end = col('ts_end') as number[];
  const fb = col('fwd_bytes');
  const bb = col('bwd_bytes');
  const bwdPackets = col('bwd_packets');
  const hl7App = col('hl7_sending_app');
  const hl7Fac = col('hl7_sending_facility');
  const calling = col('dicom_calling_ae');
  const called = col('dicom_called_ae');
  const implVersion = col('dicom_impl_version');
  const dhcpHost = col('dhcp_hostname');
  const dhcpVendor = col('dhcp_vendor_class');
  const agent = col('http_user_agent');
  const server = col('http_server');
  const sni = col('tls_sni');
  const banner = col('banner');
  const ntlmServer = col('ntlm_server_version');
  const ntlmClient = col('ntlm_client_version');
  const smbServer = col('smb_server_os');
  const smbClient = col('smb_client_os');
  const ntlmServerName = col('ntlm_server_name');
  const ntlmClientName = col('ntlm_client_name');

  const devices = new Map<string, DeviceAcc>();
  const services = new Map<string, DeviceServiceRow>();
  const dhcpByMac = new Map<string, { host: string | null; vendor: string | null }>();

  const device = (i: number, side: 'src' | 'dst'): DeviceAcc | null => {
    const address = (side === 'src' ? src[i] : dst[i]) as string | null;
    if (address === null || UNSPECIFIED.has(address)) return null;
    const internal = addresses.isInternal(address);
    if (!internal && !includeExternal) return null;
    const key = `${site[i] as string}\u0000${address}`;
    let d = devices.get(key);
    if (!d) {
      d = { site: site[i] as string, address, mac: null, internal, first: start[i], last: end[i], flows: 0, bytes: 0, protocols: new Set(), servers: new Set(), peers: new Set(), external: new Set(), hl7App: new Set(), hl7Facility: new Set(), ae: new Set(), dhcpHost: null, dhcpVendor: null, agents: new Set(), httpServers: new Set(), sni: new Set(), banners: new Set(), dicomImpl: new Set(), ntlmVersions: new Set(), smbNative: new Set(), hostNames: new Set() };
      devices.set(key, d);
    }
    const mac = (side === 'src' ? srcMac[i] : dstMac[i]) as string | null;
    // Loopback and some captures carry all-zero or broadcast MACs: not a device identity.
    if (mac && !d.mac && !PLACEHOLDER_MAC.test(mac)) d.mac = mac.toLowerCase();
    d.flows++;
    d.bytes += Number(fb[i] ?? 0) + Number(bb[i] ?? 0);
    if (start[i] < d.first) d.first = start[i];
    if (end[i] > d.last) d.last = end[i];
    put(d.protocols, l7[i]);
    const peer = (side === 'src' ? dst[i] : src[i]) as string | null;
    if (peer !== null && !UNSPECIFIED.has(peer)) {
      put(d.peers, peer);
      if (!addresses.isInternal(peer)) put(d.external, peer);
    }
    return d;
  };

  for (let i = 0; i < n; i++) {
    const s = device(i, 'src');
    const t = device(i, 'dst');
    if (s) {
      put(s.hl7App, hl7App[i]);
      put(s.hl7Facility, hl7Fac[i]);
      put(s.ae, calling[i]);
      put(s.dicomImpl, implVersion[i]);
      put(s.agents, agent[i]);
      put(s.sni, sni[i]);
      if (typeof dhcpHost[i] === 'string') s.dhcpHost = dhcpHost[i] as string;
      if (typeof dhcpVendor[i] === 'string') s.dhcpVendor = dhcpVendor[i] as string;
      // The SMB client side: its NTLM version, SMB1 Native OS and workstation name.
      put(s.ntlmVersions, ntlmClient[i]);
      put(s.smbNative, smbClient[i]);
      put(s.hostNames, ntlmClientName[i]);
    }
    if ((dhcpHost[i] !== null || dhcpVendor[i] !== null) && typeof srcMac[i] === 'string') {
      dhcpByMac.set((srcMac[i] as string).toLowerCase(), { host: (dhcpHost[i] as string | null) ?? null, vendor: (dhcpVendor[i] as string | null) ?? null });
    }
    if (t) {
      put(t.ae, called[i]);
      put(t.httpServers, server[i]);
      put(t.banners, banner[i]);
      put(t.ntlmVersions, ntlmServer[i]);
      put(t.smbNative, smbServer[i]);
      put(t.hostNames, ntlmServerName[i]);
      // A service counts when the device answered (a responder packet came back).
      if (Number(bwdPackets[i] ?? 0) > 0 && dport[i] !== null && (proto[i] === 6 || proto[i] === 17)) {
        const svc = `${proto[i] === 6 ? 'tcp' : 'udp'}/${String(dport[i])}`;
        put(t.servers, svc);
        const key = `${t.site}\u0000${t.address}\u0000${svc}`;
        const row = services.get(key);
        if (!row) services.set(key, { device_id: deviceId(t.site, t.address), site_id: t.site, batch_id: batchId, address: t.address, service: svc, l7_proto: (l7[i] as string | null) ?? null, first_seen: start[i], last_seen: end[i], flows: 1 });
        else {
          row.flows++;
          if (start[i] < row.first_seen) row.first_seen = start[i];
          if (end[i] > row.last_seen) row.last_seen = end[i];
          if (row.l7_proto === null && typeof l7[i] === 'string') row.l7_proto = l7[i] as string;
        }
      }
    }
  }
  // DHCP from an unconfigured client (0.0.0.0) belongs to the device that has its MAC.
  for (const d of devices.values()) {
    const dh = d.mac ? dhcpByMac.get(d.mac) : undefined;
    if (dh) {
      d.dhcpHost ??= dh.host;
      d.dhcpVendor ??= dh.vendor;
    }
  }

  const observations: DeviceObservationRow[] = [...devices.values()]
    .sort((a, b) => a.address.localeCompare(b.address))
    .map((d) => ({
      device_id: deviceId(d.site, d.address),
      site_id: d.site,
      batch_id: batchId,
      address: d.address,
      mac: d.mac,
      mac_vendor: macVendor(oui, d.mac),
      internal: d.internal,
      first_seen: d.first,
      last_seen: d.last,
      flows: d.flows,
      bytes: d.bytes,
      protocols: [...d.protocols].sort().join(','),
      server_ports: [...d.servers].sort().join(','),
      peers: d.peers.size,
      external_peers: d.external.size,
      hl7_sending_app: joined(d.hl7App),
      hl7_sending_facility: joined(d.hl7Facility),
      dicom_ae_titles: joined(d.ae),
      dhcp_hostname: d.dhcpHost,
      dhcp_vendor_class: d.dhcpVendor,
      http_user_agents: joined(d.agents, '\n'),
      http_servers: joined(d.httpServers, '\n'),
      tls_sni: joined(d.sni),
      banners: joined(d.banners, '\n'),
      dicom_impl_versions: joined(d.dicomImpl),
      os: d.ntlmVersions.size + d.smbNative.size === 0 ? null : osNames({ ntlmVersions: [...d.ntlmVersions].sort(), smbNative: [...d.smbNative].sort() }).join('\n') || null,
      host_names: joined(d.hostNames),
    }));
  return { observations, services: [...services.values()].sort((a, b) => a.address.localeCompare(b.address) || a.service.localeCompare(b.service)) };
}

/** Create the inventory operator. */
export function createInventory(options: InventoryOptions = {}): Operator {
  const addresses = new AddressClassifier(options.internalNetworks ?? []);
  let oui = options.oui;
  return {
    descriptor: {
      name: 'inventory',
      version: '2',
      summary: 'devices discovered from traffic: addresses, MAC makers, protocols, services, HL7/DICOM/DHCP/HTTP/TLS identities, OS from SMB/NTLM',
      reads: ['flows'],
      writes: ['device_observations', 'device_services'],
    },
    apply(input: Tables, context: OperatorContext): Tables {
      const flows = input.flows;
      if (!flows) throw new Error('inventory: input has no flows table');
      oui ??= loadKnowledgeBase().oui;
      const { observations, services } = observeDevices(flows, addresses, oui, context.batchId, options.includeExternal ?? false);
      return { ...input, device_observations: deviceObservationsBatch(observations), device_services: deviceServicesBatch(services) };
    },
  };
}

/** The inventory operator with default options. */
export const operator: Operator = createInventory();
