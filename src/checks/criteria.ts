// The verdict functions, in one import: figures and thresholds in, a Criterion
// with a one-line reason out (one module per criterion in this folder).
export { ttftCeiling, ttftCrossCheck, CROSS_CHECK_ABS_S, CROSS_CHECK_REL } from './ttft.ts';
export { speedup } from './speedup.ts';
export { failures, describeKinds } from './failures.ts';
export { cacheUsed } from './cache-used.ts';
export { combine, withDisabled } from './combine.ts';
export { fmtAgainst, fmtNum, fmtPercent, fmtThreshold } from './format.ts';
