/**
 * Object keywords: `properties`, `required`, `additionalProperties`, `minProperties`,
 * `maxProperties` — allowed values, the closed-object and described-property rules and
 * compatibility comparison (see family.ts). The loader and the producer walk into `properties`
 * themselves; the family compares the property schemas through `ctx.sub`.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { joinPointer } from '../../services/json-pointer.ts';
import { type KeywordFamily, type KeywordIssue, NonNegativeInt } from './family.ts';

/** Property names: snake_case (they become TypeScript fields and warehouse sources). */
export const PROPERTY_NAME = Type.String({ pattern: '^[a-z][a-z0-9_]*$' });

/** The meta-schema entries, given the recursive schema node (the registry's JsonSchema type is built from them). */
export const objectKeywords = <Node extends TSchema>(node: Node) => ({
  properties: Type.Optional(Type.Record(PROPERTY_NAME, node)),
  required: Type.Optional(Type.Array(Type.String(), { uniqueItems: true })),
  additionalProperties: Type.Optional(Type.Boolean()),
  minProperties: Type.Optional(NonNegativeInt),
  maxProperties: Type.Optional(NonNegativeInt),
});

export const OBJECT = {
  meta: objectKeywords,
  annotations: [],
  assertions: ['properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties'],

  shapeIssues(node): KeywordIssue[] {
    const issues: KeywordIssue[] = [];
    if (node.properties) {
      if (node.additionalProperties !== false)
        issues.push({ message: 'an object with properties must set "additionalProperties": false' });
      for (const [key, sub] of Object.entries(node.properties))
        if (!sub.description)
          issues.push({ at: joinPointer('', 'properties', key), message: 'property has no description' });
    }
    for (const req of node.required ?? [])
      if (!node.properties || !Object.hasOwn(node.properties, req))
        issues.push({ at: '/required', message: `required property "${req}" is not in properties` });
    return issues;
  },

  types: ['object'],

  compare(on, nn, at, push, ctx) {
    const oldProps = on.properties ?? {};
    const newProps = nn.properties ?? {};
    const oldRequired = new Set(on.required ?? []);
    // Each newly required name is its own place (/required/<i>): a finding, and an allowlist entry,
    // for one property must not cover a property made required later.
    (nn.required ?? []).forEach((name, i) => {
      if (oldRequired.has(name)) return;
      if (Object.hasOwn(oldProps, name))
        push(
          'EVENT_OPTIONAL_MADE_REQUIRED',
          `${at('required')}/${i}`,
          `optional property "${name}" is required now; old events without it are rejected`,
        );
      else
        push(
          'EVENT_REQUIRED_ADDED',
          `${at('required')}/${i}`,
          `new property "${name}" is required; old events do not send it`,
        );
    });
    const oldClosed = on.additionalProperties === false;
    const newClosed = nn.additionalProperties === false;
    if (newClosed && !oldClosed)
      push(
        'EVENT_ADDITIONAL_PROPERTIES_CLOSED',
        at('additionalProperties'),
        'properties not listed in the schema are rejected now',
      );
    const kept = Object.keys(oldProps).filter((name) => Object.hasOwn(newProps, name));
    if (newClosed)
      for (const name of Object.keys(oldProps))
        if (!Object.hasOwn(newProps, name))
          push(
            'EVENT_PROPERTY_REMOVED',
            at('properties'),
            `property "${name}" was removed; old events that send it are rejected`,
          );
    if (nn.maxProperties !== undefined && (on.maxProperties === undefined || nn.maxProperties < on.maxProperties))
      push(
        'EVENT_MAX_PROPERTIES_DECREASED',
        at('maxProperties'),
        `maxProperties ${on.maxProperties ?? 'none'} → ${nn.maxProperties}`,
      );
    if (nn.minProperties !== undefined && nn.minProperties > (on.minProperties ?? 0))
      push(
        'EVENT_MIN_PROPERTIES_INCREASED',
        at('minProperties'),
        `minProperties ${on.minProperties ?? 'none'} → ${nn.minProperties}`,
      );
    for (const name of kept) ctx.sub(['properties', name], ['properties', name]);
    // Under an open object any value was accepted for an unlisted property.
    if (!oldClosed)
      for (const name of Object.keys(newProps))
        if (!Object.hasOwn(oldProps, name)) ctx.sub(undefined, ['properties', name]);
  },

  valueRules: {},
} satisfies KeywordFamily<keyof ReturnType<typeof objectKeywords>>;
