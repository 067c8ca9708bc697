/**
 * The registry client's public surface: `pullImage` / `pushImage` for the build command and the CLI,
 * `RegistryClient` for one registry host, `copyImage` over image sources and destinations, the transport
 * addresses `gantry copy` understands, credentials, and the progress event type.
 */

export { type CopyOptions, type CopyResult, copyImage } from "./copy.js";
export {
  type Credentials,
  dockerConfigPath,
  eraseCredentials,
  lookupCredentials,
  storeCredentials,
} from "./credentials.js";
export { ClientError, NetworkError, RegistryHttpError } from "./errors.js";
export type { TransferEvent, TransferListener, TransferStatus } from "./events.js";
export {
  type PulledImage,
  type PullImageOptions,
  type PushImageOptions,
  pullImage,
  pushImage,
} from "./image-transfer.js";
export { RegistryClient, type RegistryClientOptions } from "./registry-client.js";
export {
  formatAddress,
  type ImageAddress,
  openDestination,
  openSource,
  parseImageAddress,
} from "./transports/address.js";
