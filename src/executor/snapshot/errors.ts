/**
 * Typed errors of the snapshotters (mounting overlays, unpacking layers into the layer store, diffing).
 */
import { GantryError, type GantryErrorOptions } from "../../errors.js";

export type SnapshotErrorCode =
  /** overlayfs could not be mounted or unmounted. */
  | "SNAPSHOT_MOUNT"
  /** A snapshot was used after release, or committed twice. */
  | "SNAPSHOT_STATE"
  /** A layer the snapshot needs is not in the content store. */
  | "SNAPSHOT_LAYER_MISSING"
  /** The requested snapshotter cannot work on this host. */
  | "SNAPSHOT_UNSUPPORTED";

export class SnapshotError extends GantryError {
  declare readonly code: SnapshotErrorCode;
  constructor(code: SnapshotErrorCode, message: string, options: GantryErrorOptions = {}) {
    super(code, message, options);
  }
}
