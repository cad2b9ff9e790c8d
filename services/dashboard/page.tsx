/**
 * The dashboard page, server-rendered with Hono JSX. Filters are a GET form (the URL is the state:
 * shareable, the back button works); each panel embeds its data as JSON
 * (`<script type="application/json" id="data-<panel>">`) next to its HTML, and links its JSON and
 * CSV. No inline script or style (the CSP forbids both): bars and shading are SVG attributes and
 * CSS classes, the chart is drawn by /assets/dashboard.js.
 */

import { raw } from 'hono/html';
import type { Child, FC } from 'hono/jsx';
import type { Table } from './panels.ts';
import { EVENT_NAMES, type Filters, filterQuery, LOGIN_STATES, REFRESH_SECONDS } from './params.ts';
import { type DataQualityRow, FUNNEL_WINDOW_LABELS } from './queries.ts';

export interface RenderedPanel {
  id: string;
  title: string;
  data: unknown;
  table?: Table;
  /** Query parameters of this panel beyond the filters (kept in its API/CSV links). */
  extra?: Record<string, string | undefined>;
}

const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '–');
const fmt = (v: unknown) =>
  typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 2 }) : v === null ? '–' : String(v);

/** JSON safe inside a <script> element: `<` escaped so no `</script>` can close it early. */
const jsonScript = (value: unknown) => raw(JSON.stringify(value).replace(/</g, '\\u003c'));

const RATE_COLUMNS = new Set([
  'share',
  'conversion_rate',
  'bounce_rate',
  'view_to_cart_rate',
  'conversion_from_previous',
  'conversion_from_first',
  'deprecated_share',
]);

