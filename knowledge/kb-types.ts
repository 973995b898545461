/**
 * The shape of the shipped knowledge base (knowledge/kb.json.gz), built by `heir kb update` from
 * the public sources and read offline by the matcher, the hunt rules, RAMA and the observatory.
 */

/** Remediation advice from the advisory. */
export interface Fix {
  readonly category: string;
  readonly details: string;
  readonly url: string | null;
}

/** One CVE of an advisory with its scores and exploitation signals. */
export interface KbCve {
  readonly cve: string;
  readonly cwe: string | null;
  readonly cwe_name: string | null;
  /** CVSS v3.x vector as CISA published it, and CISA's score; `cvss3_score_computed` is ours from the vector. */
  readonly cvss3_vector: string | null;
  readonly cvss3_score: number | null;
  readonly cvss3_score_computed: number | null;
  readonly cvss4_vector: string | null;
  readonly cvss4_score: number | null;
  /** Which publication the scores come from: `cisa-csaf`, `cisa-adp` (vulnrichment) or `advisory-headline`. */
  readonly score_source: string | null;
  /** In CISA's Known Exploited Vulnerabilities catalogue. */
  readonly kev: { readonly date_added: string; readonly ransomware: string } | null;
  /** CISA SSVC decision points from vulnrichment. */
  readonly ssvc: { readonly exploitation: string; readonly automatable: string; readonly technical_impact: string } | null;
  /** True when some remediation is a released vendor fix (not "no fix developed"). */
  readonly fix_available: boolean;
  readonly fixes: readonly Fix[];
  /** Indexes into the advisory's products that this CVE affects. */
  readonly products: readonly number[];
}

/** An affected product line of an advisory. */
export interface KbProduct {
  /** Canonical vendor (vendors.json). */
  readonly vendor: string;
  readonly name: string;
  /** The affected-version expression as written (`<= 9.33`, `vers:all/*`, free text for CSV-only advisories). */
  readonly versions: string;
}

/** One advisory, latest revision only. */
export interface KbAdvisory {
  /** Advisory id without the revision letter, e.g. ICSMA-17-017-02. */
  readonly id: string;
  /** The latest revision's id as published, e.g. ICSMA-17-017-02B. */
  readonly revision: string;
  readonly title: string;
  readonly vendor_written: string;
  readonly vendors: readonly string[];
  readonly released: string | null;
  readonly updated: string | null;
  readonly headline_cvss: number | null;
  readonly severity: string | null;
  readonly cwes: readonly string[];
  /** `csaf` when the CISA CSAF file gave products and vectors; `csv` when only the ICS Advisory Project row did. */
  readonly detail: 'csaf' | 'csv';
  readonly products: readonly KbProduct[];
  readonly cves: readonly KbCve[];
}

/** An ATT&CK for ICS technique with its mitigations. */
export interface KbTechnique {
  readonly id: string;
  readonly name: string;
  readonly tactics: readonly string[];
  readonly description: string;
  readonly url: string;
  readonly mitigations: readonly { readonly id: string; readonly name: string }[];
}

/** The whole knowledge base. */
export interface KnowledgeBase {
  readonly format: 1;
  readonly sources: readonly { readonly name: string; readonly origin: string; readonly licence: string }[];
  readonly counts: Readonly<Record<string, number>>;
  readonly unmapped_vendors: readonly string[];
  /** MAC OUI prefix (`00:09:5C`) → registered maker, for medical and embedded-module makers. */
  readonly oui: Readonly<Record<string, string>>;
  readonly advisories: readonly KbAdvisory[];
  readonly attack_ics: readonly KbTechnique[];
}
