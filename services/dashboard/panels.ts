/**
 * The dashboard's panels: each has one JSON endpoint (`/api/<id>`), and each table panel a CSV
 * export (`/api/<id>.csv`) with exactly the rows the page shows. The page, the API and the CSV
 * all come from this one list.
 */
import type { EventName } from '../../generated/types/events.ts';
import { type Filters, ParamError, parseChoice, parseEventName, parseFunnel, parseOptional } from './params.ts';
import type { Db, LakeCheck } from './queries.ts';
import * as q from './queries.ts';

export interface PanelContext {
  db: Db;
  filters: Filters;
  query: URLSearchParams;
  now: Date;
  lake?: LakeCheck;
}

export interface Table {
  columns: string[];
  rows: unknown[][];
}

export interface Panel {
  id: string;
  title: string;
  load(ctx: PanelContext): Promise<unknown>;
  /** The rows of a table panel, for its HTML table and its CSV. */
  table?(data: never): Table;
}

type Rows = { rows: Record<string, unknown>[] };
const tableOf = (columns: string[]) => (data: Rows) => ({
  columns,
  rows: data.rows.map((r) => columns.map((c) => r[c] ?? null)),
});

const RAW_LIMIT_MAX = 200;

function rawOptions(query: URLSearchParams): q.RawEventOptions & { decoded?: { ts: string; id: string } } {
  const cursor = parseOptional(query, 'cursor', 200);
  const limitRaw = parseOptional(query, 'limit', 4) ?? '25';
  const limit = Number(limitRaw);
  if (!/^\d+$/.test(limitRaw) || limit < 1 || limit > RAW_LIMIT_MAX) {
    throw new ParamError('invalid_limit', `limit must be an integer from 1 to ${RAW_LIMIT_MAX}`);
  }
  const decoded = cursor ? q.decodeCursor(cursor) : undefined;
  if (cursor && !decoded) throw new ParamError('invalid_cursor', 'cursor is not one this dashboard issued');
  return {
    cursor,
    decoded,
    session: parseOptional(query, 'session', 64),
    client: parseOptional(query, 'client', 64),
    limit,
  };
}

