/**
 * The allowlist: intentional breaking changes, each with a reason, committed next to the schemas
 * (`schemas/compat-allowlist.json`). An entry names exactly one place — rule, pointer and the
 * event, model and table of the finding, a field left out meaning the finding has none — so it
 * cannot silently accept a later break elsewhere. A matched finding is still reported but no
 * longer fails the check; an entry that matches nothing fails it, so stale entries get removed.
 */
import { readFile } from 'node:fs/promises';
import { type Static, Type } from '@sinclair/typebox';
import { createMetaAjv } from '../ajv.ts';
import { type Finding, isUndecided, RULES } from './rules.ts';

const AllowlistEntry = Type.Object(
  {
    rule: Type.Union(Object.keys(RULES).map((r) => Type.Literal(r))),
    event: Type.Optional(Type.String({ minLength: 1 })),
    model: Type.Optional(Type.Integer({ minimum: 1 })),
    table: Type.Optional(Type.String({ minLength: 1 })),
    pointer: Type.String({ description: 'JSON pointer of the finding, as printed after # in its file.' }),
    reason: Type.String({ minLength: 10, description: 'Why the break is acceptable (who agreed, what was done).' }),
  },
  { additionalProperties: false },
);
export type AllowlistEntry = Static<typeof AllowlistEntry>;

const AllowlistFile = Type.Object(
  { $comment: Type.Optional(Type.String()), entries: Type.Array(AllowlistEntry) },
  { additionalProperties: false },
);

export class AllowlistError extends Error {
  constructor(file: string, problems: string[]) {
    super(`allowlist ${file} is invalid:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'AllowlistError';
  }
}

/** Reads and validates an allowlist; a missing file is an empty allowlist. */
export async function readAllowlist(file: string): Promise<AllowlistEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new AllowlistError(file, [`not JSON: ${(e as Error).message}`]);
  }
  const validate = createMetaAjv().compile(AllowlistFile);
  if (!validate(raw))
    throw new AllowlistError(
      file,
      (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`),
    );
  return (raw as Static<typeof AllowlistFile>).entries;
}

const matches = (entry: AllowlistEntry, f: Finding) =>
  entry.rule === f.rule &&
  (entry.event ?? null) === f.event &&
  (entry.model ?? null) === f.model &&
  entry.table === f.table &&
  entry.pointer === f.pointer;

/**
 * Marks allowlisted findings and adds an error per entry that matched nothing, unless
 * `reportUnused` is false (only part of the history was compared, so an entry may be needed by a
 * state that was not). Undecided findings cannot be allowlisted: the checker does not know what it
 * would be accepting.
 */
export function applyAllowlist(
  findings: Finding[],
  entries: AllowlistEntry[],
  allowlistFile: string,
  reportUnused = true,
): Finding[] {
  const used = new Set<number>();
  const out = findings.map((f) => {
    if (isUndecided(f)) return f;
    const i = entries.findIndex((e) => matches(e, f));
    if (i < 0) return f;
    used.add(i);
    return { ...f, allowlisted: entries[i]?.reason };
  });
  entries.forEach((e, i) => {
    if (used.has(i) || !reportUnused) return;
    out.push({
      rule: 'ALLOWLIST_ENTRY_UNUSED',
      severity: RULES.ALLOWLIST_ENTRY_UNUSED.severity,
      direction: RULES.ALLOWLIST_ENTRY_UNUSED.direction,
      event: e.event ?? null,
      model: e.model ?? null,
      file: allowlistFile,
      pointer: `/entries/${i}`,
      message: `entry for ${e.rule}${e.event ? ` on ${e.event}${e.model ? ` v${e.model}` : ''}` : ''}${e.table ? ` in ${e.table}` : ''} at ${e.pointer || '(root)'} matched no finding`,
      fix: 'remove the entry (the change it allowed is no longer reported), or correct its event, model, table and pointer to the finding it is meant for',
    });
  });
  return out;
}
