/**
 * Starts Debian's CNCF Distribution (`/usr/bin/docker-registry`) on 127.0.0.1 and a free port, with
 * filesystem storage in a temp dir and optionally htpasswd auth (bcrypt via bcryptjs), and stops it by
 * its PID. `haveDistribution` tells whether the binary is installed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import bcrypt from "bcryptjs";

export const DISTRIBUTION_BIN = "/usr/bin/docker-registry";
export const haveDistribution = existsSync(DISTRIBUTION_BIN);

export interface Distribution {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startDistribution(
  options: { users?: Record<string, string> } = {},
): Promise<Distribution> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gantry-distribution-"));
  const port = await freePort();
  const lines = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${path.join(dir, "storage")}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
  ];
  if (options.users) {
    const htpasswd = path.join(dir, "htpasswd");
    await writeFile(
      htpasswd,
      Object.entries(options.users)
        .map(([user, password]) => `${user}:${bcrypt.hashSync(password, 4)}`)
        .join("\n"),
    );
    lines.push("auth:", "  htpasswd:", "    realm: test", `    path: ${htpasswd}`);
  }
  const config = path.join(dir, "config.yml");
  await writeFile(config, `${lines.join("\n")}\n`);
  const child: ChildProcess = spawn(DISTRIBUTION_BIN, ["serve", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    pid: child.pid!,
    dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, "SIGTERM");
        const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, "SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
