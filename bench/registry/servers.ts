/**
 * Starting and stopping the two registries the benchmark compares, each as a child process with a raised
 * open-file limit: Gantry (`bin/gantry registry serve`) and CNCF Distribution (Debian's `docker-registry`)
 * with a generated config (filesystem storage in a temp dir, loopback address, warn logs, no access log).
 * Also reads a process's memory figures from /proc.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface RunningServer {
  name: string;
  url: string;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const OPEN_FILES = 20_000;

/** `bash -c 'ulimit -n N; exec cmd…'`, so the server (same pid) may hold thousands of connections. */
function spawnWithFileLimit(argv: string[]): ChildProcess {
  const script = `ulimit -n ${OPEN_FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
  return spawn("bash", ["-c", script, "bash", ...argv], { stdio: ["ignore", "pipe", "pipe"] });
}

function stopper(child: ChildProcess, dataDir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(child.pid!, "SIGTERM");
      const timer = setTimeout(() => child.pid && process.kill(child.pid, "SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
}

function collectStderr(child: ChildProcess): string[] {
  const lines: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (l) => {
    lines.push(l);
    if (lines.length > 50) lines.shift();
  });
  return lines;
}

export async function startGantry(): Promise<RunningServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "bench-gantry-"));
  const child = spawnWithFileLimit([
    process.execPath,
    path.join(REPO_ROOT, "bin", "gantry"),
    "--root",
    dataDir,
    "registry",
    "serve",
    "--listen",
    "127.0.0.1:0",
    "--log-level",
    "warn",
  ]);
  const stderr = collectStderr(child);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gantry did not start:\n${stderr.join("\n")}`)), 20_000);
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      const m = /^listening on (\S+)$/.exec(line);
      if (m) resolve(m[1]!);
      else reject(new Error(`unexpected first line from gantry: ${line}`));
    });
    child.once("exit", (code) => reject(new Error(`gantry exited (${code}):\n${stderr.join("\n")}`)));
  });
  return { name: "gantry", url, pid: child.pid!, dataDir, stop: stopper(child, dataDir) };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startDistribution(): Promise<RunningServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "bench-distribution-"));
  const port = await freePort();
  const config = path.join(dataDir, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${path.join(dataDir, "storage")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  const child = spawnWithFileLimit(["/usr/bin/docker-registry", "serve", config]);
  const stderr = collectStderr(child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited:\n${stderr.join("\n")}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`docker-registry did not start:\n${stderr.join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { name: "distribution", url, pid: child.pid!, dataDir, stop: stopper(child, dataDir) };
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rss: kib("VmRSS") * 1024, peak: kib("VmHWM") * 1024 };
}
