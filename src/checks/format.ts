// Number formatting for one-line reasons: short, and never hiding which side
// of a threshold a figure is on ("0.2204 s > 0.22 s", not "0.22 s > 0.22 s").

/** `digits` significant digits without trailing zeros; integers past that precision are rounded, not put in exponent form. */
export function fmtNum(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 10 ** digits) return String(Math.round(v));
  return String(Number(v.toPrecision(digits)));
}

/** A threshold as configured (up to 6 significant digits). */
export function fmtThreshold(v: number): string {
  return fmtNum(v, 6);
}

/** The measured value with as many digits as it takes to differ from the threshold's text when the numbers differ. */
export function fmtAgainst(value: number, threshold: number): string {
  const t = fmtThreshold(threshold);
  for (let d = 3; d <= 12; d++) {
    const s = fmtNum(value, d);
    if (value === threshold || s !== t) return s;
  }
  return String(value);
}

/** A rate as a percentage: 0.05 → "5 %". */
export function fmtPercent(rate: number): string {
  return `${fmtNum(rate * 100)} %`;
}
