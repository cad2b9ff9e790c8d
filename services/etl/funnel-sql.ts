/**
 * The ordered funnel, exactly: for each session, the shortest time from a step-1 event to reaching
 * step k through steps 1..k in order (ties broken by event_id). One SQL builder, used by the ETL
 * for the default funnel it rolls up (session_details.funnel_reach) and by the dashboard for a
 * funnel with other steps.
 *
 * Dynamic programming over the session's events in order: c1 = the event's own time when it is a
 * step-1 event; c_k (at a step-k event) = the latest c_{k-1} among the events strictly before it,
 * i.e. the latest start of a chain that reaches step k here. The latest start gives the shortest
 * chain, so min(event time − c_k) is the shortest time to reach step k, and a conversion window W
 * reaches step k iff that span ≤ W. "First timestamp of each step" would miss a session that
 * viewed, left the product, came back and bought; this counts it.
 */

/** Milliseconds between two timestamptz expressions. */
const ms = (later: string, earlier: string) => `(extract(epoch FROM ${later} - ${earlier}) * 1000)::bigint`;

/**
 * A query with one row per session of `events` — a SQL relation with columns session_id,
 * event_timestamp, event_id, event_name — and columns r1..rN: the shortest span in ms to reach
 * each step (null when not reached; r1 is 0 when the session has a step-1 event).
 * `steps` are SQL expressions (literals or $n parameters) naming each step's event.
 */
export function funnelReachSql(events: string, steps: string[]): string {
  const order = 'PARTITION BY session_id ORDER BY event_timestamp, event_id';
  const layers: string[] = [
    `SELECT session_id, event_timestamp, event_id, event_name,
       CASE WHEN event_name = ${steps[0]} THEN event_timestamp END AS c1 FROM ${events}`,
  ];
  for (let k = 2; k <= steps.length; k++) {
    const prev = Array.from({ length: k - 1 }, (_, i) => `c${i + 1}`).join(', ');
    layers.push(
      `SELECT session_id, event_timestamp, event_id, event_name, ${prev},
         CASE WHEN event_name = ${steps[k - 1]}
           THEN max(c${k - 1}) OVER (${order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) END AS c${k}
       FROM (${layers[k - 2]}) f${k - 1}`,
    );
  }
  const reach = steps.map((_, i) => `min(${ms('event_timestamp', `c${i + 1}`)}) AS r${i + 1}`).join(', ');
  return `SELECT session_id, ${reach} FROM (${layers[steps.length - 1]}) f GROUP BY session_id`;
}

/** Standard conversion windows in seconds; the last one means "anywhere in the session". */
export const FUNNEL_WINDOWS_S = [300, 1800, 3600, 86_400, 2_147_483_647] as const;
