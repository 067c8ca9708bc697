/** Progress events of an image transfer, one stream per blob, for the CLI's progress renderers. */
import type { Digest } from "../image/store-types.js";

export type TransferStatus =
  /** The destination already had the blob. */
  | "skipped"
  /** The registry mounted it from another repository. */
  | "mounted"
  /** Bytes are moving (uploading or downloading). */
  | "uploading"
  | "downloading"
  | "done";

export interface TransferEvent {
  digest: Digest;
  mediaType: string;
  /** Bytes transferred so far. */
  done: number;
  /** Size of the blob. */
  total: number;
  status: TransferStatus;
}

export type TransferListener = (event: TransferEvent) => void;
