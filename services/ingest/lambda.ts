/**
 * AWS Lambda entry point behind an API Gateway HTTP API (payload v2): the same Hono app through
 * hono's `handle`. Initialised once per container at import (cold start); the lake is S3 here.
 * Counters leave as CloudWatch EMF lines on stdout; throttling is API Gateway's.
 */
import { handle } from 'hono/aws-lambda';
import { loadConfig } from '../config.ts';
import { openLake } from '../lake/open.ts';
import { createLogger } from '../log.ts';
import { createIngestApp, depsFromConfig } from './app.ts';
import { LakeWriter } from './lake-writer.ts';
import { emfLines } from './metrics.ts';

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const store = openLake(config);

export const app = createIngestApp({
  writer: new LakeWriter(store),
  logger,
  ...(await depsFromConfig(config)),
  clientIp: (c) => (c.env as { requestContext?: { http?: { sourceIp?: string } } }).requestContext?.http?.sourceIp,
  onStored: (counts) => {
    for (const line of emfLines(counts, new Date())) process.stdout.write(`${line}\n`);
  },
});

export const handler = handle(app);
