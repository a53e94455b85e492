#!/bin/sh
':' //; exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/esm/index.mjs" "$(readlink -f "$0")" "$@"
// One test against servers that are already running (ci/start-servers.ts start-all).
import { runCli } from '../src/cli/main.ts';
import { DOCS, runOneTest } from '../src/cli/commands.ts';

await runCli('run-long-doc-qa', DOCS['run-long-doc-qa'], (cfg) => runOneTest(cfg, 'long-doc'));
