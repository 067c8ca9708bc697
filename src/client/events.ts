/** Progress events of an image transfer, one stream per blob (defined with the copy loop in image/archive). */
export type { TransferEvent, TransferListener, TransferStatus } from "../image/archive/image-transport.js";
