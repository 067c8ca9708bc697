/**
 * The three builders the build benchmark compares, behind one `Builder` interface, and the processes they
 * need: Gantry's embedded registry serving the busybox base image (the one registry every builder pulls
 * BASE from and pushes to), a hand-started `dockerd` (own data root, exec root, pidfile and unix socket
 * in a temp dir; BuildKit through `DOCKER_BUILDKIT=1 docker build`), and `buildah bud --layers` with its
 * storage in a temp dir (overlay, else vfs; OCI isolation with the default runtime, else runc, else
 * chroot, whichever a probe build shows to work). Everything started here is stopped by pid and its temp
 * dirs unmounted and removed by `stop()`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type CommandResult, commandExists, lastLines, mustRun, runCommand, unmountUnder } from "./exec.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const GANTRY = path.join(REPO_ROOT, "bin", "gantry");
const BUILD_TIMEOUT = 300_000;

export interface BuildOptions {
  noCache?: boolean;
}

export interface Builder {
  name: "gantry" | "buildkit" | "buildah";
  /** How it runs here, for the report (CLI, storage driver, isolation). */
  setup: string;
  /** Builds `context` (its Dockerfile) as image `image` (a short name like `bench/ms`). */
  build(context: string, image: string, options?: BuildOptions): Promise<CommandResult>;
  /** Pushes the image last built as `image` to the shared registry. */
  push(image: string): Promise<CommandResult>;
  /** Forgets every image and cache entry, so the next build is cold (base image pulled again). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(child.pid!, "SIGTERM");
  const timer = setTimeout(
    () => child.pid && child.exitCode === null && process.kill(child.pid, "SIGKILL"),
    graceMs,
  );
  await exited;
  clearTimeout(timer);
}

/** Gantry's registry on a free loopback port, holding gantry/busybox:latest made from busybox-static. */
export interface BaseRegistry {
  host: string; // 127.0.0.1:PORT
  base: string; // 127.0.0.1:PORT/gantry/busybox:latest
  pid: number;
  stop(): Promise<void>;
}

