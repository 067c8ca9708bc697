/** The server's calls into RegistryMetrics (the Prometheus implementation is tested by its owner). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegistryMetrics } from "../src/registry/metrics-types.js";
import { pushBlob, type StartedRegistry, sha256, startRegistry } from "./helpers/registry.js";

const calls = {
  requests: [] as Array<{ method: string; route: string; status: number; bytesIn: number; bytesOut: number }>,
  started: 0,
  finished: [] as string[],
};
const recorder: RegistryMetrics = {
  observeRequest(method, route, status, seconds, bytesIn, bytesOut) {
    expect(seconds).toBeGreaterThanOrEqual(0);
    calls.requests.push({ method, route, status, bytesIn, bytesOut });
  },
  uploadStarted() {
    calls.started++;
  },
  uploadFinished(outcome) {
    calls.finished.push(outcome);
  },
  render() {
    return "# recorder\n";
  },
};

let reg: StartedRegistry;
beforeAll(async () => {
  reg = await startRegistry({ metrics: recorder });
});
afterAll(async () => {
  await reg.dispose();
});

describe("metrics hooks", () => {
  it("observes every request with its route name, status and byte counts", async () => {
    calls.requests.length = 0;
    const d = await pushBlob(reg.url, "h/app", "0123456789");
    await (await fetch(`${reg.url}/v2/h/app/blobs/${d}`)).text();
    await fetch(`${reg.url}/v2/h/app/blobs/${sha256("x")}`, { method: "HEAD" });
    await (await fetch(`${reg.url}/nope`)).text();
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.requests).toEqual([
      { method: "POST", route: "upload_start", status: 201, bytesIn: 10, bytesOut: 0 },
      { method: "GET", route: "blob_get", status: 200, bytesIn: 0, bytesOut: 10 },
      { method: "HEAD", route: "blob_head", status: 404, bytesIn: 0, bytesOut: 0 },
      expect.objectContaining({ method: "GET", route: "unmatched", status: 404 }),
    ]);
  });

  it("reports upload starts and outcomes", async () => {
    calls.started = 0;
    calls.finished.length = 0;
    const post = async () =>
      (await fetch(`${reg.url}/v2/h/up/blobs/uploads/`, { method: "POST" })).headers.get("location")!;
    const a = await post();
    await fetch(`${reg.url}${a}?digest=${sha256("abc")}`, { method: "PUT", body: "abc" });
    const b = await post();
    await fetch(`${reg.url}${b}`, { method: "DELETE" });
    const c = await post();
    await fetch(`${reg.url}${c}?digest=${sha256("other")}`, { method: "PUT", body: "abc" });
    expect(calls.started).toBe(3);
    expect(calls.finished).toEqual(["committed", "cancelled", "failed"]);
  });

  it("serves render() on /metrics as Prometheus text", async () => {
    const res = await fetch(`${reg.url}/metrics`);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await res.text()).toBe("# recorder\n");
  });
});
