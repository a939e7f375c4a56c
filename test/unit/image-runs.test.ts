// Image token layouts found in prompt ids, and the errors for malformed ones.
import { describe, expect, it } from "vitest";
import { findImageRuns } from "../../runtime/wire/image-runs.ts";
import { imageTokens } from "../../runtime/text/chat/image-size.ts";

const t = { img: 10, imgBreak: 12, imgEnd: 13 };

describe("image runs in ids", () => {
  it("finds the comment's example and grids made by the chat encoder's layout", () => {
    expect(findImageRuns([1, 10, 10, 12, 10, 10, 13, 7], t)).toEqual([{ start: 1, end: 7, rows: 2, cols: 2 }]);
    const a = imageTokens({ cols: 3, rows: 4 }, t), b = imageTokens({ cols: 5, rows: 1 }, t);
    const ids = [1, 5, ...a, ...b, 6, ...a];
    expect(findImageRuns(ids, t)).toEqual([
      { start: 2, end: 2 + a.length, rows: 4, cols: 3 },
      { start: 2 + a.length, end: 2 + a.length + b.length, rows: 1, cols: 5 },
      { start: 3 + a.length + b.length, end: ids.length, rows: 4, cols: 3 },
    ]);
    expect(findImageRuns([1, 2, 3], t)).toEqual([]);
  });

  it.each([
    ["a stray [IMG_END]", [1, 13], /token 1 is \[IMG_END\] outside an image/],
    ["a stray [IMG_BREAK]", [12, 10, 13], /token 0 is \[IMG_BREAK\] outside an image/],
    [
      "ragged rows",
      [10, 10, 12, 10, 13],
      /row 1 of the image starting at token 0 has 1 \[IMG\] tokens, the first row has 2/,
    ],
    ["text inside an image", [10, 10, 5, 10, 13], /token 2 \(id 5\) interrupts the image/],
    ["a cut-off image", [1, 10, 10, 12, 10], /cut off by the end of the ids/],
    ["an empty row", [10, 12, 12, 10, 13], /row 1 .* has no \[IMG\] tokens/],
  ])("refuses %s", (_what, ids, message) => {
    expect(() => findImageRuns(ids, t)).toThrow(message);
  });
});
