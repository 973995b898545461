/**
 * Read side of devices and findings: merges per-batch device observations and findings in SQL,
 * joins the imported inventory (latest import per asset), matches devices to advisories, and
 * derives the read-time rules (baseline "new service", advisory "vulnerable version"). Used by
 * `heir devices`, `heir findings` and the RAMA score.
 */
import type { Store } from '../store.ts';
import type { KnowledgeBase } from '../../knowledge/kb-types.ts';
import type { InventoryDevice } from '../../knowledge/inventory-file.ts';
import { identitiesFromTraffic } from '../../knowledge/fingerprint.ts';
import { matchAdvisories, type AdvisoryMatch } from '../../knowledge/match.ts';
import type { Rule, RuleSet } from '../../knowledge/rules.ts';
import { findingId } from '../../operators/hunt.ts';
import { deviceId } from '../../operators/inventory.ts';

/** A finding merged over all batches. */
export interface FindingView {
  readonly finding_id: string;
  readonly rule: string;
  readonly title: string;
  readonly category: string;
  readonly severity: string;
  readonly device: string;
  readonly subject: string | null;
  readonly peer: string | null;
  /** Null for read-time findings that no flow showed (advisory matches of the inventory). */
  readonly first_seen: string | null;
  readonly last_seen: string | null;
  readonly flow_count: number;
  readonly evidence: string;
  readonly default_credential: string | null;
  readonly taxonomy: { enisa: string[]; owasp: string[]; owasp_iot: string[]; attack_ics: string[] };
}

/** An imported inventory entry as stored: the import's fields, with criticality as text. */
export type InventoryView = Omit<InventoryDevice, 'criticality' | 'line'> & { readonly criticality: string | null };

/** A device merged over traffic and inventory, with its advisories and findings. */
export interface DeviceView {
  readonly device_id: string;
  readonly address: string | null;
  readonly mac: string | null;
  readonly mac_vendor: string | null;
  readonly sources: ('traffic' | 'inventory')[];
  readonly first_seen: string | null;
  readonly last_seen: string | null;
  readonly flows: number;
  readonly protocols: string[];
  readonly services: string[];
  readonly external_peers: number;
  readonly identities: Record<string, string[]>;
  readonly inventory: InventoryView | null;
  readonly advisories: AdvisoryMatch[];
  readonly cves: string[];
  readonly findings: { rule: string; severity: string; subject: string | null }[];
}

const iso = (us: number | null): string | null => (us === null ? null : new Date(us / 1000).toISOString());
const uniq = (s: string | null | undefined, sep: string): string[] => (s ? [...new Set(s.split(sep).map((x) => x.trim()).filter((x) => x !== ''))].sort() : []);

