import path from 'node:path';
import { fileURLToPath } from 'node:url';
/**
 * CDK app entry (`infra/cdk.json`: `npx tsx app.ts`). cdk-nag's AWS Solutions pack runs as a
 * validation plugin on every synth, so an unacknowledged finding fails `cdk synth`/`cdk deploy`.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { settingsFromContext } from './settings.ts';
import { ClickstreamStack } from './stack.ts';

/** Registers the cdk-nag packs every synth of `app` must pass. */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

export function buildApp(app: App = new App()): { app: App; stack: ClickstreamStack } {
  const settings = settingsFromContext((key) => app.node.tryGetContext(key));
  const stack = new ClickstreamStack(app, app.node.tryGetContext('clickstream:stackName') ?? 'Clickstream', {
    settings,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    description: 'Event-contract-first clickstream analytics platform',
  });
  addNagChecks(app);
  return { app, stack };
}

// Run only when executed directly (compare paths: the URL is percent-encoded).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  buildApp().app.synth();
}
