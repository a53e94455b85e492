#!/bin/sh
':' //; exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/esm/index.mjs" "$(readlink -f "$0")" "$@"
// Compares two results dirs (their summary.json): per-figure deltas, regressions beyond a tolerance.
import { runCompareCli } from '../src/report/compare-cli.ts';

process.exit(runCompareCli(process.argv.slice(2), { out: process.stdout, err: process.stderr, env: process.env }));
