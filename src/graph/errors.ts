/**
 * Errors of the graph compiler and the local image resolver: `ImageNotFoundError` (code IMAGE_NOT_FOUND, so a
 * caller can fall back to pulling), `ImageReferenceError` for references that do not parse, and
 * `locatedError`, which re-raises an error from a resolver or a lower layer at a Dockerfile location while
 * keeping its code, message and hint.
 */
import { GantryError, type GantryErrorOptions, type SourceLocation } from "../errors.js";

/** The image is not in the local data root (or not for the requested platform, or a blob is missing). */
export class ImageNotFoundError extends GantryError {
  readonly reference: string;
  constructor(reference: string, reason: string, options: GantryErrorOptions = {}) {
    super("IMAGE_NOT_FOUND", `image ${JSON.stringify(reference)} not found locally: ${reason}`, {
      hint: "pull it into the data root first, or make one with `gantry import ROOTFS REF`",
      ...options,
    });
    this.reference = reference;
  }
}

/** An image reference that does not parse (`FROM Foo`, `COPY --from=a//b`). */
export class ImageReferenceError extends GantryError {
  constructor(message: string, options: GantryErrorOptions = {}) {
    super("IMAGE_REFERENCE", message, options);
  }
}

/** A GantryError with another error's code, message and hint, raised at `location`. */
export class LocatedError extends GantryError {}

/**
 * `err` at `location`: a GantryError that has no location yet is re-raised there with the same code (so
 * IMAGE_NOT_FOUND stays IMAGE_NOT_FOUND); errors that already have one, and non-Gantry errors, pass unchanged.
 */
export function locatedError(
  err: unknown,
  location: SourceLocation,
  prefix?: string,
  hint?: string,
): unknown {
  if (!(err instanceof GantryError) || err.location) return err;
  const message = prefix ? `${prefix}: ${err.message}` : err.message;
  return new LocatedError(err.code, message, { location, hint: err.hint ?? hint, cause: err });
}
