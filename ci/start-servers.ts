#!/bin/sh
':' //; exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/esm/index.mjs" "$(readlink -f "$0")" "$@"
// Start/stop/status of the servers on their own (start-all, start-pega, start-vllm, start-baseline, stop-all, status).
import { runCli } from '../src/cli/main.ts';
import { DOCS, startServers, validateStartServersArgs } from '../src/cli/commands.ts';

await runCli('start-servers', DOCS['start-servers'], startServers, { maxPositionals: 1, validate: validateStartServersArgs });
