/**
 * Writes start-run's plan schedules into serverless.yml from plans/plans.yml (between the BEGIN/END
 * plan schedules markers), or with --check only reports whether they are in sync (exit 1 if not).
 *   npx tsx lib/plans/sync.ts [--check]
 * Build-time tool: uses the `yaml` dev dependency, never bundled into a handler.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { parsePlanFile, scheduleEventOf } from './plans';

const BEGIN = '# BEGIN plan schedules';
const END = '# END plan schedules';

export function renderSchedules(plansYaml: string, service = 'cbr-flow'): string {
  const { plans } = parsePlanFile(parse(plansYaml));
  if (plans.length === 0) return '';
  const events = plans.map((p) => scheduleEventOf(p, service));
  const text = stringify(events, { lineWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' });
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
}

/** serverless.yml with the block between the markers replaced by `rendered`. */
export function spliceSchedules(serverlessYaml: string, rendered: string): string {
  const start = serverlessYaml.indexOf(BEGIN);
  const end = serverlessYaml.indexOf(END);
  if (start < 0 || end < start) throw new Error(`serverless.yml lacks the '${BEGIN}' / '${END}' markers`);
  const afterBegin = serverlessYaml.indexOf('\n', start) + 1;
  const endLineStart = serverlessYaml.lastIndexOf('\n', end) + 1;
  return serverlessYaml.slice(0, afterBegin) + (rendered ? `${rendered}\n` : '') + serverlessYaml.slice(endLineStart);
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const current = readFileSync(`${root}serverless.yml`, 'utf8');
  const next = spliceSchedules(current, renderSchedules(readFileSync(`${root}plans/plans.yml`, 'utf8')));
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('serverless.yml plan schedules are out of date: run `npx tsx lib/plans/sync.ts`');
      process.exit(1);
    }
    console.log('serverless.yml plan schedules are in sync with plans/plans.yml');
  } else {
    writeFileSync(`${root}serverless.yml`, next);
    console.log(next === current ? 'serverless.yml already in sync' : 'serverless.yml plan schedules updated');
  }
}
