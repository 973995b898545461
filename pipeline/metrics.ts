/**
 * Prometheus text exposition of a running pipeline's counters (`heir run --metrics PORT`), so an
 * operator's monitoring sees throughput, duplicates, redeliveries and dead letters.
 */
import { createServer, type Server } from 'node:http';

/** Counter groups by prefix: `{ runner: {...}, bus: {...} }` → heir_runner_rows_stored … */
export type CounterGroups = () => Record<string, Readonly<Record<string, number>>>;

/** The counters in Prometheus text format. */
export function prometheusText(groups: ReturnType<CounterGroups>, labels: Record<string, string>): string {
  const labelText = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',');
  const lines: string[] = [];
  for (const [group, counters] of Object.entries(groups)) {
    for (const [name, value] of Object.entries(counters)) {
      const metric = `heir_${group}_${name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())}_total`;
      lines.push(`# TYPE ${metric} counter`, `${metric}{${labelText}} ${value}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Serve /metrics on 127.0.0.1:port (0 picks a free port); resolves with the server. */
export function serveMetrics(port: number, groups: CounterGroups, labels: Record<string, string>): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: try /metrics\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(prometheusText(groups(), labels));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
