// The report endpoint's query (`?from=&to=&format=`), checked with errors that name the parameter.
import { PlatformError } from '@streamloop/errors';

export const REPORT_FORMATS = ['html', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportQuery {
  from?: number;
  to?: number;
  format: ReportFormat;
}

/** An ISO 8601 date or date-time with a time zone (or a date alone, read as UTC midnight): 2026-11-03T12:00:00Z. */
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;

/** A time parameter as epoch ms; undefined when absent or empty; 400 INVALID_INPUT naming it otherwise. */
export function parseReportTime(name: string, text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const ms = ISO.test(text) ? Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new PlatformError('INVALID_INPUT', `${name}: expected an ISO 8601 time with a time zone, e.g. 2026-11-03T12:00:00Z (or a date, 2026-11-03), got '${text}'`);
  }
  return ms;
}

/** `?from=&to=&format=` of GET /v1/pipelines/:p/report. */
export function parseReportQuery(query: { from?: string; to?: string; format?: string }): ReportQuery {
  const from = parseReportTime('from', query.from);
  const to = parseReportTime('to', query.to);
  if (from !== undefined && to !== undefined && !(from < to)) {
    throw new PlatformError('INVALID_INPUT', `from: expected a time before to, got from ${query.from} and to ${query.to}`);
  }
  const format = query.format === undefined || query.format === '' ? 'html' : query.format;
  if (!(REPORT_FORMATS as readonly string[]).includes(format)) throw new PlatformError('INVALID_INPUT', `format: expected html or json, got '${format}'`);
  return { from, to, format: format as ReportFormat };
}