async function hasTable(store: Store, table: string): Promise<boolean> {
  const rows = await store.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name = '${table}'`);
  return rows[0].n > 0;
}

/** The latest imported inventory entry of every asset. */
export async function readInventory(store: Store): Promise<InventoryView[]> {
  if (!(await hasTable(store, 'inventory'))) return [];
  const rows = await store.all<Record<string, string | null>>(
    `SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY site_id, asset_id ORDER BY imported_at DESC, source_line) AS rn FROM inventory) WHERE rn = 1 ORDER BY asset_id`,
  );
  return rows.map((r) => ({
    asset_id: r.asset_id!,
    address: r.address,
    mac: r.mac,
    make: r.make,
    vendor: r.vendor,
    model: r.model,
    version: r.version,
    clinical_function: r.clinical_function,
    criticality: r.criticality,
    location: r.location,
    segment: r.segment,
    mds2: r.mds2 ? (JSON.parse(r.mds2) as Record<string, string>) : {},
  }));
}

interface TrafficDevice {
  device_id: string;
  site_id: string;
  address: string;
  mac: string | null;
  mac_vendor: string | null;
  first_us: number;
  last_us: number;
  flows: number;
  protocols: string | null;
  server_ports: string | null;
  external_peers: number;
  hl7_app: string | null;
  hl7_facility: string | null;
  ae: string | null;
  dhcp_hostname: string | null;
  dhcp_vendor_class: string | null;
  agents: string | null;
  servers: string | null;
  sni: string | null;
  banners: string | null;
  impl: string | null;
  os: string | null;
  host_names: string | null;
}

async function trafficDevices(store: Store): Promise<TrafficDevice[]> {
  if (!(await hasTable(store, 'device_observations'))) return [];
  // Stores written before the SMB/NTLM columns existed lack them.
  const os = (await store.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM information_schema.columns WHERE table_name = 'device_observations' AND column_name = 'os'`))[0].n > 0;
  return store.all<TrafficDevice>(`
    SELECT device_id, any_value(site_id) AS site_id, address, max(mac) AS mac, max(mac_vendor) AS mac_vendor,
      epoch_us(min(first_seen)) AS first_us, epoch_us(max(last_seen)) AS last_us, sum(flows)::BIGINT AS flows,
      string_agg(protocols, ',') AS protocols, string_agg(server_ports, ',') AS server_ports, max(external_peers) AS external_peers,
      string_agg(hl7_sending_app, ',') AS hl7_app, string_agg(hl7_sending_facility, ',') AS hl7_facility, string_agg(dicom_ae_titles, ',') AS ae,
      max(dhcp_hostname) AS dhcp_hostname, max(dhcp_vendor_class) AS dhcp_vendor_class, string_agg(http_user_agents, chr(10)) AS agents,
      string_agg(http_servers, chr(10)) AS servers, string_agg(tls_sni, ',') AS sni, string_agg(banners, chr(10)) AS banners,
      string_agg(dicom_impl_versions, ',') AS impl, ${os ? `string_agg(os, chr(10)) AS os, string_agg(host_names, ',') AS host_names` : 'NULL AS os, NULL AS host_names'}
    FROM device_observations GROUP BY device_id, address ORDER BY address`);
}

interface StoredFinding {
  finding_id: string;
  rule_id: string;
  title: string;
  category: string;
  severity: string;
  device: string;
  subject: string | null;
  peer: string | null;
  first_us: number;
  last_us: number;
  flow_count: number;
  evidence: string;
  default_credential: string | null;
  enisa: string;
  owasp: string;
  owasp_iot: string;
  attack_ics: string;
}

function view(f: Omit<StoredFinding, 'first_us' | 'last_us'> & { first_us: number; last_us: number }): FindingView {
  const list = (s: string) => (s ? s.split(',') : []);
  return {
    finding_id: f.finding_id,
    rule: f.rule_id,
    title: f.title,
    category: f.category,
    severity: f.severity,
    device: f.device,
    subject: f.subject,
    peer: f.peer,
    first_seen: f.first_us === 0 && f.flow_count === 0 ? null : iso(f.first_us),
    last_seen: f.last_us === 0 && f.flow_count === 0 ? null : iso(f.last_us),
    flow_count: f.flow_count,
    evidence: f.evidence,
    default_credential: f.default_credential,
    taxonomy: { enisa: list(f.enisa), owasp: list(f.owasp), owasp_iot: list(f.owasp_iot), attack_ics: list(f.attack_ics) },
  };
}

const tags = (r: Rule) => ({ enisa: r.taxonomy.enisa.join(','), owasp: r.taxonomy.owasp.join(','), owasp_iot: r.taxonomy.owasp_iot.join(','), attack_ics: r.taxonomy.attack_ics.join(',') });

const CONFIDENCE_RANK = { low: 0, medium: 1, high: 2 } as const;

/**
 * Every finding: hunt findings merged by id over batches (first/last seen, total flows, the latest
 * evidence), plus read-time findings of baseline and advisory rules.
 */
