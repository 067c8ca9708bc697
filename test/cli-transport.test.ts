/**
 * The transfer commands end to end through bin/gantry (build first): login/logout against an htpasswd
 * Distribution with DOCKER_CONFIG in a temp dir, push/pull with the stored credentials, images/tag/rm/
 * inspect, and the archive transports: a Docker archive whose manifest.json and layer digests are checked
 * and which skopeo reads (`docker-archive:` → `oci:`), and OCI layout dir/tar round trips.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractArchive } from "../src/image/archive/tar-dir.js";
import { type ImportedBusybox, importBusybox } from "./helpers/busybox-image.js";
import { type Distribution, haveDistribution, startDistribution } from "./helpers/distribution.js";

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, "..");
const GANTRY = join(REPO, "bin", "gantry");
const BUILT = existsSync(join(REPO, "dist", "src", "cli", "commands", "transport.js"));

let work: string;
let root: string;
let busybox: ImportedBusybox;
let registry: Distribution;

const gantry = (args: string[], options: { input?: string; root?: string } = {}) =>
  new Promise<{ stdout: string; stderr: string; code: number }>((done) => {
    const child = execFile(
      process.execPath,
      [GANTRY, "--root", options.root ?? root, ...args],
      { env: { ...process.env, DOCKER_CONFIG: join(work, "docker") }, timeout: 60_000 },
      (error, stdout, stderr) =>
        done({ stdout, stderr, code: error ? ((error as { code?: number }).code ?? 1) : 0 }),
    );
    child.stdin!.end(options.input ?? "");
  });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "gantry-cli-transport-"));
  root = join(work, "root");
  busybox = await importBusybox(root);
  if (haveDistribution) registry = await startDistribution({ users: { bob: "builder" } });
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

describe.skipIf(!BUILT || !haveDistribution)("gantry login / push / pull", () => {
  it("logs in, pushes and pulls with the stored credentials, logs out", async () => {
    const bad = await gantry(["login", "-u", "bob", "--password-stdin", registry.host], { input: "wrong\n" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: .*401/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);

    const login = await gantry(["login", "-u", "bob", "--password-stdin", registry.host], {
      input: "builder\n",
    });
    expect(login.stdout).toContain("Login Succeeded");
    const config = JSON.parse(await readFile(join(work, "docker", "config.json"), "utf8"));
    expect(Buffer.from(config.auths[registry.host].auth, "base64").toString()).toBe("bob:builder");

    const push = await gantry(["push", "gantry/busybox:latest", `${registry.host}/bob/busybox:1`]);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout.trim()).toBe(busybox.manifest.digest);
    expect(push.stderr).toMatch(/done|already exists/); // plain progress lines (not a TTY)

    const pulled = await gantry(["pull", "--format", "json", `${registry.host}/bob/busybox:1`], {
      root: join(work, "pulled"),
    });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(JSON.parse(pulled.stdout)).toMatchObject({
      repository: "bob/busybox",
      tag: "1",
      digest: busybox.manifest.digest,
    });

    const logout = await gantry(["logout", registry.host]);
    expect(logout.stdout).toContain("Removing login credentials");
    const denied = await gantry(["pull", `${registry.host}/bob/busybox:1`], { root: join(work, "pulled2") });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("gantry login");
  });
});

describe.skipIf(!BUILT)("local images", () => {
  it("tags, lists, inspects and removes", async () => {
    expect((await gantry(["tag", "gantry/busybox:latest", "team/app:2"])).code).toBe(0);
    const images = JSON.parse((await gantry(["images", "--format", "json"])).stdout) as Array<
      Record<string, unknown>
    >;
    const names = images.map((i) => `${i.repository}:${i.tag}`);
    expect(names).toEqual(expect.arrayContaining(["gantry/busybox:latest", "team/app:2"]));
    const row = images.find((i) => i.repository === "team/app")!;
    expect(row.digest).toBe(busybox.manifest.digest);
    expect(row.created).toBe("2023-11-14T22:13:20Z");
    const table = (await gantry(["images"])).stdout;
    expect(table.split("\n")[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+SIZE\s+CREATED$/);

    const inspect = JSON.parse((await gantry(["inspect", "--format", "json", "team/app:2"])).stdout);
    expect(inspect.digest).toBe(busybox.manifest.digest);
    expect(inspect.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(inspect.size).toBe(busybox.manifest.size);
    expect(inspect.manifest.layers[0].digest).toBe(busybox.layer.digest);
    expect(inspect.config.rootfs.diff_ids).toEqual([busybox.layer.diffId]);
    // images' SIZE is manifest + config + layers.
    expect(row.size).toBe(busybox.manifest.size + inspect.manifest.config.size + busybox.layer.size);

    expect((await gantry(["rm", "team/app:2"])).stdout).toContain("untagged: team/app:2");
    const missing = await gantry(["inspect", "team/app:2"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("gantry images");
  });
});

describe.skipIf(!BUILT)("archives", () => {
  it("writes a Docker archive docker load accepts, which skopeo reads", async () => {
    const file = join(work, "busybox-docker.tar");
    const copy = await gantry(["copy", "gantry/busybox:latest", `docker-archive:${file}:busybox:saved`]);
    expect(copy.code, copy.stderr).toBe(0);
    const dir = join(work, "docker-unpacked");
    await extractArchive(file, dir);
    const [entry] = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    expect(entry.RepoTags).toEqual(["busybox:saved"]);
    const configBytes = await readFile(join(dir, entry.Config));
    expect(`sha256:${createHash("sha256").update(configBytes).digest("hex")}`).toBe(
      `sha256:${entry.Config.replace(".json", "")}`,
    );
    const config = JSON.parse(configBytes.toString());
    expect(entry.Layers).toHaveLength(1);
    const layerTar = await readFile(join(dir, entry.Layers[0]));
    expect(`sha256:${createHash("sha256").update(layerTar).digest("hex")}`).toBe(config.rootfs.diff_ids[0]);
    expect(config.rootfs.diff_ids[0]).toBe(busybox.layer.diffId);

    const ociDir = join(work, "from-docker-archive");
    await run("skopeo", ["copy", `docker-archive:${file}`, `oci:${ociDir}:x`]);
    const { stdout } = await run("skopeo", ["inspect", "--config", `oci:${ociDir}:x`]);
    expect(JSON.parse(stdout).rootfs.diff_ids).toEqual([busybox.layer.diffId]);

    // And back: a Docker archive as source keeps the config, so the image ID is the same.
    const back = await gantry([
      "copy",
      "--format",
      "json",
      `docker-archive:${file}:busybox:saved`,
      "restored:1",
    ]);
    expect(back.code, back.stderr).toBe(0);
    const restored = JSON.parse((await gantry(["inspect", "--format", "json", "restored:1"])).stdout);
    expect(restored.manifest.config.digest).toBe(`sha256:${entry.Config.replace(".json", "")}`);
  });

  it("round-trips OCI layout directories and tars with the same digests", async () => {
    const dir = join(work, "layout");
    expect((await gantry(["copy", "gantry/busybox:latest", `oci:${dir}:bb`])).code).toBe(0);
    const viaSkopeo = JSON.parse((await run("skopeo", ["inspect", `oci:${dir}:bb`])).stdout);
    expect(viaSkopeo.Digest).toBe(busybox.manifest.digest);
    const tar = join(work, "layout.tar");
    expect((await gantry(["copy", `oci:${dir}:bb`, `oci-archive:${tar}:bb`])).code).toBe(0);
    const fromTar = JSON.parse((await run("skopeo", ["inspect", `oci-archive:${tar}:bb`])).stdout);
    expect(fromTar.Digest).toBe(busybox.manifest.digest);
    const back = await gantry(["copy", "--format", "json", `oci-archive:${tar}:bb`, "roundtrip:1"]);
    expect(JSON.parse(back.stdout).digest).toBe(busybox.manifest.digest);
  });

  it("rejects unknown transports with a hint", async () => {
    const result = await gantry(["copy", "dir:/tmp/x", "a:1"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("unsupported transport");
    expect(result.stderr).toContain("docker://");
  });
});
