/**
 * Failed runs page someone: the run summary goes to the SNS topic ALERT_TOPIC_ARN (when set), in
 * addition to the structured error log every adapter writes. A failure to publish is logged and
 * never masks the run's own outcome.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { type EtlResult, summary } from './core.ts';

export interface AlertOptions {
  topicArn: string;
  region: string;
  /** Injected by tests to point at a local endpoint. */
  client?: SNSClient;
  log?: (entry: Record<string, unknown>) => void;
}

export async function alertOnFailure(result: EtlResult, opts: AlertOptions): Promise<boolean> {
  if (result.status !== 'failed' || !opts.topicArn) return false;
  const client = opts.client ?? new SNSClient({ region: opts.region });
  try {
    await client.send(
      new PublishCommand({
        TopicArn: opts.topicArn,
        Subject: `Clickstream ETL run failed (${result.trigger})`,
        Message: JSON.stringify(summary(result)),
        MessageAttributes: { status: { DataType: 'String', StringValue: result.status } },
      }),
    );
    return true;
  } catch (err) {
    opts.log?.({
      level: 'error',
      msg: 'etl alert publish failed',
      topic_arn: opts.topicArn,
      error: (err as Error).message,
    });
    return false;
  }
}
