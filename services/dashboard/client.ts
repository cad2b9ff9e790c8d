/**
 * The dashboard's only script (bundled with uPlot by esbuild, served from /assets/dashboard.js):
 * draws the events-over-time chart from the JSON the page embeds. Everything else — filters, tables,
 * funnel, retention grid, expandable rows, auto-refresh — is HTML and works without it.
 */
import './locale-guard.ts';
import uPlot from 'uplot';

interface Series {
  name: string;
  values: number[];
}
interface OverTime {
  buckets: string[];
  series: Series[];
  tz: string;
  granularity: 'hour' | 'day';
}

function readJson<T>(id: string): T | undefined {
  const el = document.getElementById(id);
  return el?.textContent ? (JSON.parse(el.textContent) as T) : undefined;
}

function palette(): string[] {
  const css = getComputedStyle(document.documentElement);
  return Array.from({ length: 8 }, (_, i) => css.getPropertyValue(`--series-${i}`).trim() || '#888');
}

function drawOverTime(): void {
  const target = document.getElementById('chart-events-over-time');
  const data = readJson<OverTime>('data-events-over-time');
  if (!target || !data?.series.length) return;
  const xs = data.buckets.map((b) => Date.parse(b) / 1000);
  // Stacked: each series is drawn at the running sum of the ones before it, filled down to the previous.
  const stacked: number[][] = [];
  for (const [i, s] of data.series.entries()) {
    stacked.push(s.values.map((v, j) => v + (i ? (stacked[i - 1]?.[j] ?? 0) : 0)));
  }
  const colors = palette();
  const css = getComputedStyle(document.documentElement);
  const axis = {
    stroke: css.getPropertyValue('--muted').trim(),
    grid: { stroke: css.getPropertyValue('--grid').trim() },
  };
  const opts: uPlot.Options = {
    width: Math.max(320, target.clientWidth),
    height: 260,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), data.tz),
    series: [
      {},
      ...data.series.map((s, i) => ({
        label: s.name,
        stroke: colors[i % colors.length],
        fill: `${colors[i % colors.length]}55`,
        value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) =>
          idx === null ? '' : String(data.series[i]?.values[idx] ?? ''),
      })),
    ],
    bands: data.series.slice(1).map((_, i) => ({ series: [i + 2, i + 1] as [number, number] })),
    axes: [axis, axis],
    scales: { x: { time: true } },
  };
  target.textContent = '';
  new uPlot(opts, [xs, ...stacked], target);
}

document.addEventListener('DOMContentLoaded', drawOverTime);
