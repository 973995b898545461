/**
 * Citations of the datasets the notebooks show, as text (a rendered page links nothing). The same
 * references as datasets/samples/README.md.
 */

/** Reference of each dataset by adapter name. */
export const DATASET_CITATIONS: Readonly<Record<string, string>> = {
  'wustl-ehms-2020':
    'A. A. Hady, A. Ghubaish, T. Salman, D. Unal, R. Jain, "Intrusion Detection System for Healthcare Systems Using Medical and Network Data: A Comparison Study," IEEE Access 8:106576-106584, 2020, doi:10.1109/ACCESS.2020.3000421. Data distributed by Washington University in St. Louis.',
  ciciomt2024:
    'S. Dadkhah, E. C. P. Neto, R. Ferreira, R. C. Molokwu, S. Sadeghi, A. A. Ghorbani, "CICIoMT2024: A benchmark dataset for multi-protocol security assessment in IoMT," Internet of Things 28:101351, 2024, doi:10.1016/j.iot.2024.101351. Data distributed by the Canadian Institute for Cybersecurity.',
};

/** The citation of a dataset, or a sentence saying none is recorded. */
export function citationOf(dataset: string): string {
  return DATASET_CITATIONS[dataset] ?? `No citation is recorded for ${dataset}.`;
}
