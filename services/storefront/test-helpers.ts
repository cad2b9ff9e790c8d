/**
 * Test helper: a shopper driving the storefront app through `app.request()` — a cookie jar, the
 * CSRF token of the last page, and the page's tracker island, each of whose events is checked
 * against its generated validator (the schema in schemas/events/) as a complete wire event.
 */
import type { Hono } from 'hono';
import { validatorFor } from '../../generated/validators/index.ts';
import type { PageEvent } from './events.ts';
import type { Island } from './views/layout.tsx';

export interface Page {
  status: number;
  headers: Headers;
  html: string;
  location: string | null;
  island?: Island;
}

/** The events of an island as `name` or `name:detail` strings, for compact assertions. */
export const eventNames = (island: Island | undefined) => (island?.events ?? []).map((e) => e.name);

export function parseIsland(html: string): Island | undefined {
  const m = /<script type="application\/json" id="clickstream-data">([\s\S]*?)<\/script>/.exec(html);
  return m ? (JSON.parse(m[1]!) as Island) : undefined;
}

/** Problems of `event` under the generated validator of its name and version (empty when valid). */
export function eventProblems(event: PageEvent): string[] {
  const validate = validatorFor(event.name, event.version);
  if (!validate) return [`no validator for ${event.name} v${event.version}`];
  const wire = {
    event_name: event.name,
    event_version: event.version,
    event_id: '0b7f4c8e-2d6a-4e1b-9c3f-5a8d7e6f1b2c',
    event_timestamp: '2030-03-01T10:00:00.000Z',
    client_id: 'client-1',
    session_id: 'session-1',
    page: { url: 'http://localhost/' },
    properties: event.properties,
  };
  return validate(wire) ? [] : (validate.errors ?? []).map((e) => `${event.name}${e.instancePath} ${e.message}`);
}

export class Shopper {
  readonly cookies = new Map<string, string>();
  csrf = '';
  /** Every event of every page this shopper saw that failed its schema. */
  readonly invalidEvents: string[] = [];

  constructor(
    private readonly app: Hono,
    readonly origin = 'http://localhost',
  ) {}

  private async send(path: string, init: RequestInit = {}): Promise<Page> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await this.app.request(`${this.origin}${path}`, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      const gone = value === '' || attrs.some((a) => /^\s*max-age=0$/i.test(a));
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const html = await res.text();
    const island = res.headers.get('content-type')?.startsWith('text/html') ? parseIsland(html) : undefined;
    for (const e of island?.events ?? []) this.invalidEvents.push(...eventProblems(e));
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html);
    if (csrf) this.csrf = csrf[1]!;
    return {
      status: res.status,
      headers: res.headers,
      html,
      location: res.headers.get('location'),
      ...(island ? { island } : {}),
    };
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Page> {
    return this.send(path, { headers });
  }

  /** POSTs a form with the CSRF token of the last page (unless `_csrf` is given). */
  post(path: string, fields: Record<string, string>): Promise<Page> {
    return this.send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: this.csrf, ...fields }).toString(),
    });
  }

  /** POSTs, expects a 303, and GETs where it points. */
  async submit(path: string, fields: Record<string, string>): Promise<Page> {
    const res = await this.post(path, fields);
    if (res.status !== 303 || !res.location)
      throw new Error(`POST ${path}: expected 303, got ${res.status}: ${res.html.slice(0, 300)}`);
    return this.get(res.location);
  }
}
