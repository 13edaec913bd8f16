/**
 * Fresh `node` processes for cold-start figures. The child environment drops NODE_EXTRA_CA_CERTS (set
 * machine-wide here; it adds ~85 ms to every node start and Lambda has no such thing) and NODE_OPTIONS
 * (a tsx/vitest loader inherited from the harness would be timed too).
 */
import { execFile } from 'node:child_process';
import { median } from './stats';

export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return env;
}

export interface NodeRun {
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, as seen by the parent. */
  wallMs: number;
}

/** Runs `node ...args` and resolves its output; rejects (with stderr) on a non-zero exit or timeout. */
export function runNode(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<NodeRun> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { env: opts.env ?? childEnv(), timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, cwd: opts.cwd },
      (error, stdout, stderr) => {
        const wallMs = performance.now() - t0;
        if (error) reject(new Error(`node ${args.map((a) => (a.length > 60 ? `${a.slice(0, 57).replace(/\s+/g, ' ')}...` : a)).join(' ')} failed (${error.code ?? error.signal ?? 'error'}): ${stderr.trim().split('\n').slice(-6).join(' | ')}`, { cause: error }));
        else resolve({ stdout, stderr, wallMs });
      },
    );
  });
}

/**
 * Prints `{"importMs": n}`: the time `require(file)` takes inside a fresh process (module resolution,
 * read, compile, evaluate), without node's own start-up, which is the same for every bundle (reported
 * separately as the `node -e 0` baseline).
 */
const IMPORT_SCRIPT = `
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const m = require(process.argv[1]);
const t1 = process.hrtime.bigint();
const c = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({ importMs: Number(t1 - t0) / 1e6, cpuMs: (c.user + c.system) / 1e3, exports: Object.keys(m) }));`;

export interface ColdImport {
  file: string;
  /** Median in-process require time. */
  importMs: number;
  /** Median CPU time of the require (user + system): less sensitive than wall time to other jobs on the cores. */
  cpuMs: number;
  /** Median wall time of the whole process (spawn to exit). */
  wallMs: number;
  samples: number[];
  /** Export names of the module (e.g. ['handler']), to prove the bundle loaded what it should. */
  exports: string[];
}

/**
 * Median cold import of each file over `runs` fresh processes. Files are interleaved run by run
 * (a, b, c, a, b, c...) so drifting machine load (other jobs on these 2 cores) hits them alike.
 */
export async function coldImports(files: readonly string[], runs: number, env: NodeJS.ProcessEnv = childEnv()): Promise<ColdImport[]> {
  const samples = files.map(() => [] as number[]);
  const cpus = files.map(() => [] as number[]);
  const walls = files.map(() => [] as number[]);
  await runNode(['-e', '0'], { env }); // warm the OS file cache for node itself
  const exportsOf: string[][] = [];
  for (const f of files) exportsOf.push((JSON.parse((await runNode(['-e', IMPORT_SCRIPT, f], { env })).stdout) as { exports: string[] }).exports); // and for each bundle
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < files.length; i++) {
      const { stdout, wallMs } = await runNode(['-e', IMPORT_SCRIPT, files[i]!], { env });
      const got = JSON.parse(stdout) as { importMs: number; cpuMs: number };
      samples[i]!.push(got.importMs);
      cpus[i]!.push(got.cpuMs);
      walls[i]!.push(wallMs);
    }
  }
  return files.map((file, i) => ({ file, importMs: median(samples[i]!), cpuMs: median(cpus[i]!), wallMs: median(walls[i]!), samples: samples[i]!, exports: exportsOf[i]! }));
}

/** Median wall time of `node -e 0` (the start-up every cold import pays on top). */
export async function nodeBaselineMs(runs: number, env: NodeJS.ProcessEnv = childEnv()): Promise<number> {
  const walls: number[] = [];
  for (let r = 0; r < runs; r++) walls.push((await runNode(['-e', '0'], { env })).wallMs);
  return median(walls);
}
