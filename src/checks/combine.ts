// A test's status and one-line reason from its criteria.
import type { Criterion, TestStatus } from '../suite/types.ts';

/**
 * fail: any criterion failed; the reason is the first failing one's.
 * inconclusive: nothing failed but something is inconclusive; its reason.
 * pass: "all N criteria met" (N: those that passed; skipped ones are mentioned).
 * No criteria at all is inconclusive: nothing was judged.
 */
export function combine(criteria: readonly Criterion[]): { status: TestStatus; reason: string } {
  const failed = criteria.find((c) => c.status === 'fail');
  if (failed) return { status: 'fail', reason: failed.reason };
  const inconclusive = criteria.find((c) => c.status === 'inconclusive');
  if (inconclusive) return { status: 'inconclusive', reason: inconclusive.reason };
  const passed = criteria.filter((c) => c.status === 'pass').length;
  const skipped = criteria.length - passed;
  if (passed === 0) return { status: 'inconclusive', reason: criteria.length ? `${count(criteria.length)} skipped: nothing was judged` : 'no criteria to judge' };
  return { status: 'pass', reason: `${passed === 1 ? 'the only criterion' : `all ${passed} criteria`} met${skipped ? ` (${skipped} skipped)` : ''}` };
}

const count = (n: number): string => (n === 1 ? '1 criterion' : `${n} criteria`);

/**
 * Switches criteria off (KVGATE_INTERNAL_DISABLE_CHECKS): each named one is
 * kept in the record, as skipped, so a report shows it was not judged. Only
 * the self-test's own test uses this, to prove the self-test notices.
 */
export function withDisabled(criteria: readonly Criterion[], disabled: readonly string[]): Criterion[] {
  if (disabled.length === 0) return [...criteria];
  return criteria.map((c) =>
    disabled.includes(c.id) ? { ...c, status: 'skipped' as const, reason: `disabled by KVGATE_INTERNAL_DISABLE_CHECKS (would have been ${c.status}: ${c.reason})` } : c,
  );
}
