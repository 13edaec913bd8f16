/**
 * Run async tasks with at most `concurrency` in flight. Hand-written (12 lines) because p-limit is not
 * among the project's dependencies and this is all the checker needs.
 */
export async function forEachLimited<T>(items: ReadonlyArray<T>, concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}
