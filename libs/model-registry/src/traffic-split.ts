const encoder = new TextEncoder();

/**
 * Where an entity falls in the champion/challenger split (`serving.challenger.mode: split`): its key's place in
 * [0, 1), FNV-1a over the UTF-8 bytes, then MurmurHash3's 32-bit finalizer so that keys differing in their last
 * character (card-1, card-2, …) spread over the whole range. A pure function of the key: the same on every instance,
 * after restarts and for every challenger, so an entity stays in its arm.
 */
export function entityBucket(entityKey: string): number {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(entityKey)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

/** Whether the challenger serves this entity's events in split mode with the given share (0..1). */
export function challengerServes(entityKey: string, share: number): boolean {
  return entityBucket(entityKey) < share;
}
