/**
 * `gantry build` outputs and flags end to end (needs `npm run build`): `--push` to Gantry's embedded registry
 * read back by skopeo, `--output type=oci|docker|local`, `--iidfile`, `--metadata-file`, `--label`,
 * `--build-arg`, `--target`, `--no-cache`, and usage errors with exit code 2.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveBusybox, importBusybox, isRoot, REPO_ROOT } from "./helpers/busybox-image.js";
import { type SpawnedRegistry, spawnRegistry } from "./helpers/registry.js";

const run = promisify(execFile);
const GANTRY = join(REPO_ROOT, "bin", "gantry");
const enabled = haveBusybox && isRoot;

let work: string;
let dataRoot: string;
let context: string;
let registry: SpawnedRegistry | undefined;

async function gantry(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [GANTRY, "--root", dataRoot, ...args], {
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const DOCKERFILE = `ARG BASE=localhost/gantry/busybox:latest
FROM \${BASE} AS tools
ARG FLAVOUR=plain
RUN echo "$FLAVOUR" > /flavour.txt

FROM \${BASE}
COPY --from=tools /flavour.txt /etc/flavour.txt
COPY hello.txt /hello.txt
CMD ["cat", "/etc/flavour.txt"]
`;

beforeAll(async () => {
  if (!enabled) return;
  work = await mkdtemp(join(tmpdir(), "gantry-build-outputs-"));
  dataRoot = join(work, "root");
  context = join(work, "ctx");
  await mkdir(context);
  await writeFile(join(context, "Dockerfile"), DOCKERFILE);
  await writeFile(join(context, "hello.txt"), "hello\n");
  await importBusybox(dataRoot);
  registry = await spawnRegistry({ root: dataRoot });
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.skipIf(!enabled)("gantry build outputs", () => {
  it("pushes every registry tag with --push, and skopeo reads the same digest", async () => {
    const host = new URL(registry!.url).host;
    const iid = join(work, "iid");
    const meta = join(work, "meta.json");
    const result = await gantry(
      "build",
      context,
      "-t",
      `${host}/team/app:1`,
      "--push",
      "--progress",
      "plain",
      "--iidfile",
      iid,
      "--metadata-file",
      meta,
      "--label",
      "org.example.built-by=test",
      "--build-arg",
      "FLAVOUR=spicy",
    );
    expect(result.stderr).toContain("pushing image");
    expect(result.code).toBe(0);
    const digest = (await readFile(iid, "utf8")).trim();
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.parse(await readFile(meta, "utf8"))["containerimage.digest"]).toBe(digest);
    const { stdout } = await run("skopeo", ["inspect", "--tls-verify=false", `docker://${host}/team/app:1`]);
    const inspected = JSON.parse(stdout);
    expect(inspected.Digest).toBe(digest);
    expect(inspected.Labels).toEqual({ "org.example.built-by": "test" });
    const raw = JSON.parse(
      (await run("skopeo", ["inspect", "--config", "--tls-verify=false", `docker://${host}/team/app:1`]))
        .stdout,
    );
    expect(raw.config.Cmd).toEqual(["cat", "/etc/flavour.txt"]);
  });

  it("writes OCI and Docker archives and a local directory", async () => {
    const oci = join(work, "image.oci.tar");
    const docker = join(work, "image.docker.tar");
    const local = join(work, "fs");
    const layout = join(work, "layout");
    const result = await gantry(
      "build",
      context,
      "-q",
      "--build-arg",
      "FLAVOUR=mild",
      "-o",
      `type=oci,dest=${oci}`,
      "-o",
      `type=docker,dest=${docker},name=example/app:2`,
      "-o",
      `type=local,dest=${local}`,
      "-o",
      `type=oci,tar=false,dest=${layout},name=example/app:3`,
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const digest = result.stdout.trim();
    const fromOci = JSON.parse((await run("skopeo", ["inspect", `oci-archive:${oci}`])).stdout);
    expect(fromOci.Digest).toBe(digest);
    const fromLayout = JSON.parse((await run("skopeo", ["inspect", `oci:${layout}:example/app:3`])).stdout);
    expect(fromLayout.Digest).toBe(digest);
    const fromDocker = JSON.parse((await run("skopeo", ["inspect", `docker-archive:${docker}`])).stdout);
    expect(fromDocker.Layers.length).toBe(fromOci.Layers.length);
    const listing = (await run("tar", ["-tf", docker])).stdout.split("\n");
    expect(listing).toContain("manifest.json");
    expect(await readFile(join(local, "etc", "flavour.txt"), "utf8")).toBe("mild\n");
    expect(await readFile(join(local, "hello.txt"), "utf8")).toBe("hello\n");
  });

  it("builds only what --target needs, and --no-cache reruns everything", async () => {
    const target = await gantry(
      "build",
      context,
      "--target",
      "tools",
      "--progress",
      "plain",
      "-t",
      "team/tools:1",
    );
    expect(target.code).toBe(0);
    expect(target.stderr).toMatch(/\[tools \d\/\d\] RUN/);
    expect(target.stderr).not.toContain("COPY hello.txt");
    const again = await gantry(
      "build",
      context,
      "--target",
      "tools",
      "--progress",
      "plain",
      "--no-cache",
      "-t",
      "team/tools:1",
    );
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain("CACHED");
    expect(again.stderr).toMatch(/DONE \d/);
  });

  it("rejects bad flags and references with exit code 2 and a hint", async () => {
    const badOutput = await gantry("build", context, "-o", "type=nope");
    expect(badOutput.code).toBe(2);
    expect(badOutput.stderr).toContain("unknown output type");
    const badTarget = await gantry("build", context, "--target", "tool");
    expect(badTarget.code).toBe(2);
    expect(badTarget.stderr).toContain("tools");
    const badSecret = await gantry("build", context, "--secret", "src=/nope");
    expect(badSecret.code).toBe(2);
    const missing = await gantry("build", join(work, "no-such-dir"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("Dockerfile");
  });
});
