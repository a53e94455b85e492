// Entry point of the lm_eval stand-in (see main.ts); test/stand-ins/lm_eval runs it.
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
