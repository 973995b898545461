/**
 * Vendor name normalisation by table (knowledge/vendors.json), never by fuzzy matching: a name is
 * folded (case, accents, punctuation, spacing) and looked up exactly. Unknown names keep their
 * written form so that a reviewer can add them to the table.
 */
import { readFileSync } from 'node:fs';

interface VendorTable {
  vendors: { name: string; aliases: string[] }[];
  compound: Record<string, string[]>;
}

/** Fold a name for exact comparison: lower case, accents and mojibake of ä removed, punctuation to spaces. */
export function foldName(name: string): string {
  return name
    .replace(/Ã\S*¤/g, 'a')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

let index: Map<string, string[]> | null = null;

function table(): Map<string, string[]> {
  if (index) return index;
  const data = JSON.parse(readFileSync(new URL('./vendors.json', import.meta.url), 'utf8')) as VendorTable;
  const map = new Map<string, string[]>();
  for (const v of data.vendors) {
    map.set(foldName(v.name), [v.name]);
    for (const alias of v.aliases) map.set(foldName(alias), [v.name]);
  }
  for (const [alias, names] of Object.entries(data.compound)) map.set(foldName(alias), names);
  index = map;
  return map;
}

/** Canonical vendor names for a written vendor string (several for joint advisories); `known` is false when the table lacks it. */
export function normaliseVendor(name: string): { names: string[]; known: boolean } {
  const trimmed = name.trim();
  const hit = table().get(foldName(trimmed));
  if (hit) return { names: hit, known: true };
  return { names: [trimmed], known: false };
}

/** The one canonical name of a vendor string (the first for joint names). */
export function canonicalVendor(name: string): string {
  return normaliseVendor(name).names[0];
}
