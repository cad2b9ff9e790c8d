import { loadRegistry } from './codegen/load.ts';

const r = await loadRegistry('schemas').catch((e) => {
  console.log(e.message);
  process.exit(1);
});
console.log(
  r.events.length,
  r.commons.map((c) => c.typeName),
);
