/**
 * Typed errors of the layer codec (tar writing/reading, compression, importing root filesystems). Each has
 * a stable `code`; the CLI prints them with their hint and exits 1.
 */
import { GantryError, type GantryErrorOptions } from "../../errors.js";

export type LayerErrorCode =
  /** An entry is malformed: bad path (absolute, `..`), wrong type/field combination. */
  | "LAYER_ENTRY_INVALID"
  /** Entries given to the tar writer are not in canonical order, or a path repeats. */
  | "LAYER_ORDER"
  /** A file changed size while it was being archived. */
  | "FILE_CHANGED"
  /** An input tar cannot be read. */
  | "TAR_INVALID"
  /** The compressor or decompressor failed. */
  | "COMPRESSION";

export class LayerError extends GantryError {
  declare readonly code: LayerErrorCode;
  readonly path?: string;
  constructor(code: LayerErrorCode, message: string, options: GantryErrorOptions & { path?: string } = {}) {
    super(code, message, options);
    this.path = options.path;
  }
}

/** A feature this host cannot provide (e.g. zstd without the `zstd` program). */
export class UnsupportedError extends GantryError {
  constructor(message: string, options: GantryErrorOptions = {}) {
    super("UNSUPPORTED", message, options);
  }
}
