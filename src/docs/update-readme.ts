// `npm run docs`: rewrites the generated reference blocks of README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../config/config.ts';
import { regenerate } from './reference.ts';

const file = join(REPO_ROOT, 'README.md');
const before = readFileSync(file, 'utf8');
const after = regenerate(before);
if (after !== before) writeFileSync(file, after);
process.stdout.write(after === before ? 'README.md is up to date\n' : 'README.md: reference blocks regenerated\n');
