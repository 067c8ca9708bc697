/**
 * The host shell that runs short commands (mount, umount, getfattr…) without forking Node for each.
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostCommandError, hostCommand, hostCommandOk, shellQuote } from "../src/util/host-command.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gantry-hostcmd-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("host commands", () => {
  it("passes every argument through unchanged, whatever it contains", async () => {
    const nasty = ["a b", "it's", '"dq"', "$HOME", "`id`", "x;y", "new\nline", "", "*", "\\", "--"];
    const { code, stdout } = await hostCommandOk(["printf", "%s\\0", ...nasty]);
    expect(code).toBe(0);
    expect(stdout.split("\0").slice(0, -1)).toEqual(nasty);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it("runs in the given directory and reports exit codes and stderr", async () => {
    await writeFile(join(dir, "here.txt"), "x");
    expect((await hostCommandOk(["ls"], { cwd: dir })).stdout).toContain("here.txt");
    const failed = await hostCommand(["ls", "/no/such/path"]);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain("/no/such/path");
    const error = await hostCommandOk(["sh", "-c", "echo oops >&2; exit 3"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostCommandError);
    expect(error).toMatchObject({ code: 3, stderr: "oops\n" });
    expect((await hostCommand(["no-such-command-xyz"])).code).toBe(127);
  });

  it("commands never read the requests queued behind them", async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => hostCommandOk(["sh", "-c", `cat; echo ${i}`])),
    );
    expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
  });

  it("the next shell removes the temp directory of a process that was killed", async () => {
    const module = JSON.stringify(join(process.cwd(), "dist/src/util/host-command.js"));
    const killed = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { hostCommandOk } from ${module};
await hostCommandOk(["true"]); console.log("ready"); setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await once(killed.stdout!, "data");
    const leftover = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`gantry-sh-${killed.pid}-`));
    expect(leftover()).toHaveLength(1);
    killed.kill("SIGKILL");
    await once(killed, "exit");
    expect(leftover()).toHaveLength(1);
    const next = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { hostCommandOk } from ${module};
await hostCommandOk(["true"]);`,
      ],
      { timeout: 10_000 },
    );
    expect(next.status).toBe(0);
    expect(leftover()).toHaveLength(0);
  });

  it("an idle shell does not keep a process alive", () => {
    const script = `import { hostCommandOk } from ${JSON.stringify(join(process.cwd(), "dist/src/util/host-command.js"))};
await hostCommandOk(["true"]); console.log("ran");`;
    const started = Date.now();
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { timeout: 10_000 });
    expect(child.stdout.toString()).toBe("ran\n");
    expect(child.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(9_000);
  });
});
