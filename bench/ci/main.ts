/**
 * CI cache benchmark: the two-runner scenario of test/ci-cache.test.ts timed side by side for Gantry and
 * `buildah bud --layers --cache-to/--cache-from`, in one run, against one registry (Gantry's, on loopback)
 * that also serves the busybox base image both tools pull. Per round and tool: runner A builds cold from an
 * empty storage and exports its cache; runner B — another empty storage, the context checked out elsewhere —
 * builds the same commit warm from the registry. Wall-clock seconds of whole processes (start-up included),
 * median of the rounds, and buildah/gantry for the warm build (target ≥ 3×).
 * Run: `npm run bench -- ci` (as root; buildah from scripts/install-bench-deps.sh). Knobs: BENCH_CI_ROUNDS
 * (default 3), BENCH_CI_BUILDAH_DRIVER (default overlay; vfs where overlay cannot mount).
 */
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const GANTRY = path.join(REPO_ROOT, "bin", "gantry");
const FIXTURE = path.join(REPO_ROOT, "fixtures", "ci", "app");
const ROUNDS = Number(process.env.BENCH_CI_ROUNDS ?? 3);
const DRIVER = process.env.BENCH_CI_BUILDAH_DRIVER ?? "overlay";
/** The steps of fixtures/ci/app that make layers (what "fully cached" means for both tools). */
const STEPS = 13;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function exec(argv: string[], options: { cwd?: string } = {}): Promise<Ran> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) =>
      resolve({ code, stdout, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 }),
    );
  });
}

function check(ran: Ran, what: string): Ran {
  if (ran.code !== 0)
    throw new Error(`${what} failed (${ran.code}):\n${(ran.stderr || ran.stdout).slice(-2000)}`);
  return ran;
}

/** `gantry registry serve` on 127.0.0.1:0; stopped by its pid. */
async function startRegistry(root: string): Promise<{ host: string; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [GANTRY, "--root", root, "registry", "serve", "--listen", "127.0.0.1:0"],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", (line) => {
      const match = /^listening on (\S+)$/.exec(line);
      if (match) resolve(match[1]!);
      else reject(new Error(`registry: ${line}`));
    });
    child.once("exit", (code) => reject(new Error(`registry exited with ${code}`)));
  });
  return {
    host: new URL(url).host,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(child.pid!, "SIGTERM");
      await exited;
    },
  };
}

interface Tool {
  name: string;
  /** Builds `context` in the fresh storage `dir`; returns how many steps came from the cache. */
  build(
    dir: string,
    context: string,
    role: "a" | "b",
    cacheRef: string,
  ): Promise<{ seconds: number; cached: number }>;
  cleanup(dir: string): Promise<void>;
}

