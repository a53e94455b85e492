// The results directory: the bash suite's layout, created once and never
// reused. Everything a run writes goes through these paths.
import { mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestId } from '../config/config.ts';
import { TEST_DIRS, TEST_NAMES } from '../suite/types.ts';

export interface ResultsLayout {
  dir: string;
  logs: string;
  logFor(name: string): string;
  testDir(test: TestId): string;
  resultFile(test: TestId): string;
  overall: string;
  summaryJson: string;
  junitXml: string;
  reportHtml: string;
  envJson: string;
  /** Plain-text transcript of what the terminal reporter printed. */
  consoleLog: string;
}

export function layoutFor(dir: string): ResultsLayout {
  return {
    dir,
    logs: join(dir, 'logs'),
    logFor: (name) => join(dir, 'logs', `${name}.log`),
    testDir: (test) => join(dir, TEST_DIRS[test]),
    resultFile: (test) => join(dir, `${TEST_NAMES[test]}.result`),
    overall: join(dir, 'overall.result'),
    summaryJson: join(dir, 'summary.json'),
    junitXml: join(dir, 'junit.xml'),
    reportHtml: join(dir, 'report.html'),
    envJson: join(dir, 'env.json'),
    consoleLog: join(dir, 'kvgate.log'),
  };
}

export class ResultsDirExistsError extends Error {}

/**
 * Creates the results dir. An explicitly named dir (RESULTS_DIR/BUILD_ID) that
 * already exists is an error: results of earlier runs are never overwritten.
 * A default timestamped name that collides gets a suffix (-2, -3, …).
 */
export function createResultsDir(dir: string, explicit: boolean): string {
  mkdirSync(dirname(dir), { recursive: true });
  let candidate = dir;
  for (let n = 2; ; n++) {
    if (!existsSync(candidate)) {
      try {
        mkdirSync(candidate); // not recursive: fails if another run created it meanwhile
        mkdirSync(join(candidate, 'logs'));
        return candidate;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    if (explicit) {
      throw new ResultsDirExistsError(`results dir ${candidate} already exists and is never overwritten; choose another BUILD_ID or RESULTS_DIR`);
    }
    candidate = `${dir}-${n}`;
  }
}