const DataTable: FC<{ table: Table }> = ({ table }) =>
  table.rows.length === 0 ? (
    <p class="empty">No data in this range.</p>
  ) : (
    <table>
      <thead>
        <tr>
          {table.columns.map((c) => (
            <th class={typeof table.rows[0]?.[table.columns.indexOf(c)] === 'number' ? 'n' : ''}>{c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {table.rows.map((r) => (
          <tr>
            {r.map((v, i) => (
              <td class={typeof v === 'number' ? 'n' : ''}>
                {RATE_COLUMNS.has(table.columns[i] as string) ? pct(v) : fmt(v)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );

const Bars: FC<{ items: { label: string; value: number }[]; title: string }> = ({ items, title }) => {
  const max = Math.max(1, ...items.map((i) => i.value));
  const rowH = 22;
  return (
    <svg class="bars" width="100%" height={items.length * rowH} viewBox={`0 0 400 ${items.length * rowH}`} role="img">
      <title>{title}</title>
      {items.map((item, i) => (
        <g>
          <rect class="bar" x="150" y={i * rowH + 3} height={rowH - 6} width={(item.value / max) * 190} rx="3" />
          <text x="0" y={i * rowH + 15}>
            {item.label}
          </text>
          <text x={155 + (item.value / max) * 190} y={i * rowH + 15}>
            {fmt(item.value)}
          </text>
        </g>
      ))}
    </svg>
  );
};

const Change: FC<{ value: number | null }> = ({ value }) =>
  value === null ? (
    <span class="flat">no previous data</span>
  ) : (
    <span class={value > 0 ? 'up' : value < 0 ? 'down' : 'flat'}>
      {value > 0 ? '▲' : value < 0 ? '▼' : '='} {(Math.abs(value) * 100).toFixed(1)}% vs previous
    </span>
  );

type Kpis = {
  current: Record<string, number | null>;
  change: Record<string, number | null>;
  bot_events_hidden: number;
};

const KPI_CARDS: [string, string, (v: number | null) => string][] = [
  ['events', 'Events', fmt],
  ['unique_clients', 'Unique clients (exact)', fmt],
  ['sessions', 'Sessions', fmt],
  ['conversion_rate', 'Conversion rate', pct],
  ['checkout_rate', 'Checkout rate (checkouts ÷ carts)', pct],
  ['revenue', 'Revenue', fmt],
  ['orders', 'Orders', fmt],
  ['aov', 'Average order value', fmt],
];

function panelBody(p: RenderedPanel, f: Filters): Child {
  const d = p.data as Record<string, unknown>;
  switch (p.id) {
    case 'kpis': {
      const k = p.data as Kpis;
      return (
        <>
          <div class="cards">
            {KPI_CARDS.map(([key, label, show]) => (
              <div class="card" data-kpi={key}>
                <div class="label">{label}</div>
                <div class="value">{show(k.current[key] ?? null)}</div>
                <div class="muted">
                  <Change value={k.change[key] ?? null} />
                </div>
              </div>
            ))}
          </div>
          {k.bot_events_hidden > 0 && (
            <p class="muted" data-bots-hidden={String(k.bot_events_hidden)}>
              {fmt(k.bot_events_hidden)} events from bots and scripts (headless browsers, curl) are hidden.{' '}
              <a href={`/?${filterQuery(f, { bots: 'include' })}`}>Include bots</a>
            </p>
          )}
        </>
      );
    }
    case 'sessions': {
      const s = d as Record<string, number | null>;
      return (
        <div class="cards">
          {(
            [
              ['sessions', 'Sessions', fmt],
              ['avg_duration_s', 'Average duration (s)', fmt],
              ['pages_per_session', 'Pages per session', fmt],
              ['bounce_rate', 'Bounce rate', pct],
              ['new_client_sessions', 'New clients', fmt],
              ['returning_client_sessions', 'Returning clients', fmt],
            ] as const
          ).map(([key, label, show]) => (
            <div class="card" data-session-stat={key}>
              <div class="label">{label}</div>
              <div class="value">{show(s[key] ?? null)}</div>
            </div>
          ))}
        </div>
      );
    }
    case 'events-over-time': {
      const series = (d.series as unknown[]).length;
      const other = d.by === 'event' ? 'login' : 'event';
      return (
        <>
          <p class="muted">
            Stacked by {d.by === 'event' ? 'event name' : 'login state'} ·{' '}
            <a href={`/?${filterQuery(f, { ...p.extra, by: other })}#events-over-time`}>
              by {other === 'event' ? 'event name' : 'login state'}
            </a>
          </p>
          {series ? (
            <div class="chart" id="chart-events-over-time">
              <p class="muted">Loading chart…</p>
            </div>
          ) : (
            <p class="empty">No events in this range.</p>
          )}
        </>
      );
    }
    case 'top-events':
      return (
        <>
          {(d.rows as { event_name: string; events: number }[]).length ? (
            <Bars
              title="events by type"
              items={(d.rows as { event_name: string; events: number }[]).map((r) => ({
                label: r.event_name,
                value: r.events,
              }))}
            />
          ) : null}
          {p.table ? <DataTable table={p.table} /> : null}
        </>
      );
    case 'funnel': {
      const steps = d.steps as { event: string; sessions: number }[];
      return (
        <>
          <form method="get" class="filters">
            <HiddenFilters f={f} />
            <label>
              steps
              <input name="steps" value={steps.map((s) => s.event).join(',')} size={48} />
            </label>
            <label>
              window
              <select name="window">
                {FUNNEL_WINDOW_LABELS.map((w) => (
                  <option value={w} selected={w === d.window}>
                    {w}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit">Apply</button>
          </form>
          {steps[0]?.sessions ? (
            <Bars title="sessions per funnel step" items={steps.map((s) => ({ label: s.event, value: s.sessions }))} />
          ) : null}
          {p.table ? <DataTable table={p.table} /> : null}
        </>
      );
    }
    case 'retention': {
      const r = d as {
        note: string;
        cohort: string;
        cohorts: { start: string; clients: number; periods: { share: number | null; clients: number }[] }[];
      };
      const width = Math.max(0, ...r.cohorts.map((c) => c.periods.length));
      return r.cohorts.every((c) => c.clients === 0) ? (
        <p class="empty">No new clients in this range.</p>
      ) : (
        <>
          <table>
            <thead>
              <tr>
                <th>cohort</th>
                <th class="n">clients</th>
                {Array.from({ length: width }, (_, k) => (
                  <th class="n">
                    {r.cohort} {k}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {r.cohorts.map((c) => (
                <tr>
                  <td>{c.start}</td>
                  <td class="n">{fmt(c.clients)}</td>
                  {c.periods.map((cell) => (
                    <td
                      class={`cell s${cell.share === null ? 0 : Math.round(cell.share * 10)}`}
                      title={`${cell.clients} clients`}
                    >
                      {pct(cell.share)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted">{r.note}</p>
        </>
      );
    }
    case 'next-steps':
      return (
        <>
          <form method="get" class="filters">
            <HiddenFilters f={f} />
            <label>
              after
              <input name="after" value={String(d.after)} size={20} />
            </label>
            <button type="submit">Show</button>
          </form>
          {p.table ? <DataTable table={p.table} /> : null}
        </>
      );
    case 'events': {
      const rows = d.rows as Record<string, unknown>[];
      const search = (
        <form method="get" class="filters">
          <HiddenFilters f={f} />
          <label>
            session
            <input name="session" value={p.extra?.session ?? ''} size={20} />
          </label>
          <label>
            client
            <input name="client" value={p.extra?.client ?? ''} size={20} />
          </label>
          <button type="submit">Filter</button>
        </form>
      );
      return rows.length === 0 ? (
        <>
          {search}
          <p class="empty">No events in this range.</p>
        </>
      ) : (
        <>
          {search}
          <table>
            <thead>
              <tr>
                <th>time (UTC)</th>
                <th>event</th>
                <th>login</th>
                <th>session</th>
                <th>client</th>
                <th>page</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr>
                  <td>{String(r.event_timestamp)}</td>
                  <td>
                    <details>
                      <summary>
                        {String(r.event_name)} v{String(r.event_version)}
                      </summary>
                      <pre>{JSON.stringify(r.properties, null, 2)}</pre>
                      <span class="muted">{String(r.event_id)}</span>
                    </details>
                  </td>
                  <td>{String(r.user_login_state)}</td>
                  <td>
                    <a href={`/?${filterQuery(f, { session: String(r.session_id) })}#events`}>{String(r.session_id)}</a>
                  </td>
                  <td>
                    <a href={`/?${filterQuery(f, { client: String(r.client_id) })}#events`}>{String(r.client_id)}</a>
                  </td>
                  <td>{String(r.page_url)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {d.next_cursor ? (
            <p>
              <a href={`/?${filterQuery(f, { ...p.extra, cursor: String(d.next_cursor) })}#events`}>Older events →</a>
            </p>
          ) : null}
        </>
      );
    }
    case 'data-quality': {
      const rows = d.rows as DataQualityRow[];
      return (
        <table>
          <thead>
            <tr>
              <th>event (model)</th>
              <th class="n">accepted</th>
              <th>per day</th>
              <th class="n">rejected at ingest</th>
              <th class="n">quarantined at load</th>
              <th>top rules · paths</th>
              <th class="n">on deprecated models</th>
              <th>last seen</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const max = Math.max(1, ...r.accepted_per_day);
              return (
                <tr>
                  <td>
                    {r.catalog ? <a href={r.catalog}>{r.event_name}</a> : (r.event_name ?? '(no name)')} (
                    {r.event_version ?? '?'}){r.deprecated ? ' deprecated' : ''}
                    {r.deprecated === null ? ' — not in the registry' : ''}
                  </td>
                  <td class="n">{fmt(r.accepted)}</td>
                  <td>
                    <svg class="spark" width={r.accepted_per_day.length * 5} height="18" role="img">
                      <title>{`accepted per day: ${r.accepted_per_day.join(', ')}`}</title>
                      {r.accepted_per_day.map((v, i) => (
                        <rect x={i * 5} y={18 - (v / max) * 18} width="4" height={(v / max) * 18} />
                      ))}
                    </svg>
                  </td>
                  <td class="n">{fmt(r.rejected_at_ingest)}</td>
                  <td class="n">{fmt(r.quarantined_at_load)}</td>
                  <td>
                    {r.top_errors.map((e) => (
                      <div>
                        {e.rule} · {e.path || '(whole event)'} × {e.count}
                      </div>
                    ))}
                  </td>
                  <td class="n">{pct(r.deprecated_share)}</td>
                  <td>{r.last_seen ?? 'never'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      );
    }
    case 'pipeline': {
      const pl = d as {
        lag_seconds: number | null;
        newest_event: string | null;
        lake_pending: { objects: number; checked_hours: number } | null;
      };
      return (
        <>
          <div class="cards">
            <div class="card" data-pipeline="lag">
              <div class="label">Lag to newest loaded event</div>
              <div class="value">{pl.lag_seconds === null ? '–' : `${fmt(Math.round(pl.lag_seconds / 60))} min`}</div>
              <div class="muted">{pl.newest_event ?? 'no events loaded'}</div>
            </div>
            <div class="card" data-pipeline="pending">
              <div class="label">Lake objects not yet loaded</div>
              <div class="value">{pl.lake_pending ? fmt(pl.lake_pending.objects) : '–'}</div>
              <div class="muted">
                {pl.lake_pending ? `last ${pl.lake_pending.checked_hours} h listed` : 'no lake configured'}
              </div>
            </div>
          </div>
          {p.table ? <DataTable table={p.table} /> : null}
        </>
      );
    }
    default:
      return p.table ? <DataTable table={p.table} /> : null;
  }
}

const HiddenFilters: FC<{ f: Filters }> = ({ f }) => (
  <>
    {[...new URLSearchParams(filterQuery(f))].map(([k, v]) => (
      <input type="hidden" name={k} value={v} />
    ))}
  </>
);

const WIDE = new Set(['kpis', 'events-over-time', 'events', 'data-quality', 'retention', 'pipeline', 'funnel']);

export const DashboardPage: FC<{ filters: Filters; panels: RenderedPanel[]; title: string }> = ({
  filters: f,
  panels,
  title,
}) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      {f.refresh ? <meta http-equiv="refresh" content={String(f.refresh)} /> : null}
      <title>{title}</title>
      <link rel="stylesheet" href="/assets/dashboard.css" />
      <script src="/assets/dashboard.js" defer />
    </head>
    <body>
      <header>
        <h1>{title}</h1>
        <form method="get" class="filters" id="filters">
          <label>
            from
            <input type="date" name="from" value={f.from} />
          </label>
          <label>
            to
            <input type="date" name="to" value={f.to} />
          </label>
          <label>
            time zone
            <input name="tz" value={f.tz} size={18} />
          </label>
          <label>
            granularity
            <select name="granularity">
              {(['hour', 'day'] as const).map((g) => (
                <option value={g} selected={g === f.granularity}>
                  {g}
                </option>
              ))}
            </select>
          </label>
          <label>
            login state
            <select name="login">
              {LOGIN_STATES.map((l) => (
                <option value={l} selected={l === f.login}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <label>
            event
            <select name="event">
              <option value="">all events</option>
              {EVENT_NAMES.map((e) => (
                <option value={e} selected={e === f.event}>
                  {e}
                </option>
              ))}
            </select>
          </label>
          <label>
            bots
            <select name="bots">
              <option value="exclude" selected={f.excludeBots}>
                excluded
              </option>
              <option value="include" selected={!f.excludeBots}>
                included
              </option>
            </select>
          </label>
          <label>
            auto-refresh
            <select name="refresh">
              {REFRESH_SECONDS.map((s) => (
                <option value={String(s)} selected={s === f.refresh}>
                  {s ? `${s} s` : 'off'}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Apply</button>
        </form>
      </header>
      {f.notice ? (
        <p class="notice" id="notice">
          {f.notice}
        </p>
      ) : null}
      <main>
        {panels.map((p) => {
          const links = filterQuery(f, p.extra);
          return (
            <section class={`panel${WIDE.has(p.id) ? ' wide' : ''}`} id={p.id}>
              <h2>
                <span>{p.title}</span>
                <span>
                  <a href={`/api/${p.id}?${links}`}>JSON</a>
                  {p.table ? (
                    <>
                      {' · '}
                      <a href={`/api/${p.id}.csv?${links}`} download={`${p.id}.csv`} data-csv={p.id}>
                        CSV
                      </a>
                    </>
                  ) : null}
                </span>
              </h2>
              {panelBody(p, f)}
              <script type="application/json" id={`data-${p.id}`}>
                {jsonScript(p.data)}
              </script>
            </section>
          );
        })}
      </main>
    </body>
  </html>
);
