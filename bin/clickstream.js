#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx clickstream …` needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../services/cli.ts');
process.exitCode = await main(process.argv.slice(2));
