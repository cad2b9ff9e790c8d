/**
 * Deterministic formatting of generated files. Options are spelled out here and no config file is
 * looked up, so every machine produces the same bytes.
 */
import { format } from 'prettier';

const TYPESCRIPT = {
  parser: 'typescript',
  printWidth: 120,
  tabWidth: 2,
  useTabs: false,
  semi: true,
  singleQuote: true,
  trailingComma: 'all',
  bracketSpacing: true,
  arrowParens: 'always',
  endOfLine: 'lf',
} as const;

export const ensureNewline = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);

export async function formatGenerated(path: string, contents: string): Promise<string> {
  if (path.endsWith('.ts')) return format(contents, TYPESCRIPT);
  return ensureNewline(contents);
}
