// Finds the image token layouts already present in a prompt's ids (model-spec §4.4):
//   ([IMG] · cols + [IMG_BREAK]) · rows, the last [IMG_BREAK] replaced by [IMG_END].
// Example, ids [1, 10, 10, 12, 10, 10, 13, 7] with [IMG]=10, [IMG_BREAK]=12, [IMG_END]=13:
//   one run, start 1, end 7 (exclusive), rows 2, cols 2; its image must be 2·28 × 2·28 pixels.

export interface ImageTokenIds {
  img: number;
  imgBreak: number;
  imgEnd: number;
}

export interface ImageRun {
  /** Index of the run's first token and one past its [IMG_END]. */
  start: number;
  end: number;
  /** Merged-token grid: rows of cols [IMG] tokens. */
  rows: number;
  cols: number;
}

export class ImageLayoutError extends Error {
  constructor(detail: string) {
    super(
      `Image token layout in the ids is malformed: ${detail}. Each image must be ([IMG]×cols + [IMG_BREAK])×rows with the last [IMG_BREAK] replaced by [IMG_END] (model-spec §4.4).`,
    );
    this.name = "ImageLayoutError";
  }
}

export function findImageRuns(ids: ArrayLike<number>, t: ImageTokenIds): ImageRun[] {
  const runs: ImageRun[] = [];
  let i = 0;
  while (i < ids.length) {
    const id = ids[i];
    if (id === t.imgBreak || id === t.imgEnd) {
      throw new ImageLayoutError(
        `token ${i} is ${id === t.imgBreak ? "[IMG_BREAK]" : "[IMG_END]"} outside an image (no [IMG] before it)`,
      );
    }
    if (id !== t.img) {
      i++;
      continue;
    }
    const start = i;
    let cols = -1, rows = 0;
    for (;;) {
      const rowStart = i;
      while (i < ids.length && ids[i] === t.img) i++;
      const n = i - rowStart;
      if (i >= ids.length) {
        throw new ImageLayoutError(
          `the image starting at token ${start} is cut off by the end of the ids (no [IMG_END])`,
        );
      }
      if (ids[i] !== t.imgBreak && ids[i] !== t.imgEnd) {
        throw new ImageLayoutError(
          `token ${i} (id ${
            ids[i]
          }) interrupts the image starting at token ${start}; a row must end with [IMG_BREAK] or [IMG_END]`,
        );
      }
      if (n === 0) {
        throw new ImageLayoutError(`row ${rows} of the image starting at token ${start} has no [IMG] tokens`);
      }
      if (cols >= 0 && n !== cols) {
        throw new ImageLayoutError(
          `row ${rows} of the image starting at token ${start} has ${n} [IMG] tokens, the first row has ${cols}`,
        );
      }
      cols = n;
      rows++;
      if (ids[i++] === t.imgEnd) break;
    }
    runs.push({ start, end: i, rows, cols });
  }
  return runs;
}
