import { describe, expect, it } from "vitest";
import {
  createPrometheusMetrics,
  DURATION_BUCKETS,
  escapeLabelValue,
  PROMETHEUS_CONTENT_TYPE,
} from "../src/registry/metrics.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

/** A strict reader of Prometheus text format 0.0.4, enough to check what createPrometheusMetrics writes. */
function parseExposition(text: string): Exposition {
  expect(text.endsWith("\n")).toBe(true);
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (kind === "TYPE") {
        expect(["counter", "gauge", "histogram", "summary", "untyped"]).toContain(rest);
        expect(types.has(name)).toBe(false);
        types.set(name, rest);
      } else help.set(name, rest);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`unparseable line: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = sample as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    if (labelText) {
      const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let m: RegExpExecArray | null;
      let consumed = 0;
      while ((m = labelRe.exec(labelText))) {
        labels[m[1]!] = m[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
        consumed = labelRe.lastIndex;
      }
      expect(consumed).toBe(labelText.length);
    }
    const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : Number(valueText);
    expect(Number.isNaN(value) && valueText !== "NaN").toBe(false);
    // Every sample belongs to a declared family (histograms declare the base name).
    const family = name.replace(/_(bucket|sum|count)$/, "");
    expect(types.has(name) || types.get(family) === "histogram").toBe(true);
    samples.push({ name, labels, value });
  }
  return { types, help, samples };
}

function find(exp: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exp.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

function value(exp: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = find(exp, name, labels);
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
  return found[0]!.value;
}

describe("Prometheus metrics", () => {
  it("renders a valid exposition before any traffic", () => {
    const exp = parseExposition(createPrometheusMetrics().render());
    expect(exp.types.get("gantry_registry_http_requests_total")).toBe("counter");
    expect(exp.types.get("gantry_registry_http_request_duration_seconds")).toBe("histogram");
    expect(value(exp, "gantry_registry_uploads_in_progress")).toBe(0);
    for (const outcome of ["committed", "cancelled", "failed", "expired"]) {
      expect(value(exp, "gantry_registry_uploads_finished_total", { outcome })).toBe(0);
    }
    expect(value(exp, "process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
    expect(value(exp, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(PROMETHEUS_CONTENT_TYPE).toContain("version=0.0.4");
  });

  it("counts requests by method, route and status, and bytes in and out", () => {
    const m = createPrometheusMetrics();
    m.observeRequest("GET", "manifest_get", 200, 0.002, 0, 500);
    m.observeRequest("GET", "manifest_get", 200, 0.004, 0, 500);
    m.observeRequest("GET", "manifest_get", 404, 0.001, 0, 120);
    m.observeRequest("PUT", "blob_upload_put", 201, 0.3, 1_000_000, 0);
    m.observeRequest("BREW", "unknown", 405, 0.0001, 10, 20);
    const exp = parseExposition(m.render());
    const total = "gantry_registry_http_requests_total";
    expect(value(exp, total, { method: "GET", route: "manifest_get", status: "200" })).toBe(2);
    expect(value(exp, total, { method: "GET", route: "manifest_get", status: "404" })).toBe(1);
    expect(value(exp, total, { method: "PUT", route: "blob_upload_put", status: "201" })).toBe(1);
    expect(value(exp, total, { method: "OTHER", route: "unknown", status: "405" })).toBe(1);
    expect(value(exp, "gantry_registry_bytes_received_total")).toBe(1_000_010);
    expect(value(exp, "gantry_registry_bytes_sent_total")).toBe(1_140);
  });

  it("writes cumulative histogram buckets that end in +Inf = count, with the sum", () => {
    const m = createPrometheusMetrics();
    const observations = [0.0001, 0.002, 0.002, 0.07, 1.5, 100];
    for (const s of observations) m.observeRequest("GET", "blob_get", 200, s, 0, 0);
    const exp = parseExposition(m.render());
    const name = "gantry_registry_http_request_duration_seconds";
    const buckets = find(exp, `${name}_bucket`, { method: "GET", route: "blob_get" });
    expect(buckets.map((b) => b.labels.le)).toEqual([...DURATION_BUCKETS.map(String), "+Inf"]);
    for (let i = 0; i < buckets.length; i++) {
      const le = i < DURATION_BUCKETS.length ? DURATION_BUCKETS[i]! : Infinity;
      expect(buckets[i]!.value).toBe(observations.filter((o) => o <= le).length);
    }
    expect(value(exp, `${name}_count`, { route: "blob_get" })).toBe(observations.length);
    expect(value(exp, `${name}_sum`, { route: "blob_get" })).toBeCloseTo(
      observations.reduce((a, b) => a + b, 0),
      9,
    );
  });

  it("tracks upload sessions", () => {
    const m = createPrometheusMetrics();
    for (let i = 0; i < 5; i++) m.uploadStarted();
    m.uploadFinished("committed");
    m.uploadFinished("committed");
    m.uploadFinished("cancelled");
    m.uploadFinished("expired");
    const exp = parseExposition(m.render());
    expect(value(exp, "gantry_registry_uploads_started_total")).toBe(5);
    expect(value(exp, "gantry_registry_uploads_finished_total", { outcome: "committed" })).toBe(2);
    expect(value(exp, "gantry_registry_uploads_finished_total", { outcome: "cancelled" })).toBe(1);
    expect(value(exp, "gantry_registry_uploads_finished_total", { outcome: "failed" })).toBe(0);
    expect(value(exp, "gantry_registry_uploads_in_progress")).toBe(1);
    expect(m.uploadsInProgress).toBe(1);
  });

  it("escapes label values", () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const m = createPrometheusMetrics();
    m.observeRequest("GET", 'we"ird\\route\n', 200, 0.01, 0, 0);
    const exp = parseExposition(m.render());
    expect(value(exp, "gantry_registry_http_requests_total", { route: 'we"ird\\route\n' })).toBe(1);
  });
});
