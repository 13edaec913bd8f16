/**
 * fast-check arbitraries for the fuzz suite (test/reliability/fuzz*.test.ts): valid run requests and
 * message envelopes, one-field mutations of them (with the path that was mutated, so a test can check
 * that the 4xx / DLQ reason names exactly that field), random JSON with prototype-pollution keys, and
 * hostile ids (path traversal, URL injection, CRLF, unicode lookalikes, oversized strings).
 *
 * Field paths are formatted here independently of lib/contracts/parse.ts (`a.b[0].c`), so a test
 * comparing the two really checks the error, not the formatter against itself.
 */
import fc from 'fast-check';
import type { MessageType } from '../../lib/contracts';
import type { RunRequestInput } from '../../lib/contracts/run-request';

export type Path = ReadonlyArray<string | number>;
type Json = null | boolean | number | string | DeepNest | Json[] | { [key: string]: Json };

/** `['resources', 0, 'id']` -> `resources[0].id`; `[]` -> `''`. */
export function formatPath(path: Path, root = ''): string {
  let out = root;
  for (const p of path) out = typeof p === 'number' ? `${out}[${p}]` : out === '' ? p : `${out}.${p}`;
  return out;
}

/** True when `field` names `path` itself or something inside it (never a parent or a sibling). */
export function pointsAt(field: string, path: Path, root = ''): boolean {
  const want = formatPath(path, root);
  if (want === '') return true;
  return field === want || field.startsWith(`${want}.`) || field.startsWith(`${want}[`);
}

// ------------------------------------------------------------------------------------------- ids

export const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const HEX32_RE = /^[0-9a-fA-F]{32}$/;
export const isWellFormedId = (s: string): boolean => UUID_RE.test(s) || HEX32_RE.test(s);

export const uuid = fc.uuid();
export const hex32 = fc.stringMatching(/^[0-9a-f]{32}$/);

/** Characters that look like hex digits or dashes but are not (fullwidth, Cyrillic, Greek, dashes, invisibles). */
const LOOKALIKES = ['０', '１', 'ａ', 'ｆ', 'а', 'е', 'с', 'Ь', 'ο', 'Ꭺ', '‐', '‑', '−', '–', '﹣', '－', '\u200b', '\u200d', '\u2060', '\ufeff', '\u202e', '\u00a0', '\u0301'];
const INJECTIONS = [
  '../', '..', '/..', '..%2f', '%2e%2e', '%2e%2e%2f', '%2E%2E/', '..\\', '....//', '%252e%252e', '..;/', '/',
  '?x=1', '?limit=1000&offset=0', '&vault_id=x', '#', '#frag', '@evil.example', '@127.0.0.1:1', '//evil.example/',
  'http://evil.example/', '\r\n', '%0d%0a', '\r\nX-Injected: 1', '\n', '\t', '\u0000', '%00', ' ', '%20', ';', ',',
  '{id}', '${id}', '*', '<script>', "'", '"',
];

/** A string that must never be accepted as a CBR id / run id; always fails UUID_RE and HEX32_RE. */
export const hostileId: fc.Arbitrary<string> = fc
  .oneof(
    // A real-looking id with traversal / injection glued on, or one character swapped for a lookalike.
    fc.tuple(uuid, fc.constantFrom(...INJECTIONS), fc.boolean()).map(([id, inj, before]) => (before ? inj + id : id + inj)),
    fc.tuple(hex32, fc.constantFrom(...INJECTIONS)).map(([id, inj]) => `${id.slice(0, 16)}${inj}${id.slice(16)}`),
    fc.tuple(uuid, fc.nat(), fc.constantFrom(...LOOKALIKES)).map(([id, n, c]) => {
      const i = n % id.length;
      return id.slice(0, i) + c + id.slice(i + 1);
    }),
    fc.tuple(uuid, fc.constantFrom(...INJECTIONS)).map(([id, inj]) => `${id}/${inj}vaults`),
    fc.array(fc.constantFrom(...INJECTIONS, ...LOOKALIKES), { minLength: 1, maxLength: 6 }).map((a) => a.join('')),
    // Wrong length, case games, separators.
    uuid.map((id) => id.replace(/-/g, '')),
    hex32.map((h) => h + '0'),
    uuid.map((id) => `{${id}}`),
    uuid.map((id) => id.replace(/-/g, '_')),
    // Oversized: 10 KB and more.
    fc.tuple(uuid, fc.integer({ min: 10_240, max: 16_384 })).map(([id, n]) => id + 'a'.repeat(n)),
    fc.integer({ min: 10_240, max: 12_000 }).map((n) => '../'.repeat(Math.ceil(n / 3))),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constant(''),
  )
  .filter((s) => !isWellFormedId(s));

