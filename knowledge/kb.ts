/**
 * The shipped knowledge base: loads knowledge/kb.json.gz (built by `heir kb update`) once, offline,
 * and indexes it for the matcher, the hunt rules, RAMA and the observatory.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ErrorCode, UserError } from '../pipeline/errors.ts';
import type { KbAdvisory, KbCve, KbTechnique, KnowledgeBase } from './kb-types.ts';

export type { KbAdvisory, KbCve, KbProduct, KbTechnique, KnowledgeBase, Fix } from './kb-types.ts';

/** Path of the knowledge base that ships with HEIR. */
export const SHIPPED_KB_PATH = fileURLToPath(new URL('./kb.json.gz', import.meta.url));

const cache = new Map<string, KnowledgeBase>();

/** Load a knowledge base file (gzip-compressed JSON); the shipped one by default. Cached per path. */
export function loadKnowledgeBase(path: string = SHIPPED_KB_PATH): KnowledgeBase {
  const hit = cache.get(path);
  if (hit) return hit;
  if (!existsSync(path)) throw new UserError(ErrorCode.INPUT_UNREADABLE, `knowledge base not found: ${path} (build it with heir kb update --from ../shared/knowledge)`);
  let kb: KnowledgeBase;
  try {
    kb = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as KnowledgeBase;
  } catch (error) {
    throw new UserError(ErrorCode.INPUT_MALFORMED, `knowledge base ${path} is not gzip-compressed JSON`, { cause: error });
  }
  if (kb.format !== 1) throw new UserError(ErrorCode.SCHEMA_MISMATCH, `knowledge base ${path} has format ${String(kb.format)}, this HEIR reads format 1`);
  cache.set(path, kb);
  return kb;
}

/** Write a knowledge base as gzip-compressed JSON (deterministic bytes for the same content). */
export function saveKnowledgeBase(kb: KnowledgeBase, path: string): number {
  const bytes = gzipSync(Buffer.from(JSON.stringify(kb)), { level: 9 });
  // The gzip header carries no timestamp from zlib (mtime 0), so the same KB gives the same file.
  writeFileSync(path, bytes);
  cache.delete(path);
  return bytes.length;
}

/** An advisory by id (with or without its revision letter). */
export function advisoryById(kb: KnowledgeBase, id: string): KbAdvisory | undefined {
  const want = id.trim().toUpperCase().replace(/([0-9])[A-Z]$/, '$1');
  return kb.advisories.find((a) => a.id === want);
}

/** Every advisory entry of a CVE, with the advisory it sits in. */
export function cveEntries(kb: KnowledgeBase, cve: string): { advisory: KbAdvisory; entry: KbCve }[] {
  const out: { advisory: KbAdvisory; entry: KbCve }[] = [];
  for (const advisory of kb.advisories) for (const entry of advisory.cves) if (entry.cve === cve) out.push({ advisory, entry });
  return out;
}

/** An ATT&CK for ICS technique by id (T0866). */
export function attackTechnique(kb: KnowledgeBase, id: string): KbTechnique | undefined {
  return kb.attack_ics.find((t) => t.id === id);
}
