/** gust vision preprocessing (gateway side): image parts → checked, decoded, resized RGB with token grids.
 * The Hono middleware is edge/middleware/vision.ts; this is the framework-free library under it. */
export { axisTaps, cubicWeights, resizeBicubic, toBytes } from "./bicubic.ts";
export type { Raster } from "./bicubic.ts";
export { ImageCache } from "./cache.ts";
export type { CacheStats } from "./cache.ts";
export { toRgbOnWhite } from "./composite.ts";
export { VisionError } from "./errors.ts";
export type { VisionErrorCode } from "./errors.ts";
export { fetchImage } from "./fetch-image.ts";
export type { DialRequest, FetchHooks, FetchPolicy } from "./fetch-image.ts";
export { readHeader, sniffFormat } from "./format.ts";
export type { Header, ImageFormat } from "./format.ts";
export { parseIp, refusedAddress } from "./ip-policy.ts";
export { DEFAULTS, resolveOptions } from "./options.ts";
export type { ResolvedOptions, VisionOptions } from "./options.ts";
export { findImageParts } from "./parts.ts";
export type { ImagePart } from "./parts.ts";
export { prepareImage, probeImage, renderImage } from "./prepare.ts";
export type { PreparedImage, Probed } from "./prepare.ts";
export { emptyVision, prepareRequestImages } from "./request-images.ts";
export type { VisionContext } from "./request-images.ts";
export { fitMaxEdge, gridFor, gridTokens } from "./size-rule.ts";
export type { Grid } from "./size-rule.ts";
export { readSource } from "./source.ts";
export { checkUrl, hostAllowed } from "./url-policy.ts";