/** Strings that are hostile as free text: unicode of every plane, lone surrogates, controls, RTL, huge. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.array(fc.constantFrom(...LOOKALIKES, '\ud800', '\udfff', '\ud83d', '备份', 'Ω', '\u0000', '\u001b[31m', '<', '>', '&', '%s', '${x}'), { maxLength: 12 }).map((a) => a.join('')),
  hostileId,
);

// ------------------------------------------------------------------------------------ run requests

const vaultName = fc.string({ unit: fc.constantFrom('a', 'Z', 'q', '0', '9', '_', '-', '备', '份'), minLength: 1, maxLength: 64 });
const safeText = (max: number) => fc.string({ unit: fc.constantFrom('a', 'b', ' ', '1', '-', '备', 'é', '.'), maxLength: max });

const billing = fc.oneof(
  fc.record(
    {
      chargingMode: fc.constant('post_paid' as const),
      size: fc.integer({ min: 10, max: 10_485_760 }),
      consistentLevel: fc.constantFrom('crash_consistent' as const, 'app_consistent' as const),
      cloudType: fc.constantFrom('public' as const, 'hybrid' as const),
      autoExpand: fc.boolean(),
    },
    { requiredKeys: ['chargingMode', 'size'] },
  ),
  fc.record(
    {
      chargingMode: fc.constant('pre_paid' as const),
      size: fc.integer({ min: 10, max: 10_485_760 }),
      periodType: fc.constantFrom('year' as const, 'month' as const),
      periodNum: fc.integer({ min: 1, max: 9 }),
      isAutoRenew: fc.boolean(),
      isAutoPay: fc.boolean(),
    },
    { requiredKeys: ['chargingMode', 'size', 'periodType', 'periodNum'] },
  ),
);

const vaultSpec = fc.oneof(
  fc.record({ mode: fc.constant('reuse' as const), name: vaultName }),
  fc.record(
    { mode: fc.constant('create' as const), name: vaultName, description: safeText(64), billing },
    { requiredKeys: ['mode', 'name', 'billing'] },
  ),
);

const resources = fc
  .tuple(fc.constantFrom('OS::Nova::Server' as const, 'OS::Cinder::Volume' as const), fc.uniqueArray(uuid, { minLength: 1, maxLength: 4 }), fc.array(fc.option(safeText(40).filter((s) => s.length > 0), { nil: undefined }), { minLength: 4, maxLength: 4 }))
  .map(([type, ids, names]) => ids.map((id, i) => (names[i] === undefined ? { id, type } : { id, type, name: names[i]! })));

/** Any valid run request (as a caller would send it: defaults not applied, optional keys absent or set). */
export const runRequest: fc.Arbitrary<RunRequestInput> = fc
  .record(
    {
      projectId: hex32,
      region: fc.constantFrom('ap-southeast-1', 'cn-north-4', 'eu-west-101', 'my-kualalumpur-1'),
      vault: vaultSpec,
      resources,
      checkpoint: fc.record(
        { name: fc.stringMatching(/^[a-zA-Z0-9_-]{1,28}$/), description: safeText(200), incremental: fc.boolean() },
        { requiredKeys: [] },
      ),
      shareWith: fc.uniqueArray(hex32, { maxLength: 3 }),
      completionWindowMinutes: fc.integer({ min: 5, max: 7 * 24 * 60 }),
      notifyUrl: fc.constantFrom('https://hooks.example.com/cbr', 'http://127.0.0.1:8080/done?x=1'),
      // keepLast >= 1: a rule set that keeps nothing is refused (lib/retention/rules.ts)
      retention: fc.record(
        {
          keepLast: fc.integer({ min: 1, max: 50 }),
          maxAgeDays: fc.integer({ min: 1, max: 3650 }),
          gfs: fc.record({ days: fc.nat(31), weeks: fc.nat(52), months: fc.nat(24), years: fc.nat(10) }, { requiredKeys: [] }),
          floor: fc.nat(10),
          timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'Asia/Shanghai', 'America/Santiago'),
        },
        { requiredKeys: ['keepLast'] },
      ),
    },
    { requiredKeys: ['projectId', 'vault', 'resources'] },
  )
  .map((r) => (r.shareWith ? { ...r, shareWith: r.shareWith.filter((p) => p !== r.projectId) } : r));

