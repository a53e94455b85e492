// WIP placeholder (replaced by the real test before any commit).
import type { TestRunner } from '../suite/context.ts';
import { syntheticResult } from '../suite/runner.ts';

export const runShareGpt: TestRunner = async () => syntheticResult('share-gpt', 'error', 'not implemented yet');
