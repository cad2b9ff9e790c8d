/**
 * Output formats of `npm run schemas:check`: text (one finding per line), json (the findings
 * as data), github (workflow annotations on the changed line) and markdown (a PR comment).
 */

import { joinPointer } from '../../services/json-pointer.ts';
import type { Finding } from './rules.ts';

export type Format = 'text' | 'json' | 'github' | 'markdown';
export const FORMATS: readonly Format[] = ['text', 'json', 'github', 'markdown'];

const label = (f: Finding) => (f.allowlisted ? 'ALLOWED' : f.severity.toUpperCase());
/** Info findings need no action, so they carry no fix. */
const tail = (f: Finding) =>
  f.allowlisted ? ` (allowlisted: ${f.allowlisted})` : f.severity === 'info' ? '' : ` Fix: ${f.fix}`;

export function renderText(findings: Finding[]): string {
  return findings
    .map((f) => {
      return `${label(f)} ${f.rule} ${f.file}#${f.pointer} — ${f.message}.${tail(f)}`;
    })
    .join('\n');
}

export function renderJson(findings: Finding[]): string {
  return JSON.stringify(findings, null, 2);
}

/** `%`, CR and LF must be escaped in annotation messages; `:` and `,` too in properties. */
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** `lineOf(file, pointer)` returns the 1-based line of the pointer in the file, when known. */
export function renderGithub(
  findings: Finding[],
  lineOf: (file: string, pointer: string) => number | undefined,
): string {
  return findings
    .map((f) => {
      const level = f.allowlisted || f.severity === 'info' ? 'notice' : f.severity;
      const line = lineOf(f.file, f.pointer);
      const props = [`file=${escapeProperty(f.file)}`, line ? `line=${line}` : '', `title=${escapeProperty(f.rule)}`]
        .filter(Boolean)
        .join(',');
      return `::${level} ${props}::${escapeData(`${f.message}.${tail(f)}`)}`;
    })
    .join('\n');
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(findings: Finding[], baseLabel: string): string {
  const count = (pred: (f: Finding) => boolean) => findings.filter(pred).length;
  const errors = count((f) => f.severity === 'error' && !f.allowlisted);
  const verdict = errors > 0 ? `❌ ${errors} breaking change(s)` : '✅ no breaking changes';
  const lines = [
    `### Schema compatibility: ${verdict}`,
    '',
    `Compared with \`${baseLabel}\`: ${errors} error(s), ${count((f) => f.severity === 'warning' && !f.allowlisted)} warning(s), ${count((f) => f.severity === 'info')} info, ${count((f) => Boolean(f.allowlisted))} allowlisted.`,
  ];
  if (findings.length > 0) {
    lines.push('', '| | Rule | Event | Where | What | Fix |', '|---|---|---|---|---|---|');
    for (const f of findings) {
      const event = f.event ? `${f.event} v${f.model}` : (f.table ?? '—');
      const fix = f.allowlisted ? `allowlisted: ${f.allowlisted}` : f.fix;
      lines.push(
        `| ${label(f)} | \`${f.rule}\` | ${cell(event)} | \`${cell(`${f.file}#${f.pointer}`)}\` | ${cell(f.message)} | ${cell(fix)} |`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * Maps each JSON pointer of a JSON text to the line its value (or key) starts on. A small scanner
 * instead of JSON.parse because parsed values carry no positions.
 */
export function pointerLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let i = 0;
  let line = 1;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i] as string)) {
      if (text[i] === '\n') line++;
      i++;
    }
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (pointer: string, keyLine: number) => {
    ws();
    lines.set(pointer, keyLine);
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      while (text[i] !== '}' && i < text.length) {
        ws();
        const at = line;
        const key = str();
        ws();
        i++; // ':'
        value(joinPointer(pointer, key), at);
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '[') {
      i++;
      ws();
      for (let n = 0; text[i] !== ']' && i < text.length; n++) {
        ws();
        value(joinPointer(pointer, n), line);
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '"') str();
    else while (i < text.length && !/[\s,\]}]/.test(text[i] as string)) i++;
  };
  value('', 1);
  return lines;
}

/** Line of `pointer`, or of its nearest ancestor present in the text. */
export function lineOfPointer(lines: Map<string, number>, pointer: string): number | undefined {
  for (let p = pointer; ; p = p.slice(0, p.lastIndexOf('/'))) {
    const hit = lines.get(p);
    if (hit !== undefined) return hit;
    if (p === '') return undefined;
  }
}
