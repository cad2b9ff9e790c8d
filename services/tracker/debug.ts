/**
 * The debug build (dist/tracker/clickstream.debug.js): the full tracker plus the generated ajv
 * validators, which check every event in the browser before it is queued and report failures on
 * the console. Invalid events are still sent, so the debug build behaves like production and the
 * server's quarantine shows the same failures; events dropped for their size are warned about.
 * Never part of the production bundle.
 */
import { validatorFor } from '../../generated/validators/index.ts';
import type { BrowserTrackerConfig } from './browser.ts';
import { init as initTracker } from './index.ts';

export function init(config: BrowserTrackerConfig) {
  return initTracker({
    ...config,
    onEvent(event) {
      const validate = validatorFor(event.event_name, event.event_version);
      if (!validate)
        console.error(`[clickstream] unknown event model ${event.event_name} v${event.event_version}`, event);
      else if (!validate(event))
        console.error(`[clickstream] invalid ${event.event_name} v${event.event_version}`, validate.errors, event);
      else console.debug(`[clickstream] ${event.event_name} v${event.event_version}`, event);
      config.onEvent?.(event);
    },
    onOversized(event, bytes) {
      console.warn(
        `[clickstream] dropped ${event.event_name} v${event.event_version}: ${bytes} bytes as sent, over maxEventBytes`,
        event,
      );
      config.onOversized?.(event, bytes);
    },
  });
}
