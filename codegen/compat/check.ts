/**
 * The compatibility check: compares the head registry with the base registry (and with every
 * earlier state of it, so that a model stays compatible with every past state of its file, not
 * just the last) and returns structured findings. No I/O: callers load the sides.
 */
import type { EventModel } from '../registry.ts';
import { eventKey } from '../registry.ts';
import { lakeIssues } from './lake.ts';
import { type Issue, type Loc, ProducerComparison, Undecided } from './producer.ts';
import { type Finding, isUndecided, RULES, type Rule, type RuleId } from './rules.ts';
import type { Side } from './side.ts';
import { fitIssues, tableIssues, type WarehouseIssue } from './warehouse.ts';

export interface CheckInput {
  head: Side;
  base: Side;
  /** Earlier states of the base, newest first; each model of the head is compared with all. */
  history?: Side[];
}

const root = (node: { id: string; schema: EventModel['schema'] }): Loc => ({
  node: node.schema,
  base: node.id,
  pointer: '',
});

export function checkCompatibility({ head, base, history = [] }: CheckInput): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const ctx = new FixContext(head);
  const add = (
    rule: RuleId,
    where: { event: string | null; model: number | null; table?: string; file: string; pointer: string },
    message: string,
  ) => {
    const key = `${rule}|${where.event}|${where.model}|${where.table}|${where.file}|${where.pointer}`;
    if (seen.has(key)) return;
    seen.add(key);
    const { severity, direction } = RULES[rule];
    findings.push({ rule, severity, direction, ...where, message, fix: ctx.fix(rule, where) });
  };
  const states = [base, ...history];

  // Producers: the envelope every tracker sends, then each event model against each past state.
  for (const state of states) {
    const suffix = state === base ? '' : ` (compared with ${state.label})`;
    runProducer(new ProducerComparison(state, head), root(state.registry.envelope), root(head.registry.envelope), (i) =>
      add(i.rule, { event: null, model: null, file: i.file, pointer: i.pointer }, i.message + suffix),
    );
    const before = new Map(state.registry.events.map((e) => [eventKey(e), e]));
    for (const event of head.registry.events) {
      const old = before.get(eventKey(event));
      if (!old) continue;
      runProducer(new ProducerComparison(state, head), root(old), root(event), (i) =>
        add(i.rule, { event: event.name, model: event.model, file: i.file, pointer: i.pointer }, i.message + suffix),
      );
    }
  }
  const headEvents = new Map(head.registry.events.map((e) => [eventKey(e), e]));
  const baseEvents = new Map(base.registry.events.map((e) => [eventKey(e), e]));
  for (const [key, old] of baseEvents) {
    if (headEvents.has(key)) continue;
    const where = { event: old.name, model: old.model, file: old.file, pointer: '' };
    if (old.deprecated) add('EVENT_MODEL_RETIRED', where, `deprecated model ${old.name} v${old.model} was removed`);
    else
      add(
        'EVENT_MODEL_REMOVED',
        where,
        `${old.name} v${old.model} was removed without being marked deprecated first; trackers still send it`,
      );
  }
  for (const [key, now] of headEvents) {
    const where = { event: now.name, model: now.model, file: now.file, pointer: '' };
    const old = baseEvents.get(key);
    if (!old) add('EVENT_MODEL_ADDED', where, `${now.name} v${now.model} is new`);
    else if (now.deprecated && !old.deprecated)
      add(
        'EVENT_MODEL_DEPRECATED',
        { ...where, pointer: '/deprecated' },
        `${now.name} v${now.model} is deprecated now`,
      );
  }

  // Lake: every line stored under any earlier state must still validate and map (replay).
  for (const state of states) {
    const suffix = state === base ? '' : ` (compared with ${state.label})`;
    for (const i of lakeIssues(state, head))
      add(i.rule, { event: i.event, model: i.model, file: i.file, pointer: i.pointer }, i.message + suffix);
  }

  // Warehouse: the head's events must fit the head's tables; old events must too.
  const addWarehouse = (i: WarehouseIssue, rule: RuleId = i.rule, message = i.message) =>
    add(rule, { event: i.event, model: i.model, table: i.table, file: i.file, pointer: i.pointer }, message);
  const headFit = new Set<string>();
  for (const table of head.registry.tables) {
    try {
      for (const i of fitIssues(head, table)) {
        headFit.add(`${i.table}|${i.column}|${i.event}|${i.model}`);
        addWarehouse(i);
      }
    } catch (e) {
      undecided(e, (u) =>
        add(u.rule, { event: null, model: null, table: table.name, file: u.file, pointer: u.pointer }, u.message),
      );
    }
  }
  for (const state of states) {
    for (const table of head.registry.tables) {
      let issues: WarehouseIssue[] = [];
      try {
        issues = fitIssues(state, table);
      } catch {
        // An old state whose pointers no longer resolve says nothing about today's table.
        continue;
      }
      for (const i of issues) {
        if (i.rule === 'WAREHOUSE_SOURCE_UNUSED') continue;
        if (headFit.has(`${i.table}|${i.column}|${i.event}|${i.model}`)) continue;
        addWarehouse(
          { ...i, file: table.file, pointer: `/columns/${i.column}` },
          'WAREHOUSE_OLD_EVENT_DOES_NOT_FIT',
          `${i.message} — events of ${state.label} are in the lake and are loaded again on a backfill`,
        );
      }
    }
  }
  const tables = new Set([...base.registry.tables, ...head.registry.tables].map((t) => t.name));
  for (const name of tables) {
    const before = base.registry.tables.find((t) => t.name === name);
    const now = head.registry.tables.find((t) => t.name === name);
    try {
      for (const i of tableIssues(before, now)) addWarehouse(i);
    } catch (e) {
      undecided(e, (u) =>
        add(u.rule, { event: null, model: null, table: name, file: u.file, pointer: u.pointer }, u.message),
      );
    }
  }
  return findings;
}

