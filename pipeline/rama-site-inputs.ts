/**
 * RAMA's devices and vulnerabilities on a site store, where no `rama_devices` table exists: the
 * imported `inventory` (latest import per asset) merged with the devices seen in traffic
 * (`device_observations`, addresses in the hospital's internal ranges only) by address or MAC, and each inventory device matched to the advisories
 * of the knowledge base (matches of medium or high confidence). The mapping to RAMA's columns is
 * stated in docs/rama.md §1.
 */
import type { KbCve, KnowledgeBase } from '../knowledge/kb-types.ts';
import { matchAdvisories } from '../knowledge/match.ts';
import { deviceId } from '../operators/inventory.ts';
import type { Store } from './store.ts';

/** Hunt rules whose finding shows the device is reachable from the internet. */
export const EXPOSURE_RULES = ['internet-exposed-service', 'external-remote-access'] as const;

type Row = Record<string, unknown>;

async function has(store: Store, table: string): Promise<boolean> {
  const rows = await store.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name = '${table}'`);
  return rows[0].n > 0;
}

/** A knowledge-base CVE as a `rama_device_vulns` row (fix not applied: the matched version is affected). */
export function vulnRow(site: string, device: string, advisory: string, headline: number | null, c: KbCve): Row | null {
  const base = c.cvss4_score ?? c.cvss3_score_computed ?? c.cvss3_score ?? headline;
  if (base === null || base === undefined) return null;
  const version = c.cvss4_score !== null && c.cvss4_score !== undefined ? '4.0' : c.cvss3_score_computed ?? c.cvss3_score ? (c.cvss3_vector?.startsWith('CVSS:3.0') ? '3.0' : '3.1') : 'headline';
  const ssvc = c.ssvc?.exploitation;
  return {
    device,
    site,
    cve: c.cve,
    advisory,
    cvss_base: base,
    cvss_version: version,
    cvss_vector: c.cvss4_vector ?? c.cvss3_vector,
    rubric_adjusted_base: null,
    kev: c.kev !== null,
    exploitation: c.kev !== null ? 'active' : ssvc === 'poc' || ssvc === 'active' ? ssvc : 'none',
    automatable: c.ssvc?.automatable === 'yes',
    fix_available: c.fix_available,
    fix_applied: false,
  };
}

/** Devices and vulnerabilities of a site store, as rows of `rama_devices` / `rama_device_vulns`. */
export async function deriveSiteDevices(store: Store, kb: KnowledgeBase): Promise<{ devices: Row[]; vulns: Row[]; versions: Record<string, string> }> {
  const inventory = (await has(store, 'inventory'))
    ? await store.all<Row>(`SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY site_id, asset_id ORDER BY imported_at DESC, source_line) AS rn FROM inventory) WHERE rn = 1 ORDER BY asset_id`)
    : [];
  const traffic = (await has(store, 'device_observations'))
    ? await store.all<Row>(`SELECT device_id, any_value(site_id) AS site_id, address, max(mac) AS mac, max(mac_vendor) AS mac_vendor FROM device_observations GROUP BY device_id, address HAVING bool_or(internal) ORDER BY address`)
    : [];
  const exposed = new Set<string>();
  if (await has(store, 'findings')) {
    const list = EXPOSURE_RULES.map((r) => `'${r}'`).join(', ');
    for (const r of await store.all<{ site_id: string; device: string }>(`SELECT DISTINCT site_id, device FROM findings WHERE rule_id IN (${list})`)) exposed.add(`${r.site_id}\u0000${r.device}`);
  }
  const byAddress = new Map(inventory.filter((d) => d.address).map((d) => [String(d.address), d]));
  const byMac = new Map(inventory.filter((d) => d.mac).map((d) => [String(d.mac).toLowerCase(), d]));
  const used = new Set<Row>();
  const devices: Row[] = [];
  const vulns: Row[] = [];
  const add = (id: string, site: string, address: string | null, inv: Row | null, macVendor: string | null, seen: boolean) => {
    const make = (inv?.vendor ?? inv?.make ?? macVendor ?? 'unknown') as string;
    const model = (inv?.model ?? 'unknown') as string;
    const isExposed = address !== null && exposed.has(`${site}\u0000${address}`);
    devices.push({
      device: id,
      site,
      address,
      unit: (inv?.location ?? inv?.segment ?? null) as string | null,
      make,
      model,
      criticality: (inv?.criticality ?? null) as string | null,
      // A named segment or VLAN counts as segmentation; none known is the worse value.
      segmented: inv?.segment ? true : null,
      // Exposed when a hunt rule saw it reachable from outside; seen in traffic without that, not exposed; never seen, unknown.
      internet_exposed: isExposed ? true : seen ? false : null,
    });
    if (!inv) return;
    for (const m of matchAdvisories(kb, { vendor: (inv.vendor ?? inv.make) as string | null, model: inv.model as string | null, version: inv.version as string | null })) {
      if (m.confidence === 'low') continue;
      const headline = kb.advisories.find((a) => a.id === m.advisory)?.headline_cvss ?? null;
      for (const c of m.cves) {
        const row = vulnRow(site, id, m.advisory, headline, c);
        if (row) vulns.push(row);
      }
    }
  };
  for (const t of traffic) {
    const inv = byAddress.get(String(t.address)) ?? (t.mac ? byMac.get(String(t.mac).toLowerCase()) : undefined) ?? null;
    if (inv) used.add(inv);
    add(String(t.device_id), String(t.site_id), String(t.address), inv, (t.mac_vendor ?? null) as string | null, true);
  }
  for (const inv of inventory) {
    if (used.has(inv)) continue;
    add(deviceId('inventory', String(inv.asset_id)), String(inv.site_id), (inv.address ?? null) as string | null, inv, null, false);
  }
  const versions = { inventory: inventory.length > 0 ? 'inventory' : 'absent', device_observations: traffic.length > 0 ? 'device_observations' : 'absent', knowledge: `kb-format-${kb.format}:${kb.advisories.length}-advisories` };
  return { devices, vulns, versions };
}
