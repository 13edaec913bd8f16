/**
 * Replay protection for inbound webhooks: an authentic message id is accepted once while its timestamp
 * is within the tolerance window; after that the timestamp check refuses it anyway, so a claim only
 * needs to live that long (`expiresAt`).
 */
export interface ReplayGuard {
  /**
   * Record `messageId` as used until `expiresAt` (epoch ms). True when this caller is the first to
   * claim it (or the previous claim has expired); false when it is a replay. Atomic across containers
   * in the DynamoDB adapter.
   */
  claim(messageId: string, expiresAt: number): Promise<boolean>;
  /**
   * Give up a claim this guard made (the request then failed with a 5xx), so the sender's retry of the
   * same message is not refused as a replay. Optional: a guard without it keeps every claim.
   */
  release?(messageId: string): Promise<void>;
}

/**
 * Per-container replay guard (tests, the local stage, single-instance use). Not shared between Lambda
 * containers; production answers repeated ids in the handler instead ('handler-idempotent').
 */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly claims = new Map<string, number>();

  constructor(private readonly clock: { now(): number } = Date) {}

  async claim(messageId: string, expiresAt: number): Promise<boolean> {
    const now = this.clock.now();
    this.sweep(now);
    const held = this.claims.get(messageId);
    if (held !== undefined && held > now) return false;
    this.claims.set(messageId, expiresAt);
    return true;
  }

  async release(messageId: string): Promise<void> {
    this.claims.delete(messageId);
  }

  get size(): number {
    return this.claims.size;
  }

  private sweep(now: number): void {
    // Amortised: only when the map has grown; entries are only ever made by authentic messages.
    if (this.claims.size < 1024) return;
    for (const [id, until] of this.claims) if (until <= now) this.claims.delete(id);
  }
}
