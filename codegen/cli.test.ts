/**
 * `npm run codegen` end to end on a private copy of the project: --check catches hand edits,
 * orphans and missing migrations; a new event scaffolded with new-event flows into every
 * generated artifact and a migration; reruns are byte-identical.
 */

import { execFile, spawnSync } from 'node:child_process';
import { appendFile, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from './cli.ts';
import { scaffoldEvent } from './new-event.ts';
import { REPO_ROOT } from './testing/temp-schemas.ts';

let root: string;
const roots: string[] = [];

/** A private copy of the project's contract and output: each test breaks its own. */
async function freshRoot(): Promise<string> {
  root = await mkdtemp(path.join(tmpdir(), 'codegen-cli-'));
  roots.push(root);
  for (const dir of ['schemas', 'generated', 'migrations'])
    await cp(path.join(REPO_ROOT, dir), path.join(root, dir), { recursive: true });
  // drizzle-kit and the generated imports resolve packages from the copy's node_modules.
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  return root;
}

async function codegen(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const err = vi.spyOn(console, 'error').mockImplementation((...a) => void lines.push(a.join(' ')));
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void lines.push(a.join(' ')));
  try {
    const code = await main([...args, '--root', root]);
    return { code, out: lines.join('\n') };
  } finally {
    err.mockRestore();
    log.mockRestore();
  }
}

/** A nullable warehouse column `name` holding the order's coupon (a schema change needing a migration). */
async function addCouponColumn(name: string): Promise<void> {
  const file = path.join(root, 'schemas/warehouse/clickstream_events.json');
  const table = JSON.parse(await readFile(file, 'utf8'));
  table.columns[name] = {
    type: 'varchar(64)',
    nullable: true,
    description: 'Coupon applied with the event.',
    source: '/properties/order/coupon',
  };
  await writeFile(file, JSON.stringify(table, null, 2));
}

/** What a product team does first after new-event: describe the real property. */
async function replacePlaceholder(event: string): Promise<void> {
  const file = path.join(root, 'schemas/events', event, '1.json');
  const schema = JSON.parse(await readFile(file, 'utf8'));
  schema.properties.example_id.description = 'Identifier of the thing the event is about.';
  await writeFile(file, JSON.stringify(schema, null, 2));
}

async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const dir of ['generated', 'migrations']) {
    for (const f of await readdir(path.join(root, dir), { recursive: true, withFileTypes: true })) {
      if (!f.isFile()) continue;
      const p = path.join(f.parentPath, f.name);
      out[path.relative(root, p)] = await readFile(p, 'utf8');
    }
  }
  return out;
}

