/**
 * RecordWrites (executor/record-writes.ts), the solver's background cache-record writes, over a real
 * CacheRecordStore: the caller goes on before the write lands, writes of one key land in order, records
 * of the build are found before they are on disk, and `flushed` waits for all and reports a failure.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CacheKey } from "../src/cache/key.js";
import { type CacheRecord, CacheRecordStore } from "../src/cache/records.js";
import { RecordWrites } from "../src/executor/record-writes.js";

let dir: string;
let store: CacheRecordStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gantry-record-writes-"));
  store = await CacheRecordStore.open(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key = (n: number) => `sha256:${String(n).padStart(64, "0")}` as CacheKey;

function record(n: number, name: string): CacheRecord {
  return {
    key: key(n),
    inputs: { kind: "mkdir", parent: key(0), path: `/${name}`, user: "" },
    layer: null,
    name,
    identity: `Dockerfile#/stage/${n}`,
    createdAt: "2026-01-01T00:00:00.000Z",
  };
}

describe("RecordWrites", () => {
  it("returns before the write lands, keeps one key's writes in order and finds pending records", async () => {
    const slow: CacheRecordStore["put"] = async (r) => {
      // The first version is slow to write: the second must still land after it.
      if (r.name === "first") await new Promise((resolve) => setTimeout(resolve, 50));
      await store.put(r);
    };
    const writes = new RecordWrites({ put: slow, setLastKey: (id, k) => store.setLastKey(id, k) });
    writes.put(record(1, "first"));
    writes.put(record(1, "second"));
    writes.setLastKey("Dockerfile#/stage/1", key(1));
    expect(await store.get(key(1))).toBeUndefined();
    expect(writes.get(key(1))?.name).toBe("second");
    await writes.flushed();
    expect((await store.get(key(1)))?.name).toBe("second");
    expect(await store.lastKeyFor("Dockerfile#/stage/1")).toBe(key(1));
  });

  it("flushed waits for every write and throws the failure", async () => {
    const failing = new RecordWrites({
      put: async (r) => {
        if (r.name === "broken") throw new Error("disk full");
        await store.put(r);
      },
      setLastKey: (id, k) => store.setLastKey(id, k),
    });
    failing.put(record(2, "broken"));
    failing.put(record(3, "fine"));
    await expect(failing.flushed()).rejects.toThrow("disk full");
    expect((await store.get(key(3)))?.name).toBe("fine");
  });
});
