import { describe, expect, it } from 'vitest';
import { isTooLong, MAX_KEY_CHARS, recordableKey, SKIPPED_RECORDED_PER_RUN, SkippedKeys } from './skipped.ts';

describe('skipped lake keys', () => {
  it('counts every distinct key, records the first 1,000 and logs the first 20', () => {
    const logged: unknown[] = [];
    const skipped = new SkippedKeys((entry) => logged.push(entry));
    for (let i = 0; i < 1500; i++) skipped.add({ key: `events/stray-${i}`, reason: 'outside_layout' });
    skipped.add({ key: 'events/stray-0', reason: 'outside_layout' }); // the progress pass lists it again
    expect(skipped.count).toBe(1500);
    expect(skipped.recorded).toHaveLength(SKIPPED_RECORDED_PER_RUN);
    expect(logged).toHaveLength(20);
    expect(skipped.params()[1].every((r) => r === 'outside_layout')).toBe(true);
  });

  it('measures keys in code points, as the ledger varchar does, and shortens long ones uniquely', () => {
    expect(MAX_KEY_CHARS).toBe(1024);
    expect(isTooLong('😀'.repeat(1024))).toBe(false); // 2,048 UTF-16 units
    const long = `events/2026/11/20/10/${'k'.repeat(1100)}.jsonl.gz`;
    expect(isTooLong(long)).toBe(true);
    const recorded = recordableKey(long);
    expect([...recorded].length).toBeLessThanOrEqual(1024);
    expect(recorded).toMatch(/…[0-9a-f]{64}$/);
    expect(recordableKey(`${long}x`)).not.toBe(recorded);
    expect(recordableKey('events/short')).toBe('events/short');
  });
});
