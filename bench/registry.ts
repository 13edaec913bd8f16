/**
 * Every benchmark `npm run bench` runs, in order. To add one (P1/P2 for the checker...): write
 * bench/<id>-<name>.ts exporting a `Benchmark` (bench/types.ts) whose run() returns rows, import it here
 * and add it to the list. Keep its `--small` path quick: CI runs it (test/bench/harness.test.ts) and
 * checks that every row has a number and a bound.
 */
import { p1 } from './p1-checker-throughput';
import { p2 } from './p2-calls-per-checkpoint';
import { p3 } from './p3-client-vs-sdk';
import { p4 } from './p4-per-record';
import { p6 } from './p6-cold-start';
import { p7 } from './p7-lifecycle';
import { p8 } from './p8-detection-lag';
import { p9 } from './p9-simulated-day';
import { p10 } from './p10-cost';
import type { Benchmark } from './types';

export const benchmarks: Benchmark[] = [p1, p2, p3, p4, p6, p7, p8, p9, p10];
