// Generate requests with images wait here between engine steps; before the next step, every waiting request's images
// go through the vision tower in one call (images from several requests batch together).
import type { RgbImage } from "../vision/pixels.ts";
import type { GenerateMessage } from "../wire/messages.ts";
import type { Connection } from "./connection.ts";
import { encodeBatch, ImageRequestError, type PreparedImages, readWireImages } from "./images.ts";
import type { ModelHost } from "./model-host.ts";

interface Waiting {
  conn: Connection;
  msg: GenerateMessage;
  images: RgbImage[];
}

export class ImageQueue {
  #waiting: Waiting[] = [];
  /** Vision-tower calls made and the requests they served (the runtime's stats). */
  readonly counts = { batches: 0, requests: 0 };

  constructor(private readonly host: ModelHost) {}

  get size(): number {
    return this.#waiting.length;
  }

  has(conn: Connection, id: string): boolean {
    return this.#waiting.some((w) => w.conn === conn && w.msg.id === id);
  }

  /** Checks the request's images against its attachment (ImageRequestError) and queues it. */
  add(conn: Connection, msg: GenerateMessage, binary: Uint8Array): void {
    this.#waiting.push({ conn, msg, images: readWireImages(this.host, msg, binary) });
  }

  /** Encodes every waiting request of an open connection in one vision-tower call; hands each its features, or the
   * reason its images failed. */
  encodeWaiting(
    admit: (conn: Connection, msg: GenerateMessage, prepared: PreparedImages) => void,
    refuse: (conn: Connection, msg: GenerateMessage, message: string) => void,
  ): void {
    const batch = this.#waiting.filter((w) => !w.conn.closed);
    this.#waiting = [];
    if (batch.length === 0) return;
    this.counts.batches++;
    this.counts.requests += batch.length;
    const prepared = encodeBatch(this.host, batch.map((w) => ({ promptIds: w.msg.promptIds, images: w.images })));
    batch.forEach((w, i) => {
      const r = prepared[i];
      if (r instanceof ImageRequestError) refuse(w.conn, w.msg, r.message);
      else admit(w.conn, w.msg, r);
    });
  }
}
