/** Prepared images by content, so the history images a chat client re-sends every turn are decoded and resized
 * once. Keyed by the SHA-256 of the encoded file plus everything that changes the output (target size,
 * orientation handling), so a data URL and bare base64 of the same file share an entry, and a request that had
 * to downscale gets its own. Least recently used entries go first once the RGB bytes exceed the budget.
 * Entries are shared: consumers must treat `rgb` as read-only. */
import type { PreparedImage } from "./prepare.ts";

export interface CacheStats {
  hits: number;
  /** Times the image had to be produced: decodes + resizes. */
  decodes: number;
  entries: number;
  bytes: number;
}

export class ImageCache {
  private readonly map = new Map<string, PreparedImage>(); // insertion order = recency order
  private bytes = 0;
  private hits = 0;
  private decodes = 0;
  /** Same key asked for concurrently: one production, everyone waits for it. */
  private readonly pending = new Map<string, Promise<PreparedImage>>();

  /** @param maxBytes RGB bytes kept; default 256 MiB (about 35 images at the full 1540 × 1540). */
  constructor(readonly maxBytes = 256 * 1024 * 1024) {}

  async getOrCreate(key: string, create: () => Promise<PreparedImage>): Promise<PreparedImage> {
    const hit = this.map.get(key);
    if (hit) {
      this.hits++;
      this.map.delete(key); // move to most recent
      this.map.set(key, hit);
      return hit;
    }
    const waiting = this.pending.get(key);
    if (waiting) {
      this.hits++;
      return waiting;
    }
    this.decodes++;
    const job = create();
    this.pending.set(key, job);
    try {
      const img = await job;
      this.insert(key, img);
      return img;
    } finally {
      this.pending.delete(key);
    }
  }

  private insert(key: string, img: PreparedImage): void {
    if (img.rgb.byteLength > this.maxBytes) return; // larger than the whole budget: not worth evicting for
    this.map.set(key, img);
    this.bytes += img.rgb.byteLength;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.rgb.byteLength;
    }
  }

  stats(): CacheStats {
    return { hits: this.hits, decodes: this.decodes, entries: this.map.size, bytes: this.bytes };
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}
