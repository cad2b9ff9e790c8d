/**
 * AWS Lambda entry point behind an API Gateway HTTP API (payload v2): the ingest handling of
 * app.ts through apigw.ts, which answers as the Hono app does without building Fetch API objects
 * (no undici in the cold start). Initialised once per container at import (cold start); the lake
 * is S3 here. Counters leave as CloudWatch EMF lines on stdout; throttling is API Gateway's.
 */
import { loadConfig } from '../config.ts';
import { openLake } from '../lake/open.ts';
import { createLogger } from '../log.ts';
import { createApiGatewayHandler } from './apigw.ts';
import { depsFromConfig } from './app.ts';
import { LakeWriter } from './lake-writer.ts';
import { emfLines } from './metrics.ts';

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const store = openLake(config);

export const handler = createApiGatewayHandler({
  writer: new LakeWriter(store),
  logger,
  ...(await depsFromConfig(config)),
  clientIp: (event) => event.requestContext.http.sourceIp,
  onStored: (counts) => {
    for (const line of emfLines(counts, new Date())) process.stdout.write(`${line}\n`);
  },
});
