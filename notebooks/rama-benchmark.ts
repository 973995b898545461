/**
 * Compare hospitals' RAMA scores from a DuckDB store (`heir rama simulate` then `heir rama site`,
 * or `heir demo`): the distribution of site scores, one site against its peer group, device score
 * bands per site, and the factors that cost a site its points.
 */
import * as Plot from '@observablehq/plot';
import { benchmarkSites, groupKey, PEER_LEVELS, type BenchmarkRow, type SiteProfile } from '../operators/rama/benchmark.ts';
import { ErrorCode, UserError } from '../pipeline/errors.ts';
import { md, note, notebook, table, type NotebookContext } from './notebook.ts';

/** RAMA bands, best first, with the colours every chart uses. */
const BANDS = ['secure', 'needs-attention', 'vulnerable'] as const;
const BAND_COLOURS = ['#3ca951', '#efb118', '#d1495b'];

interface SiteScore extends SiteProfile {
  readonly name: string;
  readonly band: string;
  readonly devices: number;
  readonly vulnerable: number;
  readonly contributions: string;
  readonly synthetic: boolean;
}

interface Fleet {
  readonly sites: readonly SiteScore[];
  readonly devices: readonly { site: string; device: string; unit: string; criticality: string; score: number; band: string; contributions: string }[];
  readonly units: readonly { site: string; unit: string; score: number; band: string; devices: number }[];
  readonly synthetic: boolean;
  readonly benchmark: readonly BenchmarkRow[];
  /** The site the per-site cells show. */
  readonly focus: SiteScore;
}

