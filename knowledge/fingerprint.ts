/**
 * Device software identities from traffic (knowledge/fingerprints.json): a DICOM implementation
 * version name such as OFFIS_DCMTK_367 names the software and its version, so a device that is not
 * in the inventory can still be matched to advisories.
 */
import { readFileSync } from 'node:fs';
import type { DeviceIdentity } from './match.ts';

/** An identity inferred from one observed value. */
export interface TrafficIdentity extends DeviceIdentity {
  readonly fingerprint: string;
  readonly field: string;
  readonly value: string;
}

interface Fingerprint {
  id: string;
  field: string;
  pattern: RegExp;
  vendor: string;
  product: string;
  version: string;
}

let table: Fingerprint[] | null = null;

function fingerprints(): Fingerprint[] {
  table ??= (JSON.parse(readFileSync(new URL('./fingerprints.json', import.meta.url), 'utf8')) as { fingerprints: (Omit<Fingerprint, 'pattern'> & { pattern: string })[] }).fingerprints.map((f) => ({ ...f, pattern: new RegExp(f.pattern, 'i') }));
  return table;
}

/** Identities announced by a device, from its observed values per identity field. */
export function identitiesFromTraffic(values: Readonly<Record<string, readonly string[]>>): TrafficIdentity[] {
  const out: TrafficIdentity[] = [];
  for (const f of fingerprints()) {
    for (const value of values[f.field] ?? []) {
      const m = f.pattern.exec(value.trim());
      if (!m) continue;
      const version = f.version.replace(/\$(\d)/g, (_, k: string) => m[Number(k)] ?? '');
      out.push({ vendor: f.vendor, model: f.product, version, fingerprint: f.id, field: f.field, value });
    }
  }
  return out;
}