export async function readFindings(store: Store, kb: KnowledgeBase, rules: RuleSet): Promise<FindingView[]> {
  const out: FindingView[] = [];
  if (await hasTable(store, 'findings')) {
    const rows = await store.all<StoredFinding>(`
      SELECT finding_id, any_value(rule_id) AS rule_id, arg_max(title, rule_version) AS title, any_value(category) AS category,
        arg_max(severity, rule_version) AS severity, any_value(device) AS device, any_value(subject) AS subject, arg_max(peer, last_seen) AS peer,
        epoch_us(min(first_seen)) AS first_us, epoch_us(max(last_seen)) AS last_us, sum(flow_count)::BIGINT AS flow_count,
        arg_max(evidence, last_seen) AS evidence, max(default_credential) AS default_credential,
        arg_max(enisa, rule_version) AS enisa, arg_max(owasp, rule_version) AS owasp, arg_max(owasp_iot, rule_version) AS owasp_iot, arg_max(attack_ics, rule_version) AS attack_ics
      FROM findings GROUP BY finding_id`);
    for (const r of rows) out.push(view(r));
  }
  for (const rule of rules.rules) {
    if (rule.kind === 'baseline' && (await hasTable(store, 'device_services')) && (await hasTable(store, 'device_observations'))) {
      const rows = await store.all<{ site_id: string; address: string; service: string; l7: string | null; first_us: number; last_us: number; flows: number; device_first_us: number }>(
        `WITH d AS (SELECT device_id, min(first_seen) AS f FROM device_observations GROUP BY device_id),
              s AS (SELECT device_id, any_value(site_id) AS site_id, any_value(address) AS address, service, max(l7_proto) AS l7, min(first_seen) AS f, max(last_seen) AS l, sum(flows)::BIGINT AS flows FROM device_services GROUP BY device_id, service)
         SELECT s.site_id, s.address, s.service, s.l7, epoch_us(s.f) AS first_us, epoch_us(s.l) AS last_us, s.flows, epoch_us(d.f) AS device_first_us
         FROM s JOIN d USING (device_id) WHERE epoch_us(s.f) > epoch_us(d.f) + ${Math.round(rule.learning_s! * 1e6)} ORDER BY s.address, s.service`,
      );
      for (const r of rows) {
        out.push(view({
          finding_id: findingId(r.site_id, rule.id, r.address, r.service),
          rule_id: rule.id, title: rule.title, category: rule.category, severity: rule.severity, device: r.address, subject: r.service, peer: null,
          first_us: r.first_us, last_us: r.last_us, flow_count: r.flows,
          evidence: `${rule.title}: ${r.service}${r.l7 ? ` (${r.l7})` : ''} first answered at ${iso(r.first_us)}, ${((r.first_us - r.device_first_us) / 3.6e9).toFixed(2)} h after the device was first seen (learning period ${rule.learning_s} s); ${r.flows} flows`,
          default_credential: null, ...tags(rule),
        }));
      }
    }
    if (rule.kind === 'advisory') {
      const min = CONFIDENCE_RANK[rule.min_confidence ?? 'medium'];
      const subjects: { who: string; matches: AdvisoryMatch[] }[] = [];
      for (const d of await readInventory(store)) subjects.push({ who: d.address ?? d.asset_id, matches: matchAdvisories(kb, { vendor: d.make, model: d.model, version: d.version }) });
      for (const t of await trafficDevices(store)) {
        for (const id of identitiesFromTraffic({ dicom_impl_version: uniq(t.impl, ',') })) {
          subjects.push({ who: t.address, matches: matchAdvisories(kb, id).map((m) => ({ ...m, evidence: [`identified from traffic: ${id.field}=${id.value} (${id.vendor} ${id.model} ${id.version})`, ...m.evidence] })) });
        }
      }
      const seen = new Set<string>();
      for (const { who, matches } of subjects) {
        for (const m of matches) {
          if (CONFIDENCE_RANK[m.confidence] < min) continue;
          const id = findingId('inventory', rule.id, who, m.advisory);
          if (seen.has(id)) continue;
          seen.add(id);
          const kev = m.cves.filter((c) => c.kev).map((c) => c.cve);
          out.push(view({
            finding_id: id,
            rule_id: rule.id, title: rule.title, category: rule.category, severity: kev.length > 0 ? 'critical' : rule.severity, device: who, subject: m.advisory, peer: null,
            first_us: 0, last_us: 0, flow_count: 0,
            evidence: `${m.advisory} (${m.title}): ${m.evidence.join('; ')}; confidence ${m.confidence} (${m.score}); CVEs ${m.cves.map((c) => c.cve).join(', ') || 'none listed'}${kev.length > 0 ? `; in CISA KEV: ${kev.join(', ')}` : ''}`,
            default_credential: null, ...tags(rule),
          }));
        }
      }
    }
  }
  const order = { critical: 0, high: 1, medium: 2, low: 3, info: 4 } as Record<string, number>;
  return out.sort((a, b) => (order[a.severity] ?? 9) - (order[b.severity] ?? 9) || a.device.localeCompare(b.device) || a.rule.localeCompare(b.rule) || (a.subject ?? '').localeCompare(b.subject ?? ''));
}