/** The latest scores of every site, unit and device, read once per render. */
function fleet(ctx: NotebookContext): Promise<Fleet> {
  return ctx.once('fleet', async () => {
    const store = await ctx.store();
    const tables = new Set(await store.tables());
    if (!tables.has('rama_site_scores') || !tables.has('rama_device_scores')) {
      throw new UserError(ErrorCode.INPUT_MALFORMED, `${store.path} has no RAMA scores yet: run heir rama site --db ${store.path} (after heir rama simulate, or use heir demo)`);
    }
    const profiles = tables.has('rama_sites');
    const latest = `QUALIFY row_number() OVER (PARTITION BY s.site, s.scope, s.unit ORDER BY s.as_of DESC, s.run DESC) = 1`;
    const rows = await store.all<{ site: string; scope: string; unit: string | null; score: number; band: string; devices: number; vulnerable: number; contributions: string; name: string | null; size: string | null; type: string | null; region: string | null; synthetic: boolean | null }>(
      `SELECT s.site, s.scope, s.unit, s.score, s.band, s.devices, s.vulnerable, s.contributions,
              ${profiles ? 'p.name, p.size, p.type, p.region, p.synthetic' : 'NULL AS name, NULL AS size, NULL AS type, NULL AS region, NULL AS synthetic'}
       FROM rama_site_scores s ${profiles ? 'LEFT JOIN rama_sites p ON p.site = s.site' : ''} ${latest} ORDER BY s.site, s.unit NULLS FIRST`,
    );
    const devices = await store.all<Fleet['devices'][number]>(
      `SELECT s.site, s.device, s.unit, s.criticality, s.score, s.band, s.contributions FROM rama_device_scores s
       QUALIFY row_number() OVER (PARTITION BY s.site, s.device ORDER BY s.as_of DESC, s.run DESC) = 1 ORDER BY s.site, s.device`,
    );
    const syntheticDevices = tables.has('rama_devices') ? ((await store.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM rama_devices WHERE synthetic'))[0].n) : 0;
    const sites: SiteScore[] = rows
      .filter((r) => r.scope === 'site')
      .map((r) => ({ site: r.site, name: r.name ?? r.site, score: r.score, band: r.band, devices: r.devices, vulnerable: r.vulnerable, contributions: r.contributions, size: r.size ?? 'unknown', type: r.type ?? 'unknown', region: r.region ?? 'unknown', synthetic: r.synthetic === true }));
    if (sites.length === 0) throw new UserError(ErrorCode.INPUT_MALFORMED, `${store.path}: rama_site_scores has no site rows`);
    const units = rows.filter((r) => r.scope === 'unit').map((r) => ({ site: r.site, unit: r.unit ?? 'unassigned', score: r.score, band: r.band, devices: r.devices }));
    const wanted = ctx.params.site;
    const focus = wanted === '' ? [...sites].sort((a, b) => a.score - b.score)[0] : sites.find((s) => s.site === wanted);
    if (!focus) throw new UserError(ErrorCode.USAGE, `no site '${wanted}' in ${store.path} (sites: ${sites.slice(0, 10).map((s) => s.site).join(', ')}${sites.length > 10 ? ', …' : ''})`);
    const k = ctx.numberParam('k');
    if (!(Number.isInteger(k) && k >= 1)) throw new UserError(ErrorCode.USAGE, `parameter k=${k}: expected an integer ≥ 1`);
    return { sites, devices, units, synthetic: sites.some((s) => s.synthetic) || syntheticDevices > 0, benchmark: benchmarkSites(sites, k), focus };
  });
}

function parseContributions(json: string): { factor: string; points: number }[] {
  return JSON.parse(json) as { factor: string; points: number }[];
}

/** A factor's family: the part before the colon of `finding:telnet-service`, `vuln:CVE-…`, `control:segmentation`. */
function family(factor: string): string {
  const i = factor.indexOf(':');
  return i === -1 ? factor : factor.slice(0, i);
}

export default notebook(
  'RAMA benchmark',
  [
    md`
      # Comparing hospitals' RAMA scores

      RAMA scores a device, a care unit and a site from 0 to 100 (100 = best security status): each
      finding, vulnerability and attack takes points, each control gives some back (docs/rama.md).
      Sites are compared within peer groups of the same size, type and region, widened until a group
      has at least *k* sites; smaller groups are suppressed.
    `,
    async (ctx) => {
      const f = await fleet(ctx);
      const out = [
        f.synthetic
          ? note('warning', `**Synthetic fleet.** These hospitals and their devices were made by \`heir rama simulate\` (real product lines and CVEs, simulated hospitals, units, findings and attacks). The numbers describe the simulator, not any real hospital.`)
          : note('info', `Scores of ${f.sites.length} site${f.sites.length === 1 ? '' : 's'} from the store; no row is marked synthetic.`),
        table(
          [...f.sites].sort((a, b) => a.score - b.score).map((s) => {
            const b = f.benchmark.find((r) => r.site === s.site)!;
            return { site: s.site, name: s.name, score: s.score, band: s.band, devices: s.devices, vulnerable: s.vulnerable, 'peer group': b.group ?? 'suppressed', percentile: b.percentile, 'robust z': b.robustZ, outlier: b.outlier ?? '' };
          }),
          { caption: `Latest site scores (${f.synthetic ? 'SYNTHETIC' : 'store'}), lowest first`, limit: 30 },
        ),
      ];
      return out;
    },
    async (ctx) => {
      const f = await fleet(ctx);
      const scores = f.sites.map((s) => s.score).sort((a, b) => a - b);
      const median = scores[Math.floor((scores.length - 1) / 2)] / 2 + scores[Math.ceil((scores.length - 1) / 2)] / 2;
      return [
        md`## Distribution of site scores
        ${f.sites.length} sites; median ${median.toFixed(2)}, lowest ${scores[0].toFixed(2)}, highest ${scores[scores.length - 1].toFixed(2)}.`,
        ctx.plot({
          title: `Site RAMA scores${f.synthetic ? ' (synthetic fleet)' : ''}`,
          height: 220,
          x: { label: 'site RAMA (100 = best)', grid: true },
          y: { label: 'sites', grid: true },
          color: { domain: [...BANDS], range: BAND_COLOURS, legend: true },
          marks: [
            Plot.rectY(f.sites, Plot.binX({ y: 'count' }, { x: 'score', fill: 'band', thresholds: 20 } as Plot.BinXInputs<Plot.RectYOptions>)),
            Plot.ruleX([median], { stroke: '#333', strokeDasharray: '4,3' }),
            Plot.text([median], { x: (d: number) => d, frameAnchor: 'top', text: () => 'median', dy: -2, dx: 4, textAnchor: 'start' }),
            Plot.ruleY([0]),
          ],
        }),
      ];
    },
    async (ctx) => {
      const f = await fleet(ctx);
      const b = f.benchmark.find((r) => r.site === f.focus.site)!;
      if (b.suppressed || b.group === null) {
        // No peer group: compare the site's units instead.
        const units = f.units.filter((u) => u.site === f.focus.site);
        return [
          md`## ${f.focus.site} against its peers`,
          note('info', `${f.focus.site} has no peer group of at least ${ctx.params.k} sites (the store holds ${f.sites.length}); its care units are compared instead.`),
          ctx.plot({
            title: `${f.focus.site}: unit scores`,
            marginLeft: 120,
            x: { domain: [0, 100], label: 'unit RAMA', grid: true },
            y: { label: null },
            color: { domain: [...BANDS], range: BAND_COLOURS },
            marks: [Plot.barX(units, { x: 'score', y: 'unit', fill: 'band', sort: { y: 'x' } }), Plot.ruleX([f.focus.score], { stroke: '#333', strokeDasharray: '4,3' })],
          }),
        ];
      }
      const level = PEER_LEVELS.find((l) => groupKey(f.focus, l) === b.group)!;
      const peers = f.sites.filter((s) => groupKey(s, level) === b.group).map((s) => ({ ...s, focus: s.site === f.focus.site ? f.focus.site : 'peers' }));
      return [
        md`## ${f.focus.site} against its peer group
        Peer group **${b.group}** (${b.groupSize} sites): ${f.focus.site} scores ${f.focus.score.toFixed(2)}, percentile ${b.percentile}, median of the group ${b.median} (IQR ${b.p25}–${b.p75}), robust z ${b.robustZ}${b.outlier ? `, a **${b.outlier} outlier**` : ''}.`,
        ctx.plot({
          title: `${f.focus.site} among ${b.groupSize} peers (${b.group})`,
          height: 160,
          marginLeft: 20,
          x: { label: 'site RAMA', grid: true },
          y: { axis: null },
          color: { domain: [f.focus.site, 'peers'], range: ['#d1495b', '#9aa5b1'], legend: true },
          marks: [
            Plot.rectX([b], { x1: 'p25', x2: 'p75', fill: '#e8ecf3' }),
            Plot.ruleX([b.median!], { stroke: '#333', strokeDasharray: '4,3' }),
            Plot.dot(peers, Plot.dodgeY({ x: 'score', fill: 'focus', r: (d: { focus: string }) => (d.focus === 'peers' ? 4 : 7), title: 'site', anchor: 'middle' })),
          ],
        }),
      ];
    },
    async (ctx) => {
      const f = await fleet(ctx);
      const counts = new Map<string, number>();
      for (const d of f.devices) counts.set(`${d.site}\u0000${d.band}`, (counts.get(`${d.site}\u0000${d.band}`) ?? 0) + 1);
      const order = [...f.sites].sort((a, b) => a.score - b.score).map((s) => s.site);
      const rows = order.flatMap((site) => BANDS.map((band) => ({ site, band, devices: counts.get(`${site}\u0000${band}`) ?? 0 })));
      const focusDevices = f.devices.filter((d) => d.site === f.focus.site);
      return [
        md`## Device score bands
        Share of each site's devices per band (secure ≥ 80, needs attention, vulnerable < 50 — docs/rama.md), sites from the lowest score up.`,
        ctx.plot({
          title: 'Devices per band and site',
          marginLeft: 90,
          height: 40 + 18 * order.length,
          x: { label: 'share of the site’s devices', percent: true, grid: true },
          y: { domain: order, label: null },
          color: { domain: [...BANDS], range: BAND_COLOURS, legend: true },
          marks: [Plot.barX(rows, Plot.normalizeX('sum', { x: 'devices', y: 'site', fill: 'band', z: 'site', order: [...BANDS] } as Plot.BarXOptions)), Plot.ruleX([0])],
        }),
        table(
          BANDS.map((band) => ({ band, [f.focus.site]: focusDevices.filter((d) => d.band === band).length, fleet: f.devices.filter((d) => d.band === band).length })),
          { caption: `Devices per band: ${f.focus.site} and all sites` },
        ),
      ];
    },
    async (ctx) => {
      const f = await fleet(ctx);
      // Mean points per device and factor family, for the focus site and for the fleet.
      const sums = new Map<string, { site: number; fleet: number }>();
      let focusDevices = 0;
      for (const d of f.devices) {
        const isFocus = d.site === f.focus.site;
        if (isFocus) focusDevices++;
        for (const c of parseContributions(d.contributions)) {
          const key = family(c.factor);
          const s = sums.get(key) ?? { site: 0, fleet: 0 };
          s.fleet += c.points;
          if (isFocus) s.site += c.points;
          sums.set(key, s);
        }
      }
      const rows = [...sums.entries()].flatMap(([factor, s]) => [
        { factor, who: f.focus.site, points: focusDevices > 0 ? s.site / focusDevices : 0 },
        { factor, who: 'all sites', points: s.fleet / f.devices.length },
      ]);
      const topFactors = [...f.devices.filter((d) => d.site === f.focus.site).flatMap((d) => parseContributions(d.contributions))]
        .reduce((m, c) => m.set(c.factor, (m.get(c.factor) ?? 0) + c.points), new Map<string, number>());
      return [
        md`## Factor contributions
        Mean points per device by factor family: negative for findings, vulnerabilities and attacks,
        positive for controls (100 + the sum of a device's points is its score).`,
        ctx.plot({
          title: `Mean points per device: ${f.focus.site} against all sites`,
          marginLeft: 90,
          x: { label: 'points per device', grid: true },
          y: { label: null },
          color: { domain: [f.focus.site, 'all sites'], range: ['#d1495b', '#4269d0'], legend: true },
          marks: [
            Plot.ruleX([0]),
            Plot.ruleY(rows.filter((r) => r.who === f.focus.site), { y: 'factor', x1: 0, x2: 'points', stroke: '#ddd' }),
            Plot.dot(rows, { x: 'points', y: 'factor', fill: 'who', r: 5, sort: { y: 'x' } }),
          ],
        }),
        table(
          [...topFactors.entries()].sort((a, b) => a[1] - b[1]).slice(0, 12).map(([factor, points]) => ({ factor, 'points over all devices': Math.round(points * 100) / 100 })),
          { caption: `${f.focus.site}: the factors that cost the most points` },
        ),
      ];
    },
    async (ctx) => {
      const f = await fleet(ctx);
      return f.synthetic
        ? md`*Data: a synthetic fleet from \`heir rama simulate\`; no real hospital is described. Vulnerability data from public advisories (the knowledge base).*`
        : md`*Data: RAMA scores stored by HEIR at the sites above.*`;
    },
  ],
  {
    description: 'site score distribution, a site against its peer group, device score bands and factor contributions from a RAMA store',
    params: {
      site: { default: '', doc: 'site to focus on (default: the lowest-scoring site)' },
      k: { default: '5', doc: 'minimum peer-group size' },
    },
  },
);
