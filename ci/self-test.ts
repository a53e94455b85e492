#!/bin/sh
':' //; exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/esm/index.mjs" "$(readlink -f "$0")" "$@"
// Self-test: the suite on the simulated stack, clean and with each injected fault; checks every verdict.
import { runCli } from '../src/cli/main.ts';
import { runSelfTest, SELF_TEST_DOC, validateSelfTestArgs } from '../src/selftest/main.ts';

await runCli('self-test', SELF_TEST_DOC, runSelfTest, { maxPositionals: 100, validate: validateSelfTestArgs });
