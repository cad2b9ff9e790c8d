/**
 * Builds the app the way `cdk synth` does (infra/cdk.json context, cdk-nag attached) for tests,
 * minus two slow steps that are not what the tests check: Lambda bundling (the assets become
 * placeholders) and the built-in CloudFormation schema validation (~20 s); `npm run cdk:synth`
 * runs both.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from './app.ts';

export const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(path.join(import.meta.dirname, 'cdk.json'), 'utf8'),
).context;

export function testApp(context: Record<string, unknown> = {}): App {
  return new App({
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context },
    outdir: mkdtempSync(path.join(os.tmpdir(), 'cdk-test-')),
    builtinCloudFormationValidation: false,
  });
}

export function buildTestApp(context: Record<string, unknown> = {}) {
  return buildApp(testApp(context));
}
