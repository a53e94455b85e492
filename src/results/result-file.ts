// `.result` files, as the bash suite wrote them (test, status, timestamp,
// message) plus one `metric.<name>: <value>` line per figure. One key per
// line; values never contain newlines (messages are folded to one line).
import type { TestResult, TestStatus } from '../suite/types.ts';

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' | ').trim();

export function formatResultFile(r: Pick<TestResult, 'name' | 'status' | 'reason' | 'metrics'> & { timestamp: string }): string {
  const lines = [`test: ${r.name}`, `status: ${r.status}`, `timestamp: ${r.timestamp}`, `message: ${oneLine(r.reason)}`];
  for (const [k, v] of Object.entries(r.metrics)) lines.push(`metric.${k}: ${typeof v === 'number' ? formatNumber(v) : oneLine(v)}`);
  return lines.join('\n') + '\n';
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

export interface ParsedResultFile {
  test: string;
  status: TestStatus;
  timestamp: string;
  message: string;
  metrics: Record<string, string>;
}

export function parseResultFile(text: string): ParsedResultFile {
  const fields: Record<string, string> = {};
  const metrics: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(': ');
    if (i < 0) continue;
    const key = line.slice(0, i);
    const value = line.slice(i + 2);
    if (key.startsWith('metric.')) metrics[key.slice(7)] = value;
    else fields[key] = value;
  }
  return {
    test: fields['test'] ?? '',
    status: (fields['status'] ?? 'error') as TestStatus,
    timestamp: fields['timestamp'] ?? '',
    message: fields['message'] ?? '',
    metrics,
  };
}