function undecided(e: unknown, report: (u: Undecided) => void): void {
  if (e instanceof Undecided) report(e);
  else throw e;
}

function runProducer(cmp: ProducerComparison, old: Loc, now: Loc, report: (i: Issue) => void): void {
  try {
    for (const issue of cmp.compare(old, now)) report(issue);
  } catch (e) {
    undecided(e, (u) => report({ rule: u.rule, file: u.file, pointer: u.pointer, message: u.message }));
  }
}

/** 0: nothing breaks · 1: breaking changes · 2: the checker could not decide. */
export function exitCodeOf(findings: Finding[]): 0 | 1 | 2 {
  if (findings.some(isUndecided)) return 2;
  return findings.some((f) => f.severity === 'error' && !f.allowlisted) ? 1 : 0;
}

/** Builds the "Fix:" hint of a finding, naming the files to touch. */
class FixContext {
  readonly #top: string;
  readonly #models = new Map<string, number>();

  constructor(head: Side) {
    this.#top = head.registry.envelope.file.split('/')[0] ?? 'schemas';
    for (const e of head.registry.events) this.#models.set(e.name, Math.max(e.model, this.#models.get(e.name) ?? 0));
  }

  fix(rule: RuleId, f: { event: string | null; model: number | null; table?: string; file: string }): string {
    const own = (RULES[rule] as Rule).fix;
    if (own) return own(f);
    const next =
      f.event === null
        ? undefined
        : `${this.#top}/events/${f.event}/${(this.#models.get(f.event) ?? f.model ?? 0) + 1}.json`;
    const instead = next ? `create \`${next}\` with the change instead (old trackers keep sending v${f.model})` : '';
    const inCommon = f.file.includes('/common/');
    const tableFile = `${this.#top}/warehouse/${f.table}.json`;
    if (RULES[rule].direction === 'P' && RULES[rule].severity === 'error') {
      if (f.event === null)
        return `the envelope is sent by every tracker: revert the change in ${f.file}; a stricter envelope needs all trackers upgraded first (then allowlist it with a reason)`;
      if (rule === 'EVENT_MODEL_REMOVED')
        return `restore ${f.file} and mark it "deprecated": true; delete it in a later change, once trackers stopped sending it`;
      const first =
        rule === 'EVENT_REQUIRED_ADDED' || rule === 'EVENT_OPTIONAL_MADE_REQUIRED'
          ? 'leave the property out of "required" (optional)'
          : inCommon
            ? `revert ${f.file} (shared by other events) and put the stricter shape in a new file under ${this.#top}/common/ used only by new models`
            : 'revert the change';
      return `${first}, or ${instead}`;
    }
    switch (rule) {
      case 'WAREHOUSE_FIELD_DOES_NOT_FIT':
        return `bound the field so it fits the column (maxLength, minimum/maximum, format), or widen the column in ${tableFile} and run \`npm run codegen -- --migration-name <name>\``;
      case 'WAREHOUSE_FIELD_MAY_BE_MISSING':
        return `make the field required, or make the column nullable / give it a default in ${tableFile}`;
      case 'WAREHOUSE_SOURCE_UNUSED':
        return `remove the source from the column in ${tableFile} or point it at a field an event has`;
      case 'WAREHOUSE_OLD_EVENT_DOES_NOT_FIT':
        return 'keep the column wide enough for every past model of the event: old events stay in the lake and are reloaded on backfill';
      case 'WAREHOUSE_TABLE_DROPPED':
        return `restore ${f.file}; dropping a table needs a planned migration (allowlist it with the plan as reason)`;
      case 'WAREHOUSE_COLUMN_DROPPED':
        return `keep the column (remove its source and make it nullable to stop filling it), or allowlist the drop with a migration plan`;
      case 'WAREHOUSE_COLUMN_RENAMED':
        return 'keep the old column; add the new name as another nullable column and backfill it';
      case 'WAREHOUSE_COLUMN_TYPE_NARROWED':
      case 'WAREHOUSE_COLUMN_TYPE_CHANGED':
        return 'keep the old type or widen it (varchar(n)→varchar(m>n)/text, smallint→integer→bigint); for another type add a new column';
      case 'WAREHOUSE_COLUMN_MADE_NOT_NULL':
        return 'keep the column nullable, or give it a default, backfill NULL rows and allowlist the change';
      case 'WAREHOUSE_COLUMN_ADDED_NOT_NULL':
        return 'make the new column nullable or give it a default';
      case 'WAREHOUSE_COLUMN_SOURCE_CHANGED':
        return 'a column should keep its meaning: add a new column for the new field';
      case 'WAREHOUSE_PRIMARY_KEY_CHANGED':
        return 'keep the primary key: the ETL deduplicates and upserts on it';
      case 'WAREHOUSE_TIME_COLUMN_CHANGED':
        return 'keep the time column: date-range queries and indexes rely on it';
      case 'WAREHOUSE_UNIQUE_INDEX_ADDED':
        return `keep the index non-unique in ${tableFile}; if the key must be unique, first delete duplicate rows and make sure no event (old ones in the lake included) repeats it, then allowlist the change with that plan`;
      case 'UNCLASSIFIED_KEYWORD':
        return 'remove the keyword, or teach codegen/compat/producer.ts how it affects accepted values (with fixtures)';
      case 'UNSUPPORTED_CONSTRUCT':
        return 'rewrite the construct (e.g. $ref a whole file) or extend codegen/compat with fixtures for it';
      default:
        return 'nothing to do';
    }
  }
}