beforeEach(freshRoot);
afterAll(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

describe('codegen CLI', { timeout: 120_000 }, () => {
  it('--check passes on the committed output', async () => {
    const { code, out } = await codegen('--check');
    expect(out).toContain('up to date');
    expect(code).toBe(0);
  });

  it('--check names a hand-edited file and a file codegen does not produce', async () => {
    const api = path.join(root, 'generated/tracker/api.ts');
    const original = await readFile(api, 'utf8');
    await writeFile(api, `${original}\n// hand edit\n`);
    await writeFile(path.join(root, 'generated/validators/old_event.v1.ts'), '// left over\n');
    const { code, out } = await codegen('--check');
    expect(code).toBe(1);
    expect(out).toContain('stale: generated/tracker/api.ts');
    expect(out).toContain('not produced by codegen (remove it): generated/validators/old_event.v1.ts');
    expect(await readFile(api, 'utf8')).toContain('// hand edit'); // --check writes nothing
    expect((await codegen()).code).toBe(0);
    expect((await codegen('--check')).code).toBe(0);
  });

  it('a new event from new-event reaches the tracker API, validators, mappers and catalogue', async () => {
    const untouched = ['generated/validators/add_to_cart.v1.ts', 'generated/validators/wishlist_toggle.v1.ts'];
    const before = await Promise.all(untouched.map((f) => readFile(path.join(root, f), 'utf8')));
    const scaffolded = await scaffoldEvent(path.join(root, 'schemas'), 'cli_probe_event', {
      owner: 'checkout-team',
      description: 'A coupon code was applied to the cart.',
    });
    const refused = await codegen('--check');
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(
      "schemas/events/cli_probe_event/1.json#/properties/example_id: still new-event's placeholder: replace the property",
    );
    await replacePlaceholder('cli_probe_event');
    const stale = await codegen('--check');
    expect(stale.code).toBe(1);
    expect(stale.out).toContain('stale: generated/tracker/api.ts');
    expect(stale.out).toContain('stale: generated/validators/cli_probe_event.v1.ts');

    expect((await codegen()).code).toBe(0);
    // Other events' validators are not rewritten (no renumbering noise in schema PRs).
    expect(await Promise.all(untouched.map((f) => readFile(path.join(root, f), 'utf8')))).toEqual(before);
    expect(await readFile(path.join(root, 'generated/tracker/api.ts'), 'utf8')).toContain(
      "cliProbeEvent: (properties: CliProbeEventV1Properties): void => track('cli_probe_event', 1, properties)",
    );
    expect(await readFile(path.join(root, 'generated/mappers/clickstream_events.ts'), 'utf8')).toContain(
      'export function mapCliProbeEventV1',
    );
    expect(await readFile(path.join(root, 'generated/catalog/EVENTS.md'), 'utf8')).toContain(
      '## cli_probe_event (model 1)',
    );

    const { default: validate } = await import(path.join(root, 'generated/validators/cli_probe_event.v1.ts'));
    const fixture = (kind: string, name: string) =>
      readFile(path.join(root, 'schemas/events/cli_probe_event/fixtures', kind, name), 'utf8').then(JSON.parse);
    const named = (kind: string) =>
      scaffolded.filter((f) => f.includes(`/fixtures/${kind}/`)).map((f) => path.basename(f));
    expect(named('valid').length).toBeGreaterThanOrEqual(3);
    expect(named('invalid').length).toBeGreaterThanOrEqual(5);
    for (const f of named('valid')) expect({ f, ok: validate(await fixture('valid', f)) }).toEqual({ f, ok: true });
    for (const f of named('invalid'))
      expect({ f, ok: validate(await fixture('invalid', f)) }).toEqual({ f, ok: false });
    // One per kind of violation: each invalid fixture fails on a different rule.
    const rules = [];
    for (const f of named('invalid')) {
      validate(await fixture('invalid', f));
      rules.push(`${validate.errors?.[0]?.keyword} ${validate.errors?.[0]?.instancePath}`);
    }
    expect(new Set(rules).size).toBe(rules.length);
    expect((await codegen('--check')).code).toBe(0);
  });

  it('a new warehouse column yields one named migration, and reruns change no byte', async () => {
    // A name no README example uses: a column a reader adds following the README stays possible.
    await addCouponColumn('cli_test_coupon');
    const journal = JSON.parse(await readFile(path.join(root, 'migrations/meta/_journal.json'), 'utf8'));
    const next = String(journal.entries.length).padStart(4, '0');
    const stale = await codegen('--check');
    expect(stale.code).toBe(1);
    expect(stale.out).toContain(`missing migration: drizzle-kit would generate migrations/${next}_schema.sql`);

    expect((await codegen('--migration-name', 'add_cli_test_coupon')).code).toBe(0);
    const sql = await readFile(path.join(root, `migrations/${next}_add_cli_test_coupon.sql`), 'utf8');
    expect(sql).toContain('ALTER TABLE "clickstream_events" ADD COLUMN "cli_test_coupon" varchar(64);');

    const before = await snapshot();
    expect((await codegen()).code).toBe(0);
    expect(await snapshot()).toEqual(before);
    expect((await codegen('--check')).code).toBe(0);
  });

  it('--discard-migration removes a migration git does not track, and refuses a committed one', async () => {
    const git = (...args: string[]) =>
      promisify(execFile)('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: root });
    await git('init', '-q');
    await git('add', 'migrations');
    await git('commit', '-qm', 'committed migrations');
    const committed = await snapshot();
    const file = path.join(root, 'schemas/warehouse/clickstream_events.json');
    const original = await readFile(file, 'utf8');
    const table = JSON.parse(original);
    table.columns.cli_test_mistake = { type: 'text', nullable: true, description: 'By mistake.' };
    await writeFile(file, JSON.stringify(table, null, 2));
    expect((await codegen('--migration-name', 'mistake')).code).toBe(0);
    expect(Object.keys(await snapshot()).filter((p) => p.includes('mistake'))).toHaveLength(1);

    await writeFile(file, original);
    const discarded = await codegen('--discard-migration');
    expect(discarded).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^codegen: discarded migration \d{4}_mistake /),
    });
    expect((await codegen()).code).toBe(0);
    expect(await snapshot()).toEqual(committed);
    expect((await codegen('--check')).code).toBe(0);

    const refused = await codegen('--discard-migration');
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('is committed');
    expect(await snapshot()).toEqual(committed);
  });

  it('a migration generated on a machine whose clock is behind still sorts after the last one', async () => {
    // drizzle's migrator skips a migration whose journal `when` is not after the newest applied one.
    const journalFile = path.join(root, 'migrations/meta/_journal.json');
    const journal = JSON.parse(await readFile(journalFile, 'utf8'));
    const ahead = Date.UTC(2200, 0, 1); // the previous author's clock, far ahead of this one
    journal.entries.at(-1).when = ahead;
    await writeFile(journalFile, JSON.stringify(journal, null, 2));
    const file = path.join(root, 'schemas/warehouse/clickstream_events.json');
    const table = JSON.parse(await readFile(file, 'utf8'));
    table.columns.cli_test_clock = {
      type: 'varchar(64)',
      nullable: true,
      description: 'A column added with a clock behind.',
      source: '/properties/order/coupon',
    };
    await writeFile(file, JSON.stringify(table, null, 2));
    expect((await codegen('--migration-name', 'add_cli_test_clock')).code).toBe(0);
    const after = JSON.parse(await readFile(journalFile, 'utf8'));
    expect(after.entries.at(-1)).toMatchObject({ tag: expect.stringMatching(/_add_cli_test_clock$/), when: ahead + 1 });
    expect((await codegen('--check')).code).toBe(0);
  });

  it('remembers drizzle-kit\'s "no migration" for the same inputs only, and asks again when one changes', async () => {
    // A private node_modules (links to the packages) so the cache under node_modules/.cache is this test's.
    await rm(path.join(root, 'node_modules'));
    await mkdir(path.join(root, 'node_modules'));
    for (const name of await readdir(path.join(REPO_ROOT, 'node_modules')))
      if (name !== '.cache')
        await symlink(path.join(REPO_ROOT, 'node_modules', name), path.join(root, 'node_modules', name));
    const childMs = async () => {
      const run = await codegen('--check', '--timings');
      expect(run.code).toBe(0);
      return JSON.parse(run.out.split('\n').find((l) => l.startsWith('{')) ?? '{}')['drizzle-kit (child)'] as number;
    };
    expect(await childMs()).toBeGreaterThan(0);
    expect(await childMs()).toBe(0);
    // Any byte of migrations/ is an input (drizzle-kit diffs against the snapshots).
    await appendFile(path.join(root, 'migrations/meta/_journal.json'), '\n');
    expect(await childMs()).toBeGreaterThan(0);
    expect(await childMs()).toBe(0);
    // A schema change is never answered from the cache.
    await addCouponColumn('cli_test_cached');
    const stale = await codegen('--check');
    expect(stale.code).toBe(1);
    expect(stale.out).toContain('missing migration: drizzle-kit would generate');
  });

  it('--help prints the usage (exit 0); an unknown option is one line (exit 2)', async () => {
    expect(await codegen('--help')).toMatchObject({ code: 0, out: expect.stringContaining('--discard-migration') });
    const bad = await codegen('--bogus');
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/^codegen: Unknown option '--bogus'.*\(see npm run codegen -- --help\)$/);
  });

  it('refuses an invalid registry and writes nothing', async () => {
    const file = path.join(root, 'schemas/events/add_to_cart/1.json');
    const schema = JSON.parse(await readFile(file, 'utf8'));
    schema.properties.cart_id.maxLenght = 3;
    await writeFile(file, JSON.stringify(schema));
    const before = await snapshot();
    const { code, out } = await codegen();
    expect(code).toBe(1);
    expect(out).toContain('schemas/events/add_to_cart/1.json#/properties/cart_id: unknown keyword "maxLenght"');
    expect(await snapshot()).toEqual(before);
  });

  it('produces the same bytes whatever the machine locale (LANG) is', async () => {
    // Estonian collation sorts "z" between "s" and "t": a locale-aware sort would reorder files.
    await scaffoldEvent(path.join(root, 'schemas'), 'zz_locale_probe', {
      owner: 'catalog-team',
      description: 'The shopper zoomed into a product image.',
    });
    await replacePlaceholder('zz_locale_probe');
    expect((await codegen()).code).toBe(0);
    const check = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'codegen/cli.ts'), '--check', '--root', root],
      {
        env: { ...process.env, LANG: 'et_EE.UTF-8', LC_ALL: 'et_EE.UTF-8' },
        encoding: 'utf8',
        cwd: REPO_ROOT,
      },
    );
    expect(check.stderr + check.stdout).toContain('up to date');
    expect(check.status).toBe(0);
  });
});
