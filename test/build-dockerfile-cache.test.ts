/**
 * The parsed-Dockerfile cache of the build: a second load of the same bytes comes from the data root (the
 * entry is used even when the parser would now say otherwise, proving it was not re-parsed), other bytes
 * are parsed again, a torn entry is ignored, and parse errors keep their location.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadDockerfile } from "../src/build/dockerfile-cache.js";
import { GantryError } from "../src/errors.js";
import { makeTempDir } from "./helpers/image-fixtures.js";

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: root, cleanup } = await makeTempDir("gantry-ast-cache-"));
});
afterEach(() => cleanup());

const cacheDir = () => join(root, "cache", "dockerfiles");

describe("loadDockerfile", () => {
  it("parses once and reads the stored AST afterwards", async () => {
    const text = Buffer.from("FROM busybox\nRUN echo hi\n");
    const first = await loadDockerfile(root, text, "Dockerfile");
    expect(first.ast.stages[0]!.instructions[0]!.kind).toBe("Run");
    const [entry] = await readdir(cacheDir());
    // Tamper with the stored entry: a second load must return it as is.
    const stored = JSON.parse(await readFile(join(cacheDir(), entry!), "utf8"));
    stored.lines = ["FROM busybox", "RUN echo from-the-cache"];
    await writeFile(join(cacheDir(), entry!), JSON.stringify(stored));
    const second = await loadDockerfile(root, text, "Dockerfile");
    expect(second.lines[1]).toBe("RUN echo from-the-cache");
    // Other bytes or another file name are parsed on their own.
    const other = await loadDockerfile(root, Buffer.from("FROM busybox\nRUN echo other\n"), "Dockerfile");
    expect(other.lines[1]).toBe("RUN echo other");
    await loadDockerfile(root, text, "other.Dockerfile");
    expect((await readdir(cacheDir())).length).toBe(3);
  });

  it("ignores a torn entry and still reports parse errors with their location", async () => {
    const text = Buffer.from("FROM busybox\nRUN echo hi\n");
    await loadDockerfile(root, text, "Dockerfile");
    const [entry] = await readdir(cacheDir());
    await writeFile(join(cacheDir(), entry!), "{ torn");
    expect((await loadDockerfile(root, text, "Dockerfile")).lines).toEqual(["FROM busybox", "RUN echo hi"]);
    const bad = loadDockerfile(root, Buffer.from("FROM busybox\nFROBNICATE x\n"), "bad.Dockerfile");
    await expect(bad).rejects.toBeInstanceOf(GantryError);
    await expect(bad).rejects.toMatchObject({ location: { file: "bad.Dockerfile", line: 2 } });
  });
});
