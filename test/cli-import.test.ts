/**
 * `gantry import` end to end (needs `npx tsc -p tsconfig.build.json` first): the busybox root filesystem
 * from scripts/make-busybox-rootfs.sh is imported into a fresh data root, then read with the real tools,
 * skopeo (`oci:ROOT:REF`) and umoci (`unpack --image ROOT:REF`), and finally run with runc.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyChanges, parsePlatform } from "../src/cli/commands/import.js";
import { parseImageReference } from "../src/image/reference.js";

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, "..");
const GANTRY = join(REPO, "bin", "gantry");
const BUILT = existsSync(join(REPO, "dist", "src", "cli", "commands", "import.js"));

async function have(tool: string, ...args: string[]): Promise<boolean> {
  try {
    await run(tool, args.length > 0 ? args : ["--version"]);
    return true;
  } catch {
    return false;
  }
}
const haveBusybox = existsSync("/bin/busybox");
const haveSkopeo = await have("skopeo");
const haveUmoci = await have("umoci");
const haveRunc = await have("runc");
const isRoot = process.getuid?.() === 0;

let work: string;
let rootfs: string;
let dataRoot: string;
const gantry = (...args: string[]) =>
  run(process.execPath, [GANTRY, "--root", dataRoot, ...args], {
    timeout: 120_000,
    env: { ...process.env, SOURCE_DATE_EPOCH: "1700000000" },
  });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "gantry-import-"));
  rootfs = join(work, "rootfs");
  dataRoot = join(work, "root");
  if (haveBusybox) await run(join(REPO, "scripts", "make-busybox-rootfs.sh"), [rootfs]);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("image references", () => {
  it.each([
    ["busybox", "docker.io", "library/busybox", "latest"],
    ["busybox:1", "docker.io", "library/busybox", "1"],
    ["docker.io/busybox:1.36", "docker.io", "library/busybox", "1.36"],
    ["index.docker.io/team/app", "docker.io", "team/app", "latest"],
    ["team/app:v2", "docker.io", "team/app", "v2"],
    ["localhost/gantry/busybox:latest", "localhost", "gantry/busybox", "latest"],
    ["localhost:5000/app", "localhost:5000", "app", "latest"],
    ["127.0.0.1:5000/a/b/c:x.y", "127.0.0.1:5000", "a/b/c", "x.y"],
    ["ghcr.io/owner/img:tag", "ghcr.io", "owner/img", "tag"],
  ])("%s → %s / %s : %s", (ref, domain, repository, tag) => {
    expect(parseImageReference(ref)).toMatchObject({ domain, repository, tag });
  });

  it("keeps digests and rejects invalid names", () => {
    const digest = `sha256:${"a".repeat(64)}`;
    expect(parseImageReference(`busybox@${digest}`)).toEqual({
      domain: "docker.io",
      explicitDomain: false,
      repository: "library/busybox",
      digest,
    });
    for (const bad of ["Busybox", "a//b", "localhost/", "app:-x", `app@sha256:${"z".repeat(64)}`]) {
      expect(() => parseImageReference(bad), bad).toThrow();
    }
  });
});

describe("--change", () => {
  it("applies CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME, STOPSIGNAL in order", () => {
    const config = applyChanges({}, [
      'CMD ["sh", "-c", "echo hi"]',
      "ENTRYPOINT /bin/init --verbose",
      'ENV A=1 B="two words" C=x\\ y',
      "ENV A=3",
      "env LEGACY some value",
      "WORKDIR /srv",
      "USER demo:demo",
      'LABEL a=b "c d"=e',
      "EXPOSE 80 53/udp",
      'VOLUME ["/data"]',
      "STOPSIGNAL SIGTERM",
    ]);
    expect(config).toEqual({
      Cmd: ["sh", "-c", "echo hi"],
      Entrypoint: ["/bin/sh", "-c", "/bin/init --verbose"],
      Env: ["A=3", "B=two words", "C=x y", "LEGACY=some value"],
      WorkingDir: "/srv",
      User: "demo:demo",
      Labels: { a: "b", "c d": "e" },
      ExposedPorts: { "80/tcp": {}, "53/udp": {} },
      Volumes: { "/data": {} },
      StopSignal: "SIGTERM",
    });
  });

  it("rejects what it does not understand", () => {
    for (const bad of ["RUN x", "CMD", 'CMD ["a", 1]', "EXPOSE 99999", "LABEL novalue", 'ENV A="open']) {
      expect(() => applyChanges({}, [bad]), bad).toThrow(/invalid --change/);
    }
    expect(parsePlatform("linux/arm64/v8")).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(() => parsePlatform("linux")).toThrow(/--platform/);
  });
});

describe.skipIf(!BUILT || !haveBusybox)("gantry import", () => {
  let imported: {
    digest: string;
    mediaType: string;
    size: number;
    repository: string;
    tag: string;
    layers: Array<{ digest: string; size: number; diffId: string }>;
  };

  beforeAll(async () => {
    const { stdout } = await gantry(
      "import",
      rootfs,
      "localhost/gantry/busybox:latest",
      "--change",
      'CMD ["sh"]',
      "--change",
      "ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/root",
      "--change",
      "WORKDIR /home/demo",
      "--change",
      "LABEL org.example.demo=yes",
      "--change",
      "EXPOSE 8080",
      "--format",
      "json",
    );
    imported = JSON.parse(stdout);
  });

  it("prints the manifest digest, size, repository (host dropped) and the layer", async () => {
    expect(imported).toMatchObject({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      repository: "gantry/busybox",
      tag: "latest",
    });
    expect(imported.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const manifest = await readFile(join(dataRoot, "blobs", "sha256", imported.digest.slice(7)));
    expect(manifest.byteLength).toBe(imported.size);
    expect(JSON.parse(manifest.toString()).layers[0].digest).toBe(imported.layers[0]?.digest);
    const index = JSON.parse(await readFile(join(dataRoot, "index.json"), "utf8"));
    expect(index.manifests).toContainEqual(
      expect.objectContaining({
        digest: imported.digest,
        annotations: { "org.opencontainers.image.ref.name": "gantry/busybox:latest" },
      }),
    );
  });

  it("is reproducible under SOURCE_DATE_EPOCH, and `busybox:1` lands in library/busybox", async () => {
    const { stdout } = await gantry(
      "import",
      rootfs,
      "busybox:1",
      "--change",
      'CMD ["sh"]',
      "--change",
      "ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/root",
      "--change",
      "WORKDIR /home/demo",
      "--change",
      "LABEL org.example.demo=yes",
      "--change",
      "EXPOSE 8080",
      "--format",
      "json",
    );
    const again = JSON.parse(stdout);
    expect(again).toMatchObject({ repository: "library/busybox", tag: "1", digest: imported.digest });
    const text = await gantry("import", rootfs, "busybox:2");
    expect(text.stdout.split("\n")[0]).not.toBe(imported.digest); // no --change: another config
    expect(text.stdout).toMatch(/^sha256:[0-9a-f]{64}\n\s+size\s+\d+\n/);
  });

  it("rejects bad input with a message and a non-zero exit", async () => {
    await expect(gantry("import", rootfs, "Not/Valid:tag")).rejects.toMatchObject({ code: 1 });
    await expect(gantry("import", rootfs, "x:1", "--change", "FROBNICATE x")).rejects.toMatchObject({
      code: 2,
    });
    await expect(gantry("import", join(work, "missing"), "x:1")).rejects.toMatchObject({ code: 1 });
  });

  it.skipIf(!haveSkopeo)("skopeo reads the config (Cmd, Env, WorkingDir, Labels, ports)", async () => {
    const { stdout } = await run("skopeo", ["inspect", "--config", `oci:${dataRoot}:gantry/busybox:latest`]);
    const config = JSON.parse(stdout);
    expect(config).toMatchObject({
      architecture: expect.any(String),
      os: "linux",
      created: "2023-11-14T22:13:20Z",
      config: {
        Cmd: ["sh"],
        Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root"],
        WorkingDir: "/home/demo",
        Labels: { "org.example.demo": "yes" },
        ExposedPorts: { "8080/tcp": {} },
      },
      rootfs: { type: "layers", diff_ids: [imported.layers[0]?.diffId] },
    });
    const inspect = JSON.parse(
      (await run("skopeo", ["inspect", `oci:${dataRoot}:library/busybox:1`])).stdout,
    );
    expect(inspect.Digest).toBe(imported.digest);
    expect(inspect.Layers).toEqual([imported.layers[0]?.digest]);
  });

  describe.skipIf(!haveUmoci || !isRoot)("unpacked with umoci", () => {
    let bundle: string;
    beforeAll(async () => {
      bundle = join(work, "bundle");
      await run("umoci", ["unpack", "--image", `${dataRoot}:gantry/busybox:latest`, bundle]);
    });

    it("has bin/busybox (0755) with bin/sh linking to it, and the demo user's home", async () => {
      const busybox = await lstat(join(bundle, "rootfs", "bin", "busybox"));
      expect(busybox.isFile()).toBe(true);
      expect(busybox.mode & 0o7777).toBe(0o755);
      expect(await readlink(join(bundle, "rootfs", "bin", "sh"))).toBe("busybox");
      expect((await lstat(join(bundle, "rootfs", "tmp"))).mode & 0o7777).toBe(0o1777);
      expect((await lstat(join(bundle, "rootfs", "home", "demo"))).uid).toBe(1000);
      expect(await readFile(join(bundle, "rootfs", "etc", "passwd"), "utf8")).toMatch(/^demo:x:1000:1000:/m);
    });

    it.skipIf(!haveRunc)("runs /bin/sh -c 'echo hi' under runc", async () => {
      const configPath = join(bundle, "config.json");
      const spec = JSON.parse(await readFile(configPath, "utf8"));
      expect(spec.process.cwd).toBe("/home/demo");
      expect(spec.process.env).toContain("PATH=/usr/local/bin:/usr/bin:/bin");
      spec.process.args = ["/bin/sh", "-c", "echo hi; pwd"];
      spec.process.terminal = false;
      await writeFile(configPath, JSON.stringify(spec));
      const id = `gantry-import-test-${process.pid}`;
      try {
        const { stdout } = await run("runc", ["run", "--bundle", bundle, id], { timeout: 60_000 });
        expect(stdout).toBe("hi\n/home/demo\n");
      } finally {
        await run("runc", ["delete", "--force", id]).catch(() => {});
      }
    });
  });
});
