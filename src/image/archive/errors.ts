/** Errors of image copies and the archive formats (OCI layout dir/tar, Docker archive). */
import { GantryError, type GantryErrorOptions } from "../../errors.js";

export type ArchiveErrorCode = "ARCHIVE_INVALID" | "IMAGE_UNKNOWN" | "PLATFORM_UNKNOWN";

export class ArchiveError extends GantryError {
  declare readonly code: ArchiveErrorCode;
  constructor(code: ArchiveErrorCode, message: string, options: GantryErrorOptions = {}) {
    super(code, message, options);
  }
}
