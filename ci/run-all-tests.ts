#!/bin/sh
':' //; exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/esm/index.mjs" "$(readlink -f "$0")" "$@"
// Full suite: start servers, run the three tests, write results, stop servers.
import { runCli } from '../src/cli/main.ts';
import { DOCS, runAllTests } from '../src/cli/commands.ts';

await runCli('run-all-tests', DOCS['run-all-tests'], runAllTests);
