/**
 * Lake direction: every line already in the raw lake must still load under the head registry.
 *
 * A lake line is the wire event of its model plus the fields ingest added
 * (`schemas/common/enrichment.json`; see codegen/generators/lake-line.ts). Backfills and rebuilds
 * validate and map every stored line again, so a line valid under an earlier state must stay valid.
 * The wire part is the producer direction's question (the same old-value-set-must-still-be-accepted
 * comparison, against every past state) and is reported there with the EVENT_* rules; this
 * direction reports what only the lake sees:
 *
 * - the enrichment shape: no tracker sends it, so the producer direction never compares it;
 * - a removed model, deprecated or not: its stored lines name a model the ETL no longer knows.
 *
 * The enrichment comparison is the producer comparison (one engine); its findings are renamed to
 * LAKE_* rules, whose fix hints speak about stored lines rather than old trackers.
 */
import { eventKey } from '../registry.ts';
import { type Issue, type Loc, ProducerComparison, Undecided } from './producer.ts';
import type { RuleId } from './rules.ts';
import type { Side } from './side.ts';

export interface LakeIssue {
  rule: RuleId;
  event: string | null;
  model: number | null;
  file: string;
  pointer: string;
  message: string;
}

/** Producer rule of an enrichment finding → the lake rule it is reported as. */
const ENRICHMENT_RULES: Partial<Record<RuleId, RuleId>> = {
  EVENT_REQUIRED_ADDED: 'LAKE_ENRICHMENT_REQUIRED_ADDED',
  EVENT_OPTIONAL_MADE_REQUIRED: 'LAKE_ENRICHMENT_REQUIRED_ADDED',
  EVENT_PROPERTY_REMOVED: 'LAKE_ENRICHMENT_FIELD_REMOVED',
  EVENT_TYPE_CHANGED: 'LAKE_ENRICHMENT_TYPE_CHANGED',
  EVENT_TYPE_NARROWED: 'LAKE_ENRICHMENT_TYPE_CHANGED',
};

const root = (node: { id: string; schema: Loc['node'] }): Loc => ({ node: node.schema, base: node.id, pointer: '' });

/** Why lines written under `state` would no longer load under `head`. */
export function lakeIssues(state: Side, head: Side): LakeIssue[] {
  const issues: LakeIssue[] = [];
  let compared: Issue[];
  try {
    compared = new ProducerComparison(state, head).compare(
      root(state.registry.enrichment),
      root(head.registry.enrichment),
    );
  } catch (e) {
    if (!(e instanceof Undecided)) throw e;
    compared = [{ rule: e.rule, file: e.file, pointer: e.pointer, message: e.message }];
  }
  for (const i of compared) {
    const rule = i.rule.startsWith('EVENT_') ? (ENRICHMENT_RULES[i.rule] ?? 'LAKE_ENRICHMENT_NARROWED') : i.rule;
    const message = i.rule.startsWith('EVENT_')
      ? `${i.message}; lines already in the lake were enriched before`
      : i.message;
    issues.push({ rule, event: null, model: null, file: i.file, pointer: i.pointer, message });
  }
  const models = new Set(head.registry.events.map(eventKey));
  for (const old of state.registry.events) {
    if (models.has(eventKey(old))) continue;
    issues.push({
      rule: 'LAKE_MODEL_REMOVED',
      event: old.name,
      model: old.model,
      file: old.file,
      pointer: '',
      message: `${old.name} v${old.model} was removed; its lines in the lake no longer validate or map on a backfill or rebuild`,
    });
  }
  return issues;
}
