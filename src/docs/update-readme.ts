// `npm run docs`: rewrites the generated reference blocks of README.md and src/sim/README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../config/config.ts';
import { GENERATED_FILES, regenerate } from './reference.ts';

for (const [rel, blocks] of Object.entries(GENERATED_FILES)) {
  const file = join(REPO_ROOT, rel);
  const before = readFileSync(file, 'utf8');
  const after = regenerate(before, blocks);
  if (after !== before) writeFileSync(file, after);
  process.stdout.write(`${rel}: ${after === before ? 'up to date' : 'reference blocks regenerated'}\n`);
}
