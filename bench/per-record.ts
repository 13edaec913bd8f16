/**
 * P4: per-record handler overhead. The add-resources step handler (middy + the SQS batch edge +
 * envelope parsing + use-case + optimistic store write + hand-off) processes 10-record SQS batches,
 * with the CBR port and the store as in-process fakes, so the figure is cbr-flow's own cost per record.
 * Log lines are serialised (JSON.stringify) but not written.
 *   node --expose-gc --import tsx bench/per-record.ts [batches=400]
 */
import { performance } from 'node:perf_hooks';
import type { MessageOf } from '../lib/contracts';
import { addResources } from '../lib/pipeline/add-resources';
import { createVault } from '../lib/pipeline/create-vault';
import { sqsStepHandler } from '../lib/pipeline/edge/sqs';
import type { Logger } from '../lib/wiring/log';
import { startRun } from '../lib/pipeline/start-run';
import { makeContext, makeSqsEvent, makeSqsRecord } from '../test/helpers/factories';
import { makeWorld, request } from '../test/unit/pipeline/world';

const batches = Number(process.argv[2] ?? 400);
const BATCH = 10;
const serialiseOnly: Logger = (level, msg, fields) => void JSON.stringify({ level, msg, ...fields });
const ctx = makeContext('bench');

async function prepare() {
  const w = makeWorld();
  const messages: Array<MessageOf<'vault.ready'>> = [];
  for (let i = 0; i < BATCH; i++) {
    const id = (n: number) => `00000000-0000-4000-8000-${String(i * 10 + n).padStart(12, '0')}`;
    await startRun(w.deps, {
      request: request({ vault: { mode: 'create', name: `bench_${i}`, billing: { chargingMode: 'post_paid', size: 100 } }, resources: [{ id: id(1), type: 'OS::Nova::Server' }, { id: id(2), type: 'OS::Nova::Server' }] }),
      source: { kind: 'http' },
    });
  }
  for (const s of w.bus.drain('vault')) await createVault(w.deps, s.message as MessageOf<'run.requested'>);
  for (const s of w.bus.drain('resources')) messages.push(s.message as MessageOf<'vault.ready'>);
  const handler = sqsStepHandler({ type: 'vault.ready', step: 'add-resources', run: addResources }, w.deps, serialiseOnly);
  return { handler, event: makeSqsEvent(messages.map((m) => makeSqsRecord(m))) };
}

const perRecordUs: number[] = [];
const cpuPerRecordUs: number[] = [];
for (let i = 0; i < batches + 50; i++) {
  const { handler, event } = await prepare();
  // Collect the setup's garbage first (run with --expose-gc) so a pause it causes is not billed to the handler.
  (globalThis as { gc?: () => void }).gc?.();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await handler(event, ctx);
  const dt = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  if (res.batchItemFailures.length) throw new Error(`unexpected failures: ${JSON.stringify(res.batchItemFailures)}`);
  if (i >= 50) {
    // first 50 batches warm the JIT
    perRecordUs.push((dt * 1000) / BATCH);
    cpuPerRecordUs.push((cpu.user + cpu.system) / BATCH);
  }
}
const quantile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return +sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1);
};
const result = {
  batches,
  recordsPerBatch: BATCH,
  wallMedianUs: quantile(perRecordUs, 0.5),
  wallP99Us: quantile(perRecordUs, 0.99),
  cpuMedianUs: quantile(cpuPerRecordUs, 0.5),
  cpuP99Us: quantile(cpuPerRecordUs, 0.99),
  goalP99Us: 1000,
};
console.log(JSON.stringify(result));
console.log(
  `per-record overhead: wall median ${result.wallMedianUs} µs, p99 ${result.wallP99Us} µs; CPU median ${result.cpuMedianUs} µs, p99 ${result.cpuP99Us} µs ` +
    `(goal p99 <= 1000 µs, wall ratio ${(result.wallP99Us / 1000).toFixed(2)})`,
);
