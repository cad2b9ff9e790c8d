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

/** The "Fix:" hint of a finding: its rule's own, told the head's folder and the event's next model file. */
class FixContext {
  readonly #top: string;
  readonly #models = new Map<string, number>();

  constructor(head: Side) {
    this.#top = head.registry.envelope.file.split('/')[0] ?? 'schemas';
    for (const e of head.registry.events) this.#models.set(e.name, Math.max(e.model, this.#models.get(e.name) ?? 0));
  }

  fix(rule: RuleId, f: { event: string | null; model: number | null; table?: string; file: string }): string {
    const nextModel =
      f.event === null
        ? undefined
        : `${this.#top}/events/${f.event}/${(this.#models.get(f.event) ?? f.model ?? 0) + 1}.json`;
    return (RULES[rule] as Rule).fix({ ...f, top: this.#top, nextModel });
  }
}
