/**
 * The dashboard as a Hono app (tested with `app.request()`; server.ts serves it on node:http):
 *
 *   GET /                     the page (every panel, server-rendered, its data embedded as JSON)
 *   GET /sbw_dashboard        → 301 / (the seed's Shiny path, kept so old bookmarks work)
 *   GET /api/<panel>          one JSON document per panel (docs/dashboard.md lists them)
 *   GET /api/<panel>.csv      the rows of a table panel, as shown
 *   GET /catalog              the generated event catalogue (data quality links into it)
 *   GET /assets/dashboard.js  client script (uPlot + chart), /assets/dashboard.css
 *   GET /health               { ok: true }
 *
 * Every query parameter is validated; a bad one is 400 `{ error: { code, message } }`. With a
 * token configured, everything but /health needs it (Bearer header, or `?token=` once, which sets
 * an HttpOnly cookie and redirects to the same URL without it).
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { marked } from 'marked';
import { dashboardAssets } from './assets.ts';
import { DashboardPage, type RenderedPanel } from './page.tsx';
import { PANELS, type Panel, type PanelContext, panelById, toCsv } from './panels.ts';
import { ParamError, parseFilters } from './params.ts';
import type { Db, LakeCheck } from './queries.ts';

export interface DashboardDeps {
  db: Db;
  /** The clock ("today", lag); tests pin it. */
  now?: () => Date;
  /** When set, every request but /health must carry it. */
  token?: string;
  /** Lists the lake for objects not yet loaded (pipeline health). */
  lake?: LakeCheck;
  log?: (entry: Record<string, unknown>) => void;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TOKEN_COOKIE = 'dashboard_token';
const CATALOG = new URL('../../generated/catalog/EVENTS.md', import.meta.url);

/** Parameters each panel takes beyond the filters, kept in its links. */
const PANEL_PARAMS = ['by', 'steps', 'window', 'cohort', 'after', 'cursor', 'session', 'client', 'limit'];

function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createDashboardApp(deps: DashboardDeps): Hono {
  const now = deps.now ?? (() => new Date());
  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
  });

  app.get('/health', (c) => c.json({ ok: true }));

  if (deps.token) {
    const token = deps.token;
    app.use('*', async (c, next) => {
      const url = new URL(c.req.url);
      const fromQuery = url.searchParams.get('token') ?? undefined;
      if (fromQuery !== undefined && sameToken(fromQuery, token)) {
        setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
        url.searchParams.delete('token');
        return c.redirect(`${url.pathname}${url.search}`, 303);
      }
      const bearer = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
      if (sameToken(bearer, token) || sameToken(getCookie(c, TOKEN_COOKIE), token)) return next();
      return c.json({ error: { code: 'unauthorized', message: 'this dashboard needs its DASHBOARD_TOKEN' } }, 401);
    });
  }

  const fail = (c: Context, err: unknown) => {
    if (err instanceof ParamError) return c.json({ error: { code: err.code, message: err.message } }, 400);
    deps.log?.({ level: 'error', msg: 'dashboard query failed', error: (err as Error)?.message, path: c.req.path });
    return c.json({ error: { code: 'internal', message: 'the query failed; see the dashboard log' } }, 500);
  };

  const context = (c: Context): PanelContext => {
    const query = new URL(c.req.url).searchParams;
    const at = now();
    return { db: deps.db, filters: parseFilters(query, at), query, now: at, lake: deps.lake };
  };

  const render = async (p: Panel, ctx: PanelContext): Promise<RenderedPanel> => {
    const data = await p.load(ctx);
    const extra = Object.fromEntries(PANEL_PARAMS.map((k) => [k, ctx.query.get(k) ?? undefined]));
    return { id: p.id, title: p.title, data, table: p.table?.(data as never), extra };
  };

  app.get('/sbw_dashboard', (c) => c.redirect(`/${new URL(c.req.url).search}`, 301));
  app.get('/sbw_dashboard/', (c) => c.redirect(`/${new URL(c.req.url).search}`, 301));

  app.get('/', async (c) => {
    try {
      const ctx = context(c);
      // One panel after another: PGlite is one connection, and a pool of 4 gains little here.
      const panels: RenderedPanel[] = [];
      for (const p of PANELS) panels.push(await render(p, ctx));
      return c.html(
        `<!doctype html>${(<DashboardPage filters={ctx.filters} panels={panels} title="Clickstream dashboard" />).toString()}`,
      );
    } catch (err) {
      return fail(c, err);
    }
  });

  app.get('/api/:panel', async (c) => {
    const name = c.req.param('panel');
    const csv = name.endsWith('.csv');
    const panel = panelById.get(csv ? name.slice(0, -4) : name);
    if (!panel || (csv && !panel.table)) {
      return c.json({ error: { code: 'unknown_panel', message: `no panel ${JSON.stringify(name)}` } }, 404);
    }
    try {
      const ctx = context(c);
      const rendered = await render(panel, ctx);
      if (!csv) return c.json({ filters: publicFilters(ctx), data: rendered.data });
      c.header('Content-Disposition', `attachment; filename="${panel.id}.csv"`);
      return c.body(toCsv(rendered.table as NonNullable<RenderedPanel['table']>), 200, {
        'Content-Type': 'text/csv; charset=utf-8',
      });
    } catch (err) {
      return fail(c, err);
    }
  });

  app.get('/assets/:name', async (c) => {
    const asset = (await dashboardAssets())[c.req.param('name')];
    if (!asset) return c.json({ error: { code: 'not_found', message: 'no such asset' } }, 404);
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(asset.body, 200, { 'Content-Type': asset.type });
  });

  let catalog: Promise<string> | undefined;
  app.get('/catalog', async (c) => {
    catalog ??= readFile(CATALOG, 'utf8').then((md) => catalogHtml(md));
    return c.html(await catalog);
  });

  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route ${c.req.path}` } }, 404));
  return app;
}

function publicFilters(ctx: PanelContext) {
  const f = ctx.filters;
  return {
    from: f.from,
    to: f.to,
    tz: f.tz,
    granularity: f.granularity,
    login: f.login,
    event: f.event ?? null,
    bots: f.excludeBots ? 'exclude' : 'include',
    start: f.start.toISOString(),
    end: f.end.toISOString(),
    ...(f.notice ? { notice: f.notice } : {}),
  };
}

/** The catalogue as HTML, headings carrying the anchors of generated/catalog/models.ts. */
function catalogHtml(markdown: string): string {
  const renderer = new marked.Renderer();
  renderer.heading = ({ tokens, depth }) => {
    const text = tokens.map((t) => ('text' in t ? t.text : t.raw)).join('');
    const id = text
      .toLowerCase()
      .replace(/[^a-z0-9_\- ]/g, '')
      .trim()
      .replace(/ +/g, '-');
    return `<h${depth} id="${id}">${text.replace(/[<>&]/g, '')}</h${depth}>\n`;
  };
  const body = marked.parse(markdown, { renderer, async: false }) as string;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Event catalogue</title>
<link rel="stylesheet" href="/assets/dashboard.css"></head><body><main class="catalog">${body}</main></body></html>`;
}