function gantryTool(base: string): Tool {
  return {
    name: "gantry",
    async build(dir, context, role, cacheRef) {
      const cache =
        role === "a"
          ? ["--cache-to", `type=registry,ref=${cacheRef}`]
          : ["--cache-from", `type=registry,ref=${cacheRef}`];
      const ran = check(
        await exec([
          process.execPath,
          GANTRY,
          "--root",
          dir,
          "build",
          context,
          "--progress",
          "quiet",
          "--format",
          "json",
          "--build-arg",
          `BASE=${base}`,
          "-t",
          `bench/ci-${role}:1`,
          ...cache,
        ]),
        `gantry build (runner ${role})`,
      );
      const result = JSON.parse(ran.stdout.slice(ran.stdout.indexOf("{"))) as { cached: number };
      return { seconds: ran.seconds, cached: result.cached };
    },
    async cleanup(dir) {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function buildahTool(base: string): Tool {
  const storage = (dir: string) => [
    "--root",
    path.join(dir, "storage"),
    "--runroot",
    path.join(dir, "run"),
    "--storage-driver",
    DRIVER,
  ];
  return {
    name: "buildah",
    async build(dir, context, role, cacheRef) {
      // crun fails here ("cgroups in hybrid mode not supported"): runc, as Gantry uses.
      const cache =
        role === "a" ? ["--cache-to", cacheRef, "--cache-from", cacheRef] : ["--cache-from", cacheRef];
      const ran = check(
        await exec(
          [
            "buildah",
            ...storage(dir),
            "bud",
            "--runtime",
            "runc",
            "--layers",
            "--tls-verify=false",
            "--build-arg",
            `BASE=${base}`,
            "-t",
            `bench/ci-${role}:1`,
            ...cache,
            ".",
          ],
          { cwd: context },
        ),
        `buildah bud (runner ${role})`,
      );
      return { seconds: ran.seconds, cached: (ran.stdout.match(/^--> Using cache /gm) ?? []).length };
    },
    async cleanup(dir) {
      await exec(["buildah", ...storage(dir), "rmi", "--all", "--force"]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("bench/ci: skipped (needs root for runc and overlayfs)");
    return;
  }
  const work = mkdtempSync(path.join(os.tmpdir(), "bench-ci-"));
  const registry = await startRegistry(path.join(work, "registry"));
  try {
    // The base image, pushed once to the registry both tools pull it from.
    const seed = path.join(work, "seed");
    check(
      await exec([path.join(REPO_ROOT, "scripts", "make-busybox-rootfs.sh"), `${seed}/rootfs`]),
      "busybox rootfs",
    );
    check(
      await exec([
        process.execPath,
        GANTRY,
        "--root",
        `${seed}/root`,
        "import",
        `${seed}/rootfs`,
        "gantry/busybox:1",
      ]),
      "gantry import",
    );
    const base = `${registry.host}/gantry/busybox:1`;
    check(
      await exec([process.execPath, GANTRY, "--root", `${seed}/root`, "push", "gantry/busybox:1", base]),
      "push",
    );

    const tools: Tool[] = [gantryTool(base)];
    const buildahVersion = await exec(["buildah", "--version"]).catch(() => undefined);
    if (buildahVersion?.code === 0) tools.push(buildahTool(base));
    else console.log("buildah not installed (scripts/install-bench-deps.sh): gantry only");
    console.log(`two runners, one registry (${registry.host}); fixtures/ci/app: 3 stages, ${STEPS} steps`);
    if (buildahVersion?.code === 0)
      console.log(`${buildahVersion.stdout.trim()}, --storage-driver ${DRIVER}, --runtime runc`);

    const figures = new Map(
      tools.map((tool) => [
        tool.name,
        { cold: [] as number[], warm: [] as number[], cached: [] as number[] },
      ]),
    );
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate who goes first, so neither always meets a warmer page cache.
      for (const tool of round % 2 === 1 ? tools : [...tools].reverse()) {
        const dir = path.join(work, `${tool.name}-${round}`);
        // buildah takes a repository (one tag per step key); Gantry one tagged artifact.
        const repository = `${registry.host}/cache/${tool.name}-${round}`;
        const cacheRef = tool.name === "gantry" ? `${repository}:main` : repository;
        cpSync(FIXTURE, path.join(dir, "runner-a", "checkout"), { recursive: true });
        cpSync(FIXTURE, path.join(dir, "runner-b", "elsewhere"), { recursive: true });
        const a = await tool.build(
          path.join(dir, "a"),
          path.join(dir, "runner-a", "checkout"),
          "a",
          cacheRef,
        );
        const b = await tool.build(
          path.join(dir, "b"),
          path.join(dir, "runner-b", "elsewhere"),
          "b",
          cacheRef,
        );
        const f = figures.get(tool.name)!;
        f.cold.push(a.seconds);
        f.warm.push(b.seconds);
        f.cached.push(b.cached);
        console.log(
          `  round ${round} ${tool.name.padEnd(7)} A cold+export ${a.seconds.toFixed(2)} s   B warm ${b.seconds.toFixed(2)} s (${b.cached}/${STEPS} steps cached)`,
        );
        await tool.cleanup(path.join(dir, "a"));
        await tool.cleanup(path.join(dir, "b"));
      }
    }

    const g = figures.get("gantry")!;
    const ba = figures.get("buildah");
    console.log(`\nmedian of ${ROUNDS} rounds (seconds, whole processes):`);
    console.log("              gantry   buildah   buildah/gantry");
    const row = (label: string, gv: number[], bv?: number[]) =>
      console.log(
        `${label.padEnd(14)}${median(gv).toFixed(2).padStart(6)}   ${bv ? median(bv).toFixed(2).padStart(7) : "    n/a"}   ${bv ? `${(median(bv) / median(gv)).toFixed(2)}x`.padStart(14) : ""}`,
      );
    row("A cold+export", g.cold, ba?.cold);
    row("B warm", g.warm, ba?.warm);
    console.log(
      `steps cached on B: gantry ${median(g.cached)}/${STEPS}${ba ? `, buildah ${median(ba.cached)}/${STEPS}` : ""}`,
    );
    if (ba) {
      const ratio = median(ba.warm) / median(g.warm);
      console.log(
        `warm-from-registry: buildah/gantry ${ratio.toFixed(2)}x (target >= 3x): ${ratio >= 3 ? "met" : "NOT met"}`,
      );
    }
  } finally {
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