/** Every device: traffic observations merged over batches, joined with the inventory by address or MAC, with advisories and findings. */
export async function readDevices(store: Store, kb: KnowledgeBase, rules: RuleSet): Promise<DeviceView[]> {
  const traffic = await trafficDevices(store);
  const inventory = await readInventory(store);
  const findings = await readFindings(store, kb, rules);
  const used = new Set<string>();
  const byAddress = new Map(inventory.filter((d) => d.address).map((d) => [d.address!, d]));
  const byMac = new Map(inventory.filter((d) => d.mac).map((d) => [d.mac!, d]));
  const findingsOf = (keys: (string | null)[]) => findings.filter((f) => keys.includes(f.device)).map((f) => ({ rule: f.rule, severity: f.severity, subject: f.subject }));
  const advisoriesOf = (inv: InventoryView | null, impl: string | null = null) => {
    const out = inv ? matchAdvisories(kb, { vendor: inv.make, model: inv.model, version: inv.version }) : [];
    for (const id of identitiesFromTraffic({ dicom_impl_version: uniq(impl, ',') })) {
      for (const m of matchAdvisories(kb, id)) {
        if (out.some((o) => o.advisory === m.advisory)) continue;
        out.push({ ...m, evidence: [`identified from traffic: ${id.field}=${id.value} (${id.vendor} ${id.model} ${id.version})`, ...m.evidence] });
      }
    }
    return out.sort((a, b) => b.score - a.score || a.advisory.localeCompare(b.advisory));
  };
  const out: DeviceView[] = [];
  for (const t of traffic) {
    const inv = byAddress.get(t.address) ?? (t.mac ? byMac.get(t.mac) : undefined) ?? null;
    if (inv) used.add(inv.asset_id);
    const advisories = advisoriesOf(inv, t.impl);
    const identities: Record<string, string[]> = {
      hl7_sending_app: uniq(t.hl7_app, ','),
      hl7_sending_facility: uniq(t.hl7_facility, ','),
      dicom_ae_titles: uniq(t.ae, ','),
      dhcp_hostname: t.dhcp_hostname ? [t.dhcp_hostname] : [],
      dhcp_vendor_class: t.dhcp_vendor_class ? [t.dhcp_vendor_class] : [],
      http_user_agents: uniq(t.agents, '\n'),
      http_servers: uniq(t.servers, '\n'),
      tls_sni: uniq(t.sni, ','),
      banners: uniq(t.banners, '\n'),
      dicom_impl_versions: uniq(t.impl, ','),
      os: uniq(t.os, '\n'),
      host_names: uniq(t.host_names, ','),
    };
    for (const k of Object.keys(identities)) if (identities[k].length === 0) delete identities[k];
    out.push({
      device_id: t.device_id,
      address: t.address,
      mac: t.mac,
      mac_vendor: t.mac_vendor,
      sources: inv ? ['traffic', 'inventory'] : ['traffic'],
      first_seen: iso(t.first_us),
      last_seen: iso(t.last_us),
      flows: t.flows,
      protocols: uniq(t.protocols, ','),
      services: uniq(t.server_ports, ','),
      external_peers: t.external_peers,
      identities,
      inventory: inv,
      advisories,
      cves: [...new Set(advisories.flatMap((a) => a.cves.map((c) => c.cve)))].sort(),
      findings: findingsOf([t.address, inv?.asset_id ?? null]),
    });
  }
  for (const inv of inventory) {
    if (used.has(inv.asset_id)) continue;
    const advisories = advisoriesOf(inv);
    out.push({
      device_id: deviceId('inventory', inv.asset_id),
      address: inv.address,
      mac: inv.mac,
      mac_vendor: null,
      sources: ['inventory'],
      first_seen: null,
      last_seen: null,
      flows: 0,
      protocols: [],
      services: [],
      external_peers: 0,
      identities: {},
      inventory: inv,
      advisories,
      cves: [...new Set(advisories.flatMap((a) => a.cves.map((c) => c.cve)))].sort(),
      findings: findingsOf([inv.address, inv.asset_id]),
    });
  }
  return out;
}
