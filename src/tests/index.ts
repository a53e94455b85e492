// The three tests, by id.
import type { TestId } from '../config/config.ts';
import type { TestRunner } from '../suite/context.ts';
import { runLmEvalConsistency } from './lm-eval-consistency.ts';
import { runLongDocQa } from './long-doc-qa.ts';
import { runShareGpt } from './share-gpt.ts';

export const TEST_RUNNERS: Record<TestId, TestRunner> = {
  'lm-eval': runLmEvalConsistency,
  'long-doc': runLongDocQa,
  'share-gpt': runShareGpt,
};