export const PANELS: Panel[] = [
  { id: 'kpis', title: 'Key figures', load: ({ db, filters }) => q.kpis(db, filters) },
  {
    id: 'events-over-time',
    title: 'Events over time',
    load: ({ db, filters, query }) =>
      q.eventsOverTime(db, filters, parseChoice(query, 'by', ['event', 'login'] as const, 'event')),
    table: (d: Awaited<ReturnType<typeof q.eventsOverTime>>) => ({
      columns: ['bucket', ...d.series.map((s) => s.name)],
      rows: d.buckets.map((b, i) => [b, ...d.series.map((s) => s.values[i])]),
    }),
  },
  {
    id: 'top-events',
    title: 'Top event types',
    load: ({ db, filters }) => q.topEvents(db, filters),
    table: tableOf(['event_name', 'events', 'share']),
  },
  {
    id: 'login-states',
    title: 'Events by login state and identity source',
    load: ({ db, filters }) => q.loginStates(db, filters),
    table: tableOf(['user_login_state', 'identity_source', 'events', 'share']),
  },
  {
    id: 'funnel',
    title: 'Funnel (per session, in order)',
    load: ({ db, filters, query }) => q.funnel(db, filters, parseFunnel(query)),
    table: (d: Awaited<ReturnType<typeof q.funnel>>) =>
      tableOf(['step', 'event', 'sessions', 'conversion_from_previous', 'conversion_from_first', 'drop_off'])({
        rows: d.steps,
      }),
  },
  {
    id: 'retention',
    title: 'Retention of new clients',
    load: ({ db, filters, query, now }) =>
      q.retention(db, filters, parseChoice(query, 'cohort', ['week', 'day'] as const, 'week'), now),
    table: (d: Awaited<ReturnType<typeof q.retention>>) => {
      const width = Math.max(0, ...d.cohorts.map((c) => c.periods.length));
      return {
        columns: ['cohort', 'clients', ...Array.from({ length: width }, (_, k) => `${d.cohort}_${k}`)],
        rows: d.cohorts.map((c) => [
          c.start,
          c.clients,
          ...Array.from({ length: width }, (_, k) => c.periods[k]?.share ?? null),
        ]),
      };
    },
  },
  {
    id: 'paths',
    title: 'Top 3-step paths',
    load: ({ db, filters, query }) => q.paths(db, filters, afterStep(query, filters)),
    table: (d: Awaited<ReturnType<typeof q.paths>>) => ({
      columns: ['step1', 'step2', 'step3', 'sessions'],
      rows: d.top.map((t) => [...t.path, t.sessions]),
    }),
  },
  {
    id: 'next-steps',
    title: 'What follows',
    load: ({ db, filters, query }) => q.paths(db, filters, afterStep(query, filters)),
    table: (d: Awaited<ReturnType<typeof q.paths>>) => ({
      columns: ['after', 'step', 'transitions', 'share'],
      rows: d.next.map((n) => [d.after, n.step, n.transitions, n.share]),
    }),
  },
  ...(['product', 'category', 'brand'] as const).map(
    (group): Panel => ({
      id: group === 'product' ? 'products' : group === 'category' ? 'categories' : 'brands',
      title: group === 'product' ? 'Top products' : group === 'category' ? 'Top categories' : 'Top brands',
      load: ({ db, filters }) => q.products(db, filters, group),
      table: tableOf([
        ...(group === 'product' ? ['product_id', 'product_name', 'category', 'brand'] : [group]),
        'views',
        'add_to_carts',
        'purchases',
        'revenue',
        'view_to_cart_rate',
      ]),
    }),
  ),
  ...(
    [
      ['landing-pages', 'Landing pages', 'landing_page'],
      ['referrers', 'Referrers', 'referrer'],
      ['utm-sources', 'UTM sources', 'utm_source'],
    ] as const
  ).map(
    ([id, title, dimension]): Panel => ({
      id,
      title,
      load: ({ db, filters }) => q.sources(db, filters, dimension),
      table: tableOf([dimension, 'sessions', 'bounce_rate', 'conversion_rate']),
    }),
  ),
  ...(
    [
      ['devices', 'Device classes', 'device_class'],
      ['browsers', 'Browsers', 'browser'],
    ] as const
  ).map(
    ([id, title, dimension]): Panel => ({
      id,
      title,
      load: ({ db, filters }) => q.technology(db, filters, dimension),
      table: tableOf([dimension, 'sessions', 'share', 'conversion_rate']),
    }),
  ),
  { id: 'sessions', title: 'Sessions', load: ({ db, filters }) => q.sessionsPanel(db, filters) },
  {
    id: 'events',
    title: 'Raw events (newest first)',
    load: ({ db, filters, query }) => {
      const o = rawOptions(query);
      return q.rawEvents(db, filters, o, o.decoded);
    },
    table: tableOf([
      'event_timestamp',
      'event_name',
      'event_version',
      'user_login_state',
      'client_id',
      'session_id',
      'page_url',
      'event_id',
    ]),
  },
  {
    id: 'data-quality',
    title: 'Data quality by event model',
    load: ({ db, filters }) => q.dataQuality(db, filters),
    table: (d: Awaited<ReturnType<typeof q.dataQuality>>) => ({
      columns: [
        'event_name',
        'event_version',
        'deprecated',
        'accepted',
        'rejected_at_ingest',
        'quarantined_at_load',
        'top_rule',
        'top_path',
        'deprecated_share',
        'last_seen',
      ],
      rows: d.rows.map((r) => [
        r.event_name,
        r.event_version,
        r.deprecated,
        r.accepted,
        r.rejected_at_ingest,
        r.quarantined_at_load,
        r.top_errors[0]?.rule ?? null,
        r.top_errors[0]?.path ?? null,
        r.deprecated_share,
        r.last_seen,
      ]),
    }),
  },
  {
    id: 'pipeline',
    title: 'Pipeline health',
    load: ({ db, now, lake }) => q.pipeline(db, now, lake),
    table: (d: Awaited<ReturnType<typeof q.pipeline>>) =>
      tableOf([
        'started_at',
        'trigger',
        'status',
        'objects',
        'rows_inserted',
        'duplicates',
        'quarantined',
        'duration_ms',
        'error',
      ])({ rows: d.runs }),
  },
];

/** `after=` of the paths panels: an event name or a page step (`page:<type>`); default the event filter. */
function afterStep(query: URLSearchParams, filters: Filters): string {
  const raw = parseOptional(query, 'after', 64) ?? filters.event ?? ('product_view' satisfies EventName);
  if (/^page:[a-z_]{1,32}$/.test(raw)) return raw;
  return parseEventName('after', raw);
}

export const panelById = new Map(PANELS.map((p) => [p.id, p]));

/** RFC 4180 CSV; cells that a spreadsheet would run as a formula are prefixed with '. */
export function toCsv(t: Table): string {
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    if (/^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return `${[t.columns, ...t.rows].map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}
