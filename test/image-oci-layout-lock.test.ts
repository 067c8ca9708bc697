/**
 * index.json's lock is fair across processes (needs `npm run build`: the busy writer runs from dist/): a
 * process that rewrites the index back to back — a registry under pushes — must still let another process
 * (a `gantry registry gc`, a `gantry build -t`) take the lock well within its wait limit.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OciLayoutIndex } from "../src/image/oci-layout.js";
import { REPO_ROOT } from "./helpers/busybox-image.js";
import { makeTempDir } from "./helpers/image-fixtures.js";

const BUILT = join(REPO_ROOT, "dist", "src", "image", "oci-layout.js");

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, cleanup } = await makeTempDir("gantry-layout-lock-"));
});
afterEach(() => cleanup());

describe.skipIf(!existsSync(BUILT))("index.json lock", () => {
  it("is not starved by another process rewriting back to back", async () => {
    // The busy writer: 3 s of rewrites requested as fast as they can be, each holding the lock ~20 ms.
    const script = `
      const { OciLayoutIndex } = await import(${JSON.stringify(BUILT)});
      const index = new OciLayoutIndex(process.argv[1], async () => {
        await new Promise((r) => setTimeout(r, 20));
        return [];
      });
      const end = Date.now() + 3000;
      process.stdout.write("started\\n");
      while (Date.now() < end) await Promise.all([index.update(), index.update()]);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, root], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    await new Promise((resolve) => child.stdout!.once("data", resolve));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const mine = new OciLayoutIndex(root, async () => [], { timeoutMs: 1500 });
    await mine.update();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(JSON.parse(await readFile(join(root, "index.json"), "utf8")).manifests).toEqual([]);
    await exited;
  });
});
