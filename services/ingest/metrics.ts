/**
 * Accepted/rejected counters per event name. The Node server keeps running totals (GET /metrics);
 * the Lambda prints each invocation's counts as CloudWatch Embedded Metric Format lines, which
 * CloudWatch turns into metrics without any API call.
 */
export type EventCounts = Map<string, { accepted: number; rejected: number }>;

export const EMF_NAMESPACE = 'Clickstream/Ingest';

export function countEvents(accepted: { event_name: string }[], rejected: { raw: unknown }[]): EventCounts {
  const counts: EventCounts = new Map();
  const bump = (name: string, field: 'accepted' | 'rejected') => {
    let c = counts.get(name);
    if (!c) {
      c = { accepted: 0, rejected: 0 };
      counts.set(name, c);
    }
    c[field]++;
  };
  for (const a of accepted) bump(a.event_name, 'accepted');
  for (const r of rejected) bump(nameOf(r.raw), 'rejected');
  return counts;
}

/** Rejected events may carry any name; metrics dimensions must stay few and printable. */
function nameOf(raw: unknown): string {
  const name = typeof raw === 'object' && raw !== null ? (raw as { event_name?: unknown }).event_name : undefined;
  return typeof name === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(name) ? name : '(invalid)';
}

export class Counters {
  private readonly totals: EventCounts = new Map();

  add(counts: EventCounts): void {
    for (const [name, c] of counts) {
      const t = this.totals.get(name) ?? { accepted: 0, rejected: 0 };
      t.accepted += c.accepted;
      t.rejected += c.rejected;
      this.totals.set(name, t);
    }
  }

  snapshot(): Record<string, { accepted: number; rejected: number }> {
    return Object.fromEntries([...this.totals].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}

/** One EMF document per event name: metrics Accepted and Rejected with dimension EventName. */
export function emfLines(counts: EventCounts, at: Date): string[] {
  return [...counts].map(([name, c]) =>
    JSON.stringify({
      _aws: {
        Timestamp: at.getTime(),
        CloudWatchMetrics: [
          {
            Namespace: EMF_NAMESPACE,
            Dimensions: [['EventName']],
            Metrics: [
              { Name: 'Accepted', Unit: 'Count' },
              { Name: 'Rejected', Unit: 'Count' },
            ],
          },
        ],
      },
      EventName: name,
      Accepted: c.accepted,
      Rejected: c.rejected,
    }),
  );
}
