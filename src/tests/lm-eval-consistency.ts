// WIP placeholder (replaced by the real test before any commit).
import type { TestRunner } from '../suite/context.ts';
import { syntheticResult } from '../suite/runner.ts';

export const runLmEvalConsistency: TestRunner = async () => syntheticResult('lm-eval', 'error', 'not implemented yet');
