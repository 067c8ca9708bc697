/**
 * Typed errors of the RUN runtime (user resolution, bundle preparation, the OCI runtime itself).
 */
import { GantryError, type GantryErrorOptions } from "../../errors.js";

export type RuntimeErrorCode =
  /** USER names a user or group the image's /etc/passwd or /etc/group does not have. */
  | "USER_UNKNOWN"
  /** runc/crun/unshare is missing or cannot start containers here. */
  | "RUNTIME_UNAVAILABLE"
  /** The container could not be started or cleaned up. */
  | "RUNTIME_FAILED"
  /** The run was cancelled through its AbortSignal; the container was killed. */
  | "RUN_ABORTED";

export class RuntimeError extends GantryError {
  declare readonly code: RuntimeErrorCode;
  constructor(code: RuntimeErrorCode, message: string, options: GantryErrorOptions = {}) {
    super(code, message, options);
  }
}