// ------------------------------------------------------------------------------------- envelopes

const isoTime = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());
// Valid-shaped free text: hostile, but well-formed UTF-16 (a lone surrogate cannot be encoded as UTF-8,
// so the contracts refuse it, naming the field: lib/contracts/text.ts; the mutations still send them).
const shortText = (max: number) => fc.oneof(safeText(max), hostileText.filter((s) => s.length <= max && !/\p{Cs}/u.test(s)));

function envelope<T extends MessageType, D>(type: T, data: fc.Arbitrary<D>) {
  return fc.record({ id: uuid, type: fc.constant(type), version: fc.constant(1 as const), runId: uuid, occurredAt: isoTime, attempt: fc.integer({ min: 1, max: 1000 }), data });
}

const finishedBackup = fc.record({
  id: uuid,
  resourceId: shortText(64).filter((s) => s.length > 0),
  resourceType: shortText(64).filter((s) => s.length > 0),
  status: fc.constantFrom('available' as const, 'error' as const),
});

/**
 * Valid-shaped envelopes of every message type. String fields that the contract leaves free (names,
 * reasons, resource types) carry hostile unicode within their length limits: the contract accepts them
 * and the consumer must cope.
 */
export const envelopes = {
  'run.requested': envelope('run.requested', fc.record({ request: runRequest })),
  'vault.ready': envelope('vault.ready', fc.record({ vaultId: uuid, vaultName: shortText(64).filter((s) => s.length > 0), created: fc.boolean() })),
  'resources.bound': envelope('resources.bound', fc.record({ vaultId: uuid, resourceIds: fc.uniqueArray(uuid, { minLength: 1, maxLength: 4 }), seq: fc.integer({ min: 1, max: 20 }) })),
  'checkpoint.started': envelope(
    'checkpoint.started',
    fc.record({
      vaultId: uuid,
      checkpointId: uuid,
      checkpointName: shortText(64).filter((s) => s.length > 0),
      seq: fc.integer({ min: 1, max: 20 }),
      resourceIds: fc.array(uuid, { maxLength: 4 }),
      skipped: fc.array(fc.record({ id: shortText(64), reason: shortText(512) }), { maxLength: 3 }),
    }),
  ),
  'checkpoint.finished': envelope(
    'checkpoint.finished',
    fc.record({
      checkpoints: fc.array(
        fc.record({ id: uuid, seq: fc.integer({ min: 1, max: 20 }), status: fc.constantFrom('available' as const, 'error' as const, 'partial' as const, 'empty' as const), backups: fc.array(finishedBackup, { maxLength: 3 }) }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  ),
  'run.finished': envelope(
    'run.finished',
    fc.record(
      {
        state: fc.constantFrom('COMPLETED' as const, 'PARTIAL' as const, 'FAILED' as const, 'EXPIRED' as const),
        reason: shortText(2048),
        error: fc.record({ code: shortText(128), message: shortText(2048), requestId: shortText(128) }, { requiredKeys: ['code', 'message'] }),
        notifyUrl: shortText(2048),
      },
      { requiredKeys: ['state'] },
    ),
  ),
  'share.pending': envelope('share.pending', fc.record({ backupId: uuid, projectId: shortText(64).filter((s) => s.length > 0), sharedAt: isoTime })),
} satisfies Record<MessageType, fc.Arbitrary<{ type: string; runId: string }>>;

// ------------------------------------------------------------------------------------- random JSON

/** Keys that pollute prototypes or shadow Object methods when code merges objects carelessly. */
export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', '__defineGetter__', 'toString', 'hasOwnProperty', 'valueOf'] as const;

/** Sets an OWN enumerable property, even for `__proto__` (so JSON.stringify writes it out). */
export function withOwnKey<T extends object>(target: T, key: string, value: unknown): T {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/**
 * A value nested `depth` deep (`[[[...]]]` or `{"a":{"a":...}}`). Kept as a marker and written out by
 * `toJson` as text, because JSON.stringify (and fast-check's printer) recurse and would overflow the
 * test's own stack long before the code under test has any trouble with it.
 */
export class DeepNest {
  constructor(readonly depth: number, readonly kind: 'array' | 'object') {}
  toText(): string {
    return this.kind === 'array' ? '['.repeat(this.depth) + ']'.repeat(this.depth) : '{"a":'.repeat(this.depth) + '{}' + '}'.repeat(this.depth);
  }
  [fc.toStringMethod](): string {
    return `<${this.kind} nested ${this.depth} deep>`;
  }
}

export function deepNest(depth: number, kind: 'array' | 'object'): DeepNest {
  return new DeepNest(depth, kind);
}

/** JSON text of a generated value: like JSON.stringify, plus DeepNest markers and own `__proto__` keys. */
export function toJson(value: unknown): string {
  if (value instanceof DeepNest) return value.toText();
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : toJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${toJson((value as Record<string, unknown>)[k])}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The value as the code under test sees it after JSON.parse (deep markers expanded for real). */
export const asParsed = (value: unknown): unknown => JSON.parse(toJson(value)) as unknown;

const jsonKey = fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(...PROTO_KEYS, 'projectId', 'vault', 'resources', 'type', 'version', 'runId', 'data') });
const { tree } = fc.letrec<{ tree: Json; leaf: Json; node: Json }>((tie) => ({
  leaf: fc.oneof(fc.constant(null), fc.boolean(), fc.double(), fc.integer(), hostileText, fc.constantFrom(1, 0, -1, 1e308, 'run.requested', 'vault.ready', '')),
  node: fc.oneof(
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.array(fc.tuple(jsonKey, tie('tree')), { maxLength: 5 }).map((entries) => entries.reduce<{ [k: string]: Json }>((o, [k, v]) => withOwnKey(o, k, v), {})),
  ),
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('node')),
}));

/** Random JSON values, including objects with own `__proto__`/`constructor` keys and deep nesting. */
export const anyJson: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: tree },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 100, max: 20_000 }), fc.constantFrom('array' as const, 'object' as const)).map(([d, k]) => deepNest(d, k)) },
);

