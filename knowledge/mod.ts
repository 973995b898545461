/**
 * Public names of the knowledge layer, for the RAMA score, the observatory and notebooks:
 * the knowledge base and its advisories, the CVSS calculators, the MITRE medical-device rubric,
 * the advisory matcher, the taxonomy, hunt rules and inventory files.
 */
export { loadKnowledgeBase, saveKnowledgeBase, advisoryById, cveEntries, attackTechnique, SHIPPED_KB_PATH } from './kb.ts';
export type { KnowledgeBase, KbAdvisory, KbCve, KbProduct, KbTechnique, Fix } from './kb.ts';
export { buildKnowledgeBase } from './build.ts';
export { cvss31BaseScore, cvss3Scores, parseCvss3, formatCvss3, severityOf, type Cvss3Base, type Severity } from './cvss31.ts';
export { cvss40Score, parseCvss4, macroVector } from './cvss40.ts';
export { applyRubric, RUBRIC_QUESTIONS, IMPACT_CATEGORIES, type RubricAnswers, type RubricResult } from './mitre-rubric.ts';
export { matchAdvisories, advisoriesOfVendor, type AdvisoryMatch, type DeviceIdentity, type MatchConfidence } from './match.ts';
export { normaliseVendor, canonicalVendor, foldName } from './vendors.ts';
export { compareVersions, parseVersionSpec, versionMatches } from './versions.ts';
export { ENISA_2018, OWASP_2021, OWASP_IOT_2018, THREAT_CLASSES, describeTag, type TaxonomyTags } from './taxonomy.ts';
export { loadRules, validateRules, SEVERITIES, type Rule, type RuleSet, type FindingSeverity } from './rules.ts';
export { readInventory, parseInventory, parseMds2, CRITICALITIES, type InventoryDevice, type Criticality } from './inventory-file.ts';
export { AddressClassifier } from './networks.ts';
export { identitiesFromTraffic, type TrafficIdentity } from './fingerprint.ts';
