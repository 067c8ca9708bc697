/**
 * Typed errors of COPY/ADD source selection and of the build context: a source that matches nothing, a
 * source that is hidden by `.dockerignore`, several sources into a non-directory destination, a stat
 * cache that cannot be written. Each has a stable `code`, a message naming the path and a hint.
 */
import { GantryError, type GantryErrorOptions } from "../errors.js";

export type CopyErrorCode =
  /** A source path or pattern selects nothing. */
  | "COPY_SOURCE_NOT_FOUND"
  /** Several sources and the destination is not a directory (`/` at the end). */
  | "COPY_DEST_NOT_DIR"
  /** A source or destination cannot be used (bad pattern, wrong file type, loop of symlinks). */
  | "COPY_INVALID"
  /** `--chown` names a user or group the image does not have. */
  | "COPY_CHOWN"
  /** `--chmod` is not an octal or symbolic mode. */
  | "COPY_CHMOD"
  /** ADD of a URL failed (HTTP error, checksum mismatch). */
  | "COPY_FETCH"
  /** ADD of a local archive failed while extracting. */
  | "COPY_ARCHIVE";

export class CopyError extends GantryError {
  declare readonly code: CopyErrorCode;
  /** The source or destination path involved, when there is one. */
  readonly path?: string;
  constructor(code: CopyErrorCode, message: string, options: GantryErrorOptions & { path?: string } = {}) {
    super(code, message, options);
    this.path = options.path;
  }
}

/** `COPY missing.txt /` — the message BuildKit prints, plus the `.dockerignore` hint when that is why. */
export function sourceNotFound(pattern: string, ignoredBy?: string): CopyError {
  const hint =
    ignoredBy !== undefined
      ? `${pattern} is excluded by ${ignoredBy}; remove the pattern there (or add a \`!${pattern}\` exception)`
      : "paths are relative to the build context (or to the root of the --from stage/image)";
  return new CopyError("COPY_SOURCE_NOT_FOUND", `${pattern}: not found`, { path: pattern, hint });
}

/** A wildcard that matched nothing (BuildKit and Docker say "no source files were specified"). */
export function noSourceFiles(pattern: string): CopyError {
  return new CopyError(
    "COPY_SOURCE_NOT_FOUND",
    `no source files were specified (${pattern} matches nothing)`,
    {
      path: pattern,
      hint: "check the pattern; files excluded by .dockerignore are never matched",
    },
  );
}

/** The build context's own problems (stat cache not writable, context not a directory). */
export class ContextError extends GantryError {
  constructor(message: string, options: GantryErrorOptions = {}) {
    super("CONTEXT", message, options);
  }
}