// -------------------------------------------------------------------------------------- mutations

export const MUTATION_KINDS = ['wrong-type', 'missing', 'null', 'huge', 'unicode', 'proto-key', 'nested', 'hostile-id', 'extra-key'] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];

/** Kinds whose result no field of any cbr-flow contract accepts (every field has one JSON type, every
 * number is a bounded integer, every string and array has a maximum, every object is strict). */
const ALWAYS_INVALID: ReadonlySet<MutationKind> = new Set(['wrong-type', 'null', 'huge', 'nested', 'proto-key', 'extra-key']);

export interface Mutated<T = unknown> {
  value: T;
  kind: MutationKind;
  /** Where the mutation was made. */
  path: Path;
  /** The field an error must name (the mutated one, or the key that was added to it). */
  expect: Path;
  /** True when no contract could accept the result (a 2xx / processed message would be a bug). */
  mustFail: boolean;
  /** Short description for failure messages. */
  note: string;
}

export interface Ingredients {
  pick: number;
  text: string;
  id: string;
  protoKey: string;
  extraKey: string;
  depth: number;
  hugeLength: number;
  variant: number;
}

export const ingredients: fc.Arbitrary<Ingredients> = fc.record({
  pick: fc.nat(),
  text: hostileText,
  id: hostileId,
  protoKey: fc.constantFrom(...PROTO_KEYS),
  extraKey: fc.oneof(fc.string({ minLength: 1, maxLength: 16 }), fc.constantFrom('Projectid', 'project_id', 'vault ', 'extra', '$where', 'admin')),
  depth: fc.integer({ min: 20, max: 5_000 }),
  hugeLength: fc.integer({ min: 10_000, max: 40_000 }),
  variant: fc.nat(),
});

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const isPlainObject = (v: unknown): v is Record<string, unknown> => kindOf(v) === 'object';

