/** The copy loop over image sources and destinations (it lives in image/archive; re-exported for the client). */
export { type CopyOptions, type CopyResult, copyImage, forEachLimited } from "../image/archive/copy-image.js";
