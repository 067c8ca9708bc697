/**
 * The registry's Prometheus metrics: request counters and a latency histogram per route, byte counters,
 * upload session counters, and process memory gauges, rendered as Prometheus text exposition format 0.0.4
 * by hand (no client library). Recording is a couple of map look-ups per request.
 */
import type { RegistryMetrics } from "./metrics-types.js";

const PREFIX = "gantry_registry";
/** Upper bounds (seconds) of the request duration histogram's buckets; +Inf is implied. */
export const DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
const KNOWN_METHODS = new Set(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"]);
const UPLOAD_OUTCOMES = ["committed", "cancelled", "failed", "expired"] as const;

interface RequestSeries {
  method: string;
  route: string;
  status: string;
  count: number;
}

interface DurationSeries {
  method: string;
  route: string;
  /** Observations per bucket, not cumulative; the last slot is the +Inf bucket. */
  buckets: number[];
  sum: number;
  count: number;
}

/** Escapes a label value as the text format requires (backslash, double quote, newline). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A sample value in the text format: integers plainly, `+Inf`/`-Inf`/`NaN` spelled out. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function header(lines: string[], name: string, type: string, help: string): void {
  lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
}

export interface PrometheusMetrics extends RegistryMetrics {
  /** Current number of upload sessions started and not yet finished. */
  readonly uploadsInProgress: number;
}

class PrometheusRegistryMetrics implements PrometheusMetrics {
  private readonly requests = new Map<string, RequestSeries>();
  private readonly durations = new Map<string, DurationSeries>();
  private bytesReceived = 0;
  private bytesSent = 0;
  private uploadsStarted = 0;
  private readonly uploadsFinished = new Map<string, number>(UPLOAD_OUTCOMES.map((o) => [o, 0]));
  private inProgress = 0;
  private readonly startTimeSeconds = Math.floor(Date.now() / 1000 - process.uptime());

  get uploadsInProgress(): number {
    return this.inProgress;
  }

  observeRequest(
    method: string,
    route: string,
    status: number,
    seconds: number,
    bytesIn: number,
    bytesOut: number,
  ): void {
    const m = KNOWN_METHODS.has(method) ? method : "OTHER";
    const requestKey = `${m} ${route} ${status}`;
    let series = this.requests.get(requestKey);
    if (!series) {
      series = { method: m, route, status: String(status), count: 0 };
      this.requests.set(requestKey, series);
    }
    series.count++;

    const durationKey = `${m} ${route}`;
    let duration = this.durations.get(durationKey);
    if (!duration) {
      duration = {
        method: m,
        route,
        buckets: new Array(DURATION_BUCKETS.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.durations.set(durationKey, duration);
    }
    let slot = 0;
    while (slot < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[slot]!) slot++;
    duration.buckets[slot]!++;
    duration.sum += seconds;
    duration.count++;

    if (bytesIn > 0) this.bytesReceived += bytesIn;
    if (bytesOut > 0) this.bytesSent += bytesOut;
  }

  uploadStarted(): void {
    this.uploadsStarted++;
    this.inProgress++;
  }

  uploadFinished(outcome: "committed" | "cancelled" | "failed" | "expired"): void {
    this.uploadsFinished.set(outcome, (this.uploadsFinished.get(outcome) ?? 0) + 1);
    if (this.inProgress > 0) this.inProgress--;
  }

  render(): string {
    const lines: string[] = [];

    const requestsName = `${PREFIX}_http_requests_total`;
    header(lines, requestsName, "counter", "HTTP requests answered, by method, route name and status code.");
    for (const s of this.requests.values()) {
      lines.push(
        `${requestsName}${labels({ method: s.method, route: s.route, status: s.status })} ${s.count}`,
      );
    }

    const durationName = `${PREFIX}_http_request_duration_seconds`;
    header(lines, durationName, "histogram", "Time from request start to response end, by method and route.");
    for (const s of this.durations.values()) {
      let cumulative = 0;
      for (let i = 0; i <= DURATION_BUCKETS.length; i++) {
        cumulative += s.buckets[i]!;
        const le = i < DURATION_BUCKETS.length ? formatSampleValue(DURATION_BUCKETS[i]!) : "+Inf";
        lines.push(`${durationName}_bucket${labels({ method: s.method, route: s.route, le })} ${cumulative}`);
      }
      const base = labels({ method: s.method, route: s.route });
      lines.push(
        `${durationName}_sum${base} ${formatSampleValue(s.sum)}`,
        `${durationName}_count${base} ${s.count}`,
      );
    }

    header(lines, `${PREFIX}_bytes_received_total`, "counter", "Request body bytes received.");
    lines.push(`${PREFIX}_bytes_received_total ${this.bytesReceived}`);
    header(lines, `${PREFIX}_bytes_sent_total`, "counter", "Response body bytes sent.");
    lines.push(`${PREFIX}_bytes_sent_total ${this.bytesSent}`);

    header(lines, `${PREFIX}_uploads_started_total`, "counter", "Blob upload sessions started.");
    lines.push(`${PREFIX}_uploads_started_total ${this.uploadsStarted}`);
    header(
      lines,
      `${PREFIX}_uploads_finished_total`,
      "counter",
      "Blob upload sessions finished, by outcome.",
    );
    for (const [outcome, count] of this.uploadsFinished) {
      lines.push(`${PREFIX}_uploads_finished_total${labels({ outcome })} ${count}`);
    }
    header(lines, `${PREFIX}_uploads_in_progress`, "gauge", "Blob upload sessions currently open.");
    lines.push(`${PREFIX}_uploads_in_progress ${this.inProgress}`);

    const memory = process.memoryUsage();
    header(lines, "process_resident_memory_bytes", "gauge", "Resident set size of the registry process.");
    lines.push(`process_resident_memory_bytes ${memory.rss}`);
    header(lines, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch.");
    lines.push(`process_start_time_seconds ${this.startTimeSeconds}`);
    header(lines, "nodejs_heap_size_total_bytes", "gauge", "V8 heap size.");
    lines.push(`nodejs_heap_size_total_bytes ${memory.heapTotal}`);
    header(lines, "nodejs_heap_size_used_bytes", "gauge", "V8 heap in use.");
    lines.push(`nodejs_heap_size_used_bytes ${memory.heapUsed}`);
    header(
      lines,
      "nodejs_external_memory_bytes",
      "gauge",
      "Memory of C++ objects bound to JavaScript (buffers).",
    );
    lines.push(`nodejs_external_memory_bytes ${memory.external}`);

    return `${lines.join("\n")}\n`;
  }
}

/** The content type to answer `/metrics` with. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Metrics for one registry server, rendered in Prometheus text format 0.0.4. */
export function createPrometheusMetrics(): PrometheusMetrics {
  return new PrometheusRegistryMetrics();
}