export async function startBaseRegistry(): Promise<BaseRegistry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-build-registry-"));
  const root = path.join(dir, "root");
  await mustRun([
    "bash",
    path.join(REPO_ROOT, "scripts", "make-busybox-rootfs.sh"),
    path.join(dir, "rootfs"),
  ]);
  await mustRun([
    process.execPath,
    GANTRY,
    "--root",
    root,
    "import",
    path.join(dir, "rootfs"),
    "gantry/busybox:latest",
  ]);
  const child = spawn(
    process.execPath,
    [GANTRY, "--root", root, "registry", "serve", "--listen", "127.0.0.1:0", "--log-level", "warn"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("gantry registry did not start in 20 s")), 20_000);
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      const m = /^listening on http:\/\/(\S+)$/.exec(line);
      if (m) resolve(m[1]!);
      else reject(new Error(`unexpected first line from gantry registry: ${line}`));
    });
    child.once("exit", (code) => reject(new Error(`gantry registry exited (${code})`)));
  });
  child.stdout!.resume();
  return {
    host: url,
    base: `${url}/gantry/busybox:latest`,
    pid: child.pid!,
    async stop() {
      await stopChild(child, 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Gantry: a fresh process per command, data root in a temp dir (a new one on reset). */
export function gantryBuilder(registry: BaseRegistry): Builder {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-build-gantry-"));
  let generation = 0;
  let root = path.join(dir, `root-${generation}`);
  const gantry = (...args: string[]) => [process.execPath, GANTRY, "--root", root, ...args];
  return {
    name: "gantry",
    setup: "fresh `gantry` process per command, overlayfs snapshots, runc",
    build(context, image, options = {}) {
      const argv = gantry("build", context, "--build-arg", `BASE=${registry.base}`, "-t", `${image}:1`);
      argv.push("--progress", "plain");
      if (options.noCache) argv.push("--no-cache");
      return runCommand(argv, { timeoutMs: BUILD_TIMEOUT });
    },
    push(image) {
      const dest = `${registry.host}/${image}-gantry:1`;
      return runCommand(gantry("push", "--quiet", `${image}:1`, dest), { timeoutMs: BUILD_TIMEOUT });
    },
    async reset() {
      unmountUnder(root);
      rmSync(root, { recursive: true, force: true });
      root = path.join(dir, `root-${++generation}`);
    },
    async stop() {
      unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The solve time Gantry reports itself (`steps N (M cached) in X s`), for the start-up/overhead split. */
export function gantryReportedSeconds(output: string): number | undefined {
  const m = /steps\s+\d+ \(\d+ cached\) in ([\d.]+)s/.exec(output);
  return m ? Number(m[1]) : undefined;
}

/** The docker CLI that can drive BuildKit here: Debian's 20.10 (DOCKER_BUILDKIT=1) or one with buildx. */
async function dockerCli(): Promise<{ cli: string; build: string[] } | string> {
  for (const cli of ["/usr/bin/docker", "docker"]) {
    if (!cli.startsWith("/") ? !commandExists(cli) : !existsSync(cli)) continue;
    if ((await runCommand([cli, "buildx", "version"], { timeoutMs: 10_000 })).ok) {
      return { cli, build: ["buildx", "build"] };
    }
    const version = await runCommand([cli, "version", "--format", "{{.Client.Version}}"], {
      timeoutMs: 10_000,
    });
    const major = Number(/^(\d+)\./.exec(version.stdout.trim())?.[1] ?? 0);
    if (major > 0 && major < 23) return { cli, build: ["build"] }; // BuildKit built into the classic CLI
  }
  return "no docker CLI that can use BuildKit (apt-get install docker.io: scripts/install-bench-deps.sh)";
}

/** dockerd started by hand; BuildKit builds with host networking (no bridge is created on this host). */
export async function buildkitBuilder(registry: BaseRegistry): Promise<Builder | string> {
  if (!commandExists("dockerd")) return "dockerd not installed (scripts/install-bench-deps.sh)";
  const docker = await dockerCli();
  if (typeof docker === "string") return docker;
  const dir = mkdtempSync(path.join("/tmp", "bbk-")); // short: the unix socket path must fit 108 bytes
  const socket = path.join(dir, "docker.sock");
  const logFile = path.join(dir, "dockerd.log");
  mkdirSync(path.join(dir, "cli"));
  writeFileSync(path.join(dir, "cli", "config.json"), "{}\n");
  const child = spawn(
    "dockerd",
    [
      "--data-root",
      path.join(dir, "data"),
      "--exec-root",
      path.join(dir, "exec"),
      "--pidfile",
      path.join(dir, "docker.pid"),
      "-H",
      `unix://${socket}`,
      "--insecure-registry",
      registry.host,
      "--iptables=false",
      "--ip-masq=false",
      "--bridge=none",
      "--storage-driver",
      "overlay2",
    ],
    { stdio: ["ignore", openSync(logFile, "a"), openSync(logFile, "a")], detached: true },
  );
  const env = {
    ...process.env,
    DOCKER_BUILDKIT: "1",
    DOCKER_CONFIG: path.join(dir, "cli"),
    DOCKER_HOST: `unix://${socket}`,
  };
  const cli = (...args: string[]) => [docker.cli, ...args];
  const cleanup = async () => {
    await stopChild(child, 20_000);
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      const log = lastLines((await runCommand(["tail", "-n", "5", logFile])).stdout, 5);
      await cleanup();
      return `dockerd exited (${child.exitCode}): ${log}`;
    }
    if ((await runCommand(cli("version"), { env, timeoutMs: 5000 })).ok) break;
    if (Date.now() > deadline) {
      await cleanup();
      return "dockerd did not answer within 30 s";
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const dockerdVersion = (
    await runCommand(cli("version", "--format", "{{.Server.Version}}"), { env })
  ).stdout.trim();
  const tag = (image: string) => `${registry.host}/${image}-buildkit:1`;
  return {
    name: "buildkit",
    setup: `dockerd ${dockerdVersion} (overlay2), ${docker.cli} ${docker.build.join(" ")}, DOCKER_BUILDKIT=1`,
    build(context, image, options = {}) {
      const argv = cli(...docker.build, "--network", "host", "-q", "--build-arg", `BASE=${registry.base}`);
      argv.push("-t", tag(image));
      if (options.noCache) argv.push("--no-cache");
      argv.push(context);
      return runCommand(argv, { env, timeoutMs: BUILD_TIMEOUT });
    },
    push(image) {
      return runCommand(cli("push", "-q", tag(image)), { env, timeoutMs: BUILD_TIMEOUT });
    },
    async reset() {
      await mustRun(cli("system", "prune", "-af"), { env, timeoutMs: 120_000 });
      await mustRun(cli("builder", "prune", "-af"), { env, timeoutMs: 120_000 });
    },
    stop: cleanup,
  };
}

/** buildah with its storage in a temp dir; the first driver/isolation combination that builds wins. */
export async function buildahBuilder(registry: BaseRegistry): Promise<Builder | string> {
  if (!commandExists("buildah")) return "buildah not installed (scripts/install-bench-deps.sh)";
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-build-buildah-"));
  const probe = path.join(dir, "probe");
  mkdirSync(probe);
  writeFileSync(
    path.join(probe, "Dockerfile"),
    ["ARG BASE", "FROM $BASE", "RUN echo probe > /probe", ""].join("\n"),
  );
  const attempts: Array<{ driver: string; run: string[] }> = [];
  for (const driver of ["overlay", "vfs"]) {
    attempts.push({ driver, run: [] }, { driver, run: ["--runtime", "runc"] });
    attempts.push({ driver, run: ["--isolation", "chroot"] });
  }
  let generation = 0;
  const storage = (driver: string) => [
    "--root",
    path.join(dir, `root-${generation}`),
    "--runroot",
    path.join(dir, `run-${generation}`),
    "--storage-driver",
    driver,
  ];
  const wipe = () => {
    unmountUnder(path.join(dir, `root-${generation}`));
    unmountUnder(path.join(dir, `run-${generation}`));
    rmSync(path.join(dir, `root-${generation}`), { recursive: true, force: true });
    rmSync(path.join(dir, `run-${generation}`), { recursive: true, force: true });
    generation++;
  };
  const failures: string[] = [];
  let chosen: { driver: string; run: string[] } | undefined;
  for (const attempt of attempts) {
    const r = await runCommand(
      [
        "buildah",
        ...storage(attempt.driver),
        "bud",
        "--layers",
        "--tls-verify=false",
        "--network",
        "host",
        ...attempt.run,
        "--build-arg",
        `BASE=${registry.base}`,
        "-q",
        probe,
      ],
      { timeoutMs: 60_000 },
    );
    wipe();
    if (r.ok) {
      chosen = attempt;
      break;
    }
    failures.push(`${attempt.driver} ${attempt.run.join(" ") || "default runtime"}: ${lastLines(r.tail, 1)}`);
  }
  if (!chosen) {
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    return `no storage driver/isolation works:\n    ${failures.join("\n    ")}`;
  }
  const { driver, run } = chosen;
  const buildahVersion =
    /version (\S+)/i.exec((await runCommand(["buildah", "--version"])).stdout)?.[1] ?? "?";
  const tag = (image: string) => `${registry.host}/${image}-buildah:1`;
  return {
    name: "buildah",
    setup: `buildah ${buildahVersion} bud --layers, --storage-driver ${driver} ${run.join(" ") || "(default OCI runtime)"}`,
    build(context, image, options = {}) {
      const argv = [
        "buildah",
        ...storage(driver),
        "bud",
        "--layers",
        "--tls-verify=false",
        "--network",
        "host",
      ];
      argv.push(...run, "--build-arg", `BASE=${registry.base}`, "-q", "-t", tag(image));
      if (options.noCache) argv.push("--no-cache");
      argv.push(context);
      return runCommand(argv, { timeoutMs: BUILD_TIMEOUT });
    },
    push(image) {
      return runCommand(["buildah", ...storage(driver), "push", "--tls-verify=false", "-q", tag(image)], {
        timeoutMs: BUILD_TIMEOUT,
      });
    },
    async reset() {
      wipe();
    },
    async stop() {
      unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
