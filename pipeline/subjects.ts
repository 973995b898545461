/** NATS-style subject names and matching (`*` one token, `>` the rest), shared by every bus. */

/** The subject of a site's flow batches. */
export function flowsSubject(site: string): string {
  return `heir.${token(site)}.flows`;
}

/** The dead-letter subject of a subject. */
export function deadLetterSubject(subject: string): string {
  return `heir.dlq.${subject.replace(/^heir\./, '')}`;
}

/** A site or sensor id made safe as one subject token. */
export function token(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** True when `subject` matches `pattern`. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}
