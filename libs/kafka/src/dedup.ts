/**
 * Remembers event ids for a time span so that a redelivered or re-sent event is recognised.
 * Memory is bounded by the number of ids seen within the span (entries expire in arrival order).
 */
export class DedupWindow {
  private readonly seen = new Map<string, number>();

  constructor(private readonly spanMs: number, private readonly maxEntries = 1_000_000) {}

  /** True when the id was not seen within the span; records it. */
  firstSighting(id: string, nowMs: number = Date.now()): boolean {
    if (this.has(id, nowMs)) return false;
    this.add(id, nowMs);
    return true;
  }

  /** Whether the id was seen within the span, without recording it (record once the output is safely written). */
  has(id: string, nowMs: number = Date.now()): boolean {
    this.expire(nowMs);
    const at = this.seen.get(id);
    return at !== undefined && nowMs - at <= this.spanMs;
  }

  add(id: string, nowMs: number = Date.now()): void {
    this.seen.delete(id);
    this.seen.set(id, nowMs);
  }

  get size(): number {
    return this.seen.size;
  }

  private expire(nowMs: number): void {
    // Map iteration follows insertion order, which is arrival order here.
    for (const [id, at] of this.seen) {
      if (nowMs - at <= this.spanMs && this.seen.size <= this.maxEntries) break;
      this.seen.delete(id);
    }
  }
}
