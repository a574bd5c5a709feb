import type { z } from 'zod';

/** A value as it should appear after "got" in an error message: short, quoted like JSON. */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** `features.aggregates[1].window` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

const article = (word: string) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`);

/**
 * One zod issue as "path: what was expected, got what": zod's own wording names types, not intent,
 * and hides the offending value (parse with `reportInput: true` so the value is there to show).
 */
export function describeIssue(issue: z.core.$ZodIssue, topLevel = '(top level)'): string[] {
  const path = formatPath(issue.path);
  const at = path || topLevel;
  const input = (issue as { input?: unknown }).input;
  const got = `, got ${shown(input)}`;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => `${path ? `${path}.` : ''}${k}: unknown key`);
    case 'invalid_union': {
      const u = issue as { note?: string; discriminator?: string; options?: unknown[] };
      if (u.note === 'No matching discriminator' && u.discriminator) {
        const value = (input as Record<string, unknown> | undefined)?.[u.discriminator];
        const options = (u.options ?? []).map(String).join(', ');
        if (value === undefined) return [`${at}: required, one of ${options}`];
        return [`${at}: expected one of ${options}, got ${shown(value)}`];
      }
      return [`${at}: ${issue.message}${got}`];
    }
    case 'invalid_type': {
      if (input === undefined) return [`${at}: required, expected ${article(issue.expected)}`];
      const expected = issue.expected === 'int' ? 'an integer' : issue.expected === 'record' ? 'a mapping' : article(issue.expected === 'object' ? 'mapping' : issue.expected);
      return [`${at}: expected ${expected}${got}`];
    }
    case 'invalid_value':
      return [`${at}: expected ${issue.values.length === 1 ? shown(issue.values[0]) : `one of ${issue.values.map((v) => String(v)).join(', ')}`}${got}`];
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      if (issue.origin === 'array') return [`${at}: expected ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} item(s)${got}`];
      if (issue.origin === 'string') return [`${at}: expected ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} character(s)${got}`];
      const op = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      return [`${at}: expected a number ${op} ${String(bound)}${got}`];
    }
    case 'invalid_format':
      // Custom regex messages already say what is expected; zod's defaults ("Invalid URL") get the format named.
      if (issue.format === 'regex') return [`${at}: ${issue.message}${got}`];
      return [`${at}: expected ${issue.format === 'url' ? 'a URL like http://host:port' : article(issue.format)}${got}`];
    default:
      return [`${at}: ${issue.message}${got}`];
  }
}
