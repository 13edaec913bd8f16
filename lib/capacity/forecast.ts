/**
 * When a vault fills: a pure forecast from its capacity and its recent backups (CBR's ListBackups), for
 * `cbr-flow vaults`. Growth is the data the backups of the last `windowDays` added, per day, over the
 * span they cover (from the oldest of them to `now`, at least one day); a vault that is not growing
 * never fills. Liberal in what it takes from CBR: a backup without a size (null, missing, not a number,
 * negative) or without a usable date counts as nothing; a capacity or usage that is missing gives no
 * forecast rather than a wrong one.
 */

const DAY_MS = 86_400_000;

export interface BackupSample {
  /** GB the backup added (CBR's `resource_size`/`backup_size`, possibly null or missing). */
  sizeGb?: number | null | undefined;
  /** When CBR created it (epoch ms; NaN or missing: left out). */
  createdAt?: number | null | undefined;
}

export interface CapacityForecast {
  /** GB per day the vault grew over the window (0 when it did not). */
  growthGbPerDay: number;
  /** Whole days until used reaches the capacity: 0 when full now, undefined when it never fills (not growing, or unknown). */
  fillsInDays: number | undefined;
}

export function forecastFill(input: {
  sizeGb: number | null | undefined;
  usedGb: number | null | undefined;
  backups: ReadonlyArray<BackupSample>;
  now: number;
  windowDays?: number;
}): CapacityForecast {
  const windowMs = (input.windowDays ?? 30) * DAY_MS;
  const usable = (n: number | null | undefined): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  const recent = input.backups.filter((b) => usable(b.createdAt) && b.createdAt <= input.now && b.createdAt > input.now - windowMs);
  const added = recent.reduce((sum, b) => sum + (usable(b.sizeGb) ? b.sizeGb : 0), 0);
  const oldest = Math.min(...recent.map((b) => b.createdAt as number));
  const spanDays = recent.length === 0 ? 1 : Math.max(1, (input.now - oldest) / DAY_MS);
  const growthGbPerDay = added / spanDays;
  if (!usable(input.sizeGb) || !usable(input.usedGb)) return { growthGbPerDay, fillsInDays: undefined };
  if (input.usedGb >= input.sizeGb) return { growthGbPerDay, fillsInDays: 0 };
  if (growthGbPerDay <= 0) return { growthGbPerDay, fillsInDays: undefined };
  // A growth so small that the days overflow (a few bytes a month) is no growth.
  const days = Math.floor((input.sizeGb - input.usedGb) / growthGbPerDay);
  return { growthGbPerDay, fillsInDays: Number.isSafeInteger(days) ? days : undefined };
}

/** The forecast as `cbr-flow vaults` prints it: "fills in N days", "full", or "never". */
export function fillsInText(f: CapacityForecast): string {
  if (f.fillsInDays === undefined) return 'never';
  if (f.fillsInDays === 0) return 'full';
  return `fills in ${f.fillsInDays} day${f.fillsInDays === 1 ? '' : 's'}`;
}
