// WIP placeholder (replaced by the real test before any commit).
import type { TestRunner } from '../suite/context.ts';
import { syntheticResult } from '../suite/runner.ts';

export const runLongDocQa: TestRunner = async () => syntheticResult('long-doc', 'error', 'not implemented yet');
