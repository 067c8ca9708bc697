/**
 * COPY/ADD written straight from the sources into the layer (FileOps.layer, no scratch directory) gives
 * the same layers, byte for byte, as the scratch-directory path (forced with GANTRY_COPY_SCRATCH=1):
 * `gantry build` end to end (needs `npm run build` first) on a context with nested directories, relative,
 * absolute and directory symlinks, a hard link, an executable, --chown by name, --chmod, --parents,
 * --link, a heredoc, a copied-up existing directory (/tmp, /home/demo), a file replacing one below, a
 * COPY --from a stage and an ADD of a plain file; a RUN after the COPYs reads the layers unpacked from
 * their blobs. SOURCE_DATE_EPOCH clamps the times that are "now" (new directories, heredocs).
 */
import { execFile } from "node:child_process";
import { chmod, link, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveBusybox, importBusybox, isRoot, REPO_ROOT } from "./helpers/busybox-image.js";

const run = promisify(execFile);
const GANTRY = join(REPO_ROOT, "bin", "gantry");
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "gantry-fileops-layer-"));
});

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

async function makeContext(ctx: string): Promise<void> {
  await mkdir(join(ctx, "sub", "nested", "deeper"), { recursive: true });
  await mkdir(join(ctx, "empty"), { recursive: true });
  await writeFile(join(ctx, "top.txt"), "top\n");
  await writeFile(join(ctx, "sub", "a.txt"), "a\n");
  await writeFile(join(ctx, "sub", "nested", "deep.txt"), "deep\n".repeat(5000));
  await writeFile(join(ctx, "sub", "nested", "deeper", "zero"), "");
  await writeFile(join(ctx, "run.sh"), "#!/bin/sh\necho hi\n");
  await chmod(join(ctx, "run.sh"), 0o755);
  await writeFile(join(ctx, "private"), "secret\n");
  await chmod(join(ctx, "private"), 0o600);
  await writeFile(join(ctx, "hard1"), "linked\n");
  await link(join(ctx, "hard1"), join(ctx, "sub", "hard2"));
  await symlink("nested/deep.txt", join(ctx, "sub", "rel-link"));
  await symlink("/etc/passwd", join(ctx, "abs-link"));
  await symlink("sub", join(ctx, "dir-link"));
  await writeFile(join(ctx, "config"), "replaced\n");
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      "FROM gantry/busybox:latest AS base",
      "COPY . /app",
      "COPY --chown=demo --chmod=640 sub/ /home/demo/sub/",
      "COPY sub/a.txt top.txt /tmp/",
      "COPY --parents sub/nested/deep.txt /p/",
      "COPY --link --chown=1000:1000 run.sh hard1 sub/hard2 /opt/linked/",
      "COPY config /etc/config",
      "COPY <<EOF /etc/motd",
      "hello from a heredoc",
      "EOF",
      "ADD top.txt /added/",
      "RUN cat /app/sub/rel-link /home/demo/sub/a.txt /tmp/top.txt /etc/config /etc/motd | wc -c > /result",
      "FROM gantry/busybox:latest",
      "COPY --from=base /app/sub /from-stage/",
      "COPY --from=base /result /result",
      "",
    ].join("\n"),
  );
  // Fixed times on the sources (older than SOURCE_DATE_EPOCH, so they are kept as they are).
  await run("find", [ctx, "-exec", "touch", "-h", "-d", "@1500000000", "{}", "+"]);
}

interface Built {
  digest: string;
  layers: string[];
  stderr: string;
}

async function build(dataRoot: string, ctx: string, env: NodeJS.ProcessEnv): Promise<Built> {
  const meta = join(work, `meta-${Math.random().toString(36).slice(2)}.json`);
  const argv = [GANTRY, "--root", dataRoot, "build", ctx, "-t", "test/layer:1", "--metadata-file", meta];
  argv.push("--progress", "plain");
  const built = await run(process.execPath, argv, {
    timeout: 120_000,
    env: { ...process.env, SOURCE_DATE_EPOCH: "1700000000", ...env },
  });
  const digest = JSON.parse(await readFile(meta, "utf8"))["containerimage.digest"] as string;
  const blob = (d: string) => join(dataRoot, "blobs", "sha256", d.slice(7));
  const manifest = JSON.parse(await readFile(blob(digest), "utf8")) as { layers: Array<{ digest: string }> };
  return { digest, layers: manifest.layers.map((layer) => layer.digest), stderr: built.stderr };
}

describe.skipIf(!(haveBusybox && isRoot))("COPY straight into the layer", () => {
  it("gives the same layers and image as the scratch-directory path", async () => {
    const ctx = join(work, "ctx");
    await makeContext(ctx);
    const direct = join(work, "root-direct");
    const scratch = join(work, "root-scratch");
    await Promise.all([importBusybox(direct), importBusybox(scratch)]);
    const viaLayer = await build(direct, ctx, { GANTRY_COPY_SCRATCH: "" });
    const viaScratch = await build(scratch, ctx, { GANTRY_COPY_SCRATCH: "1" });
    expect(viaLayer.layers.length).toBe(3);
    expect(viaLayer.layers).toEqual(viaScratch.layers);
    expect(viaLayer.digest).toBe(viaScratch.digest);

    // The base stage's COPY layers, which the final image does not carry, match too (by cache record).
    const records = async (root: string) => {
      const { stdout } = await run("sh", ["-c", `find ${root}/blobs/sha256 -type f | sort`]);
      return stdout.split("\n").map((path) => path.slice(path.lastIndexOf("/") + 1));
    };
    expect(await records(direct)).toEqual(await records(scratch));

    // The RUN read every COPY's files (unpacked from the blobs): sizes of what it concatenated.
    const bundle = join(work, "bundle");
    await run("umoci", ["unpack", "--image", `${direct}:test/layer:1`, bundle]);
    const expected = 5 * 5000 + 2 + 4 + 9 + 21;
    expect((await readFile(join(bundle, "rootfs", "result"), "utf8")).trim()).toBe(String(expected));
  }, 120_000);
});