/** Every node path below the root, with whether it is an object key (deletable). */
function nodePaths(value: unknown, at: Path = []): Array<{ path: Path; key: boolean }> {
  const out: Array<{ path: Path; key: boolean }> = [];
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push({ path: [...at, i], key: false }, ...nodePaths(v, [...at, i]));
    });
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) out.push({ path: [...at, k], key: true }, ...nodePaths(v, [...at, k]));
  }
  return out;
}

function getAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const p of path) v = (v as Record<string | number, unknown>)[p];
  return v;
}

function setAt(root: unknown, path: Path, value: unknown): void {
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (typeof last === 'string') withOwnKey(parent, last, value);
  else parent[last] = value;
}

function deleteAt(root: unknown, path: Path): void {
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  delete parent[path[path.length - 1]!];
}

const WRONG_TYPES: unknown[] = ['str', 42, true, [1, 'a'], { k: 1 }];
const HUGE_NUMBERS = [1e308, -1e308, 2 ** 53 + 2, 5e-324, 1e21, -(2 ** 31)];

function hugeOf(current: unknown, ing: Ingredients): unknown {
  if (typeof current === 'number') return HUGE_NUMBERS[ing.variant % HUGE_NUMBERS.length];
  if (Array.isArray(current)) {
    const item = current[0] ?? 'ffffffffffffffffffffffffffffffff';
    return Array.from({ length: 300 + (ing.variant % 200) }, () => structuredClone(item));
  }
  const unit = ['a', '備', '\u{1F4A9}', '../', 'é'][ing.variant % 5]!;
  return unit.repeat(Math.ceil(ing.hugeLength / unit.length));
}

