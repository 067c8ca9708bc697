/**
 * What the registry server reports for `/metrics`. The server calls these hooks; the Prometheus text
 * exposition lives in metrics.ts. A no-op implementation keeps the server usable without metrics.
 */
export interface RegistryMetrics {
  /** One finished HTTP request. `route` is the route's name (`blob_get`, `manifest_put`…), not the path. */
  observeRequest(
    method: string,
    route: string,
    status: number,
    seconds: number,
    bytesIn: number,
    bytesOut: number,
  ): void;
  uploadStarted(): void;
  uploadFinished(outcome: "committed" | "cancelled" | "failed" | "expired"): void;
  /** Prometheus text format, version 0.0.4. */
  render(): string;
}

export const noMetrics: RegistryMetrics = {
  observeRequest() {},
  uploadStarted() {},
  uploadFinished() {},
  render() {
    return "";
  },
};
