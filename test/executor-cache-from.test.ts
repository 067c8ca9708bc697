/**
 * `RUN --mount=type=cache,from=…,source=…` through bin/gantry with real runc (`npm test` builds first): a
 * new cache starts as a copy of that directory of the stage; an existing cache keeps what runs left in it.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUSYBOX_REF, haveBusybox, isRoot } from "./helpers/busybox-image.js";
import { type CliBuildDir, cliBuildDir } from "./helpers/cli-build.js";

let work: CliBuildDir;
const build = async (dockerfile: string) => (await work.build(dockerfile)).out;

beforeAll(async () => {
  work = await cliBuildDir("cachefrom", { busybox: true });
}, 120_000);

afterAll(async () => {
  await work.dispose();
});

describe.runIf(haveBusybox && isRoot)("cache mount from=", () => {
  const seedStage = `FROM ${BUSYBOX_REF} AS seed\nRUN mkdir -p /seed/deep && echo seeded > /seed/deep/file\n`;

  it("a new cache starts with the stage's source directory", async () => {
    const out = await build(
      `${seedStage}FROM ${BUSYBOX_REF}\nRUN --mount=type=cache,id=fromtest,target=/c,from=seed,source=/seed cat /c/deep/file > /out && echo more >> /c/deep/file\n`,
    );
    expect(await readFile(join(out, "out"), "utf8")).toBe("seeded\n");
  });

  it("an existing cache keeps its contents (it is not seeded again)", async () => {
    const out = await build(
      `${seedStage}FROM ${BUSYBOX_REF}\nRUN --mount=type=cache,id=fromtest,target=/c,from=seed,source=/seed cat /c/deep/file > /again\n`,
    );
    expect(await readFile(join(out, "again"), "utf8")).toBe("seeded\nmore\n");
  });

  it("a source that is not a directory is a clear error", async () => {
    const failed = await build(
      `${seedStage}FROM ${BUSYBOX_REF}\nRUN --mount=type=cache,id=fromtest2,target=/c,from=seed,source=/seed/deep/file true\n`,
    ).catch((error: { code?: number; stderr?: string }) => error);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toContain("is not a directory in the source");
  });
});