/** Apply one mutation of `kind` to a copy of `base` at the node chosen by `ing.pick`. */
export function mutate<T>(base: T, kind: MutationKind, ing: Ingredients): Mutated<T> {
  const value = structuredClone(base) as T;
  const all = nodePaths(value);
  const candidates =
    kind === 'missing' ? all.filter((p) => p.key)
    : kind === 'extra-key' || kind === 'proto-key' ? [{ path: [] as Path, key: false }, ...all.filter((p) => isPlainObject(getAt(value, p.path)))]
    : all;
  const { path } = candidates[ing.pick % candidates.length]!;
  const current = getAt(value, path);
  let expect: Path = path;
  let note: string = kind;
  switch (kind) {
    case 'wrong-type': {
      const others = WRONG_TYPES.filter((w) => kindOf(w) !== kindOf(current));
      const replacement = structuredClone(others[ing.variant % others.length]);
      setAt(value, path, replacement);
      note = `wrong-type ${JSON.stringify(replacement)}`;
      break;
    }
    case 'missing':
      deleteAt(value, path);
      break;
    case 'null':
      setAt(value, path, null);
      break;
    case 'huge':
      setAt(value, path, hugeOf(current, ing));
      break;
    case 'unicode':
      setAt(value, path, ing.text);
      note = `unicode ${JSON.stringify(ing.text.slice(0, 40))}`;
      break;
    case 'hostile-id':
      setAt(value, path, ing.id);
      note = `hostile-id ${JSON.stringify(ing.id.slice(0, 60))}`;
      break;
    case 'nested':
      setAt(value, path, deepNest(ing.depth, ing.variant % 2 === 0 ? 'array' : 'object'));
      note = `nested ${ing.depth}`;
      break;
    case 'proto-key':
    case 'extra-key': {
      const target = path.length === 0 ? value : current;
      let key = kind === 'proto-key' ? ing.protoKey : ing.extraKey;
      // Contract fields are plain camelCase words: a key that could be one (even an absent optional
      // field such as `name`) gets a suffix no contract uses, so the key is always unknown.
      if (kind === 'extra-key' && (/^[A-Za-z]+$/.test(key) || Object.hasOwn(target as object, key))) key = `${key}_x`;
      if (isPlainObject(target)) {
        withOwnKey(target, key, kind === 'proto-key' ? { polluted: true } : 'surprise');
        expect = [...path, key];
      } else {
        setAt(value, path, withOwnKey({}, key, { polluted: true }));
      }
      note = `${kind} ${JSON.stringify(key)}`;
      break;
    }
  }
  return { value, kind, path, expect, mustFail: ALWAYS_INVALID.has(kind), note: `${note} at ${formatPath(path) || '(root)'}` };
}

/** A mutation recipe, to apply with `mutate` to a value only known at run time (e.g. a world's message). */
export const mutation: fc.Arbitrary<{ kind: MutationKind; ing: Ingredients }> = fc.record({ kind: fc.constantFrom(...MUTATION_KINDS), ing: ingredients });

/** `base` with exactly one field mutated (see MUTATION_KINDS). */
export function mutated<T>(base: fc.Arbitrary<T>, kinds: ReadonlyArray<MutationKind> = MUTATION_KINDS): fc.Arbitrary<Mutated<T>> {
  return fc.tuple(base, fc.constantFrom(...kinds), ingredients).map(([b, kind, ing]) => mutate(b, kind, ing));
}

// ----------------------------------------------------------------------------- process watchdog

/**
 * Records every unhandled rejection and uncaught exception while a fuzz suite runs (vitest would
 * report them too, but late and without the case): call `check()` after each batch of cases.
 */
export function watchProcess(): { errors: unknown[]; check: () => Promise<void>; stop: () => void } {
  const errors: unknown[] = [];
  const onRejection = (reason: unknown) => errors.push(reason);
  const onException = (error: unknown) => errors.push(error);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    errors,
    check: async () => {
      // Let pending rejections surface (they are reported after the microtask queue drains).
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (errors.length > 0) throw new Error(`unhandled rejection / uncaught exception: ${String(errors[0])}`, { cause: errors[0] });
    },
    stop: () => {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

/** Object.prototype must never gain a key from input (prototype pollution). */
export function assertNoPollution(): void {
  const probe = {} as Record<string, unknown>;
  if ('polluted' in probe || Object.keys(Object.prototype).length > 0) throw new Error('Object.prototype was polluted');
}

/** Multiplier for local deep runs: FUZZ_SCALE=10 npx vitest run test/reliability/fuzz */
export const FUZZ_SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? '1') || 1);
export const runs = (n: number): number => Math.round(n * FUZZ_SCALE);
