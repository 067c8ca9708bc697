/**
 * `gantry login` on a real pseudo-terminal (build first: runs bin/gantry): python3's `pty` forks the command
 * on a new terminal, answers the `Username: ` / `Password: ` prompts when they appear and returns everything
 * the terminal showed. Against a Gantry registry with htpasswd Basic auth; DOCKER_CONFIG in a temp dir.
 * Checks the prompts, that the password is never shown, the stored default user name, Backspace, a wrong
 * password, Ctrl-C (exit 130, terminal mode restored: `stty -a` after it) and the non-TTY error.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHtpasswdAuthorizer } from "../src/registry/auth/htpasswd.js";
import { type AuthFixture, makeAuthFixture } from "./helpers/auth-fixtures.js";
import { type StartedRegistry, startRegistry } from "./helpers/registry.js";

const REPO = resolve(import.meta.dirname, "..");
const GANTRY = join(REPO, "bin", "gantry");
const BUILT = existsSync(join(REPO, "dist", "src", "cli", "prompt.js"));
const HAVE_PYTHON = spawnSync("python3", ["-c", "import pty"]).status === 0;

const PASSWORD = "s3cret-Pa55word";

/**
 * argv[1]: JSON list of [regex, text] steps, argv[2:]: the command. Forks it on a pseudo-terminal; when the
 * next step's regex matches the output after the previous match, writes its text to the terminal. Prints
 * JSON {output, code, pending} (code: exit code, 128+signal when killed; pending: steps never matched).
 */
const PTY_DRIVER = `
import json, os, pty, re, select, sys, time
steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out = b""
pos = 0
deadline = time.time() + 45
while True:
    if steps:
        m = re.compile(steps[0][0].encode()).search(out, pos)
        if m:
            pos = m.end()
            os.write(fd, steps.pop(0)[1].encode())
            continue
    if time.time() > deadline:
        os.kill(pid, 9)
        break
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"output": out.decode("utf-8", "replace"), "code": code if code >= 0 else 128 - code, "pending": len(steps)}))
`;

interface TerminalRun {
  output: string;
  code: number;
  pending: number;
}

let work: string;
let auth: AuthFixture;
let registry: StartedRegistry;
let host: string;

const dockerConfig = (name: string) => join(work, name);

/** Runs `sh -c SCRIPT sh ARGS…` on a pseudo-terminal with `steps` as the answers. */
function onTerminal(
  script: string,
  args: string[],
  steps: Array<[string, string]>,
  configDir: string,
): Promise<TerminalRun> {
  return new Promise((done, fail) => {
    execFile(
      "python3",
      ["-c", PTY_DRIVER, JSON.stringify(steps), "sh", "-c", script, "sh", ...args],
      { env: { ...process.env, DOCKER_CONFIG: configDir }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) fail(new Error(`pty driver failed: ${error.message}\n${stderr}`));
        else done(JSON.parse(stdout) as TerminalRun);
      },
    );
  });
}

/** `gantry login ARGS…` on a pseudo-terminal. */
const loginOnTerminal = (args: string[], steps: Array<[string, string]>, configDir: string) =>
  onTerminal(
    '"$@"',
    [process.execPath, GANTRY, "--root", join(work, "root"), "login", ...args],
    steps,
    configDir,
  );

async function storedAuth(configDir: string): Promise<string | undefined> {
  const config = JSON.parse(await readFile(join(configDir, "config.json"), "utf8"));
  const entry = config.auths?.[host]?.auth as string | undefined;
  return entry === undefined ? undefined : Buffer.from(entry, "base64").toString();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "gantry-cli-login-tty-"));
  auth = makeAuthFixture({ bob: PASSWORD });
  registry = await startRegistry({
    authorizer: createHtpasswdAuthorizer({ htpasswdFile: auth.htpasswdFile, realm: "tty-test" }),
  });
  host = new URL(registry.url).host;
});
afterAll(async () => {
  await registry?.dispose();
  auth?.cleanup();
  await rm(work, { recursive: true, force: true });
});

describe.skipIf(!BUILT || !HAVE_PYTHON)("gantry login on a terminal", () => {
  it("prompts for the user name and a hidden password, logs in and stores the credentials", async () => {
    const config = dockerConfig("prompted");
    const run = await loginOnTerminal(
      [host],
      [
        ["Username: ", "bob\r"],
        ["Password: ", `${PASSWORD}\r`],
      ],
      config,
    );
    expect(run.pending, run.output).toBe(0);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/^Username: bob\r?\nPassword: \r?\n/);
    expect(run.output).toContain("Login Succeeded");
    expect(run.output).not.toContain(PASSWORD);
    expect(await storedAuth(config)).toBe(`bob:${PASSWORD}`);

    // Again: the stored user name is the default, Enter takes it; Backspace edits the password.
    const again = await loginOnTerminal(
      [host],
      [
        ["Username \\(bob\\): ", "\r"],
        ["Password: ", `${PASSWORD}x\x7f\r`],
      ],
      config,
    );
    expect(again.pending, again.output).toBe(0);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain("Login Succeeded");
    expect(again.output).not.toContain(PASSWORD);
    expect(await storedAuth(config)).toBe(`bob:${PASSWORD}`);
  });

  it("asks only for the password when -u is given", async () => {
    const config = dockerConfig("with-user");
    const run = await loginOnTerminal(["-u", "bob", host], [["Password: ", `${PASSWORD}\r`]], config);
    expect(run.pending, run.output).toBe(0);
    expect(run.code, run.output).toBe(0);
    expect(run.output).not.toContain("Username");
    expect(run.output).not.toContain(PASSWORD);
    expect(await storedAuth(config)).toBe(`bob:${PASSWORD}`);
  });

  it("fails with a clear error and stores nothing for a wrong password", async () => {
    const config = dockerConfig("wrong");
    const run = await loginOnTerminal(
      [host],
      [
        ["Username: ", "bob\r"],
        ["Password: ", "not-the-password\r"],
      ],
      config,
    );
    expect(run.pending, run.output).toBe(0);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/error: .*401/);
    expect(run.output).not.toMatch(/\n\s+at /);
    expect(run.output).not.toContain("not-the-password");
    expect(run.output).not.toContain("Login Succeeded");
    expect(existsSync(join(config, "config.json"))).toBe(false);
  });

  it("exits with 130 on Ctrl-C at the password prompt and restores the terminal", async () => {
    const config = dockerConfig("interrupted");
    const run = await onTerminal(
      '"$@"; echo "exit=$?"; stty -a',
      [process.execPath, GANTRY, "--root", join(work, "root"), "login", "-u", "bob", host],
      [["Password: ", "abc\x03"]],
      config,
    );
    expect(run.pending, run.output).toBe(0);
    expect(run.output).toContain("exit=130");
    expect(run.output).not.toContain("abc");
    const modes = run.output.slice(run.output.indexOf("exit=130"));
    expect(modes).toMatch(/(^|\s)echo(\s|$)/);
    expect(modes).toMatch(/(^|\s)icanon(\s|$)/);
    expect(existsSync(join(config, "config.json"))).toBe(false);
  });
});

describe.skipIf(!BUILT)("gantry login without a terminal", () => {
  const piped = (args: string[]) =>
    new Promise<{ stderr: string; code: number }>((done) => {
      const child = execFile(
        process.execPath,
        [GANTRY, "--root", join(work, "root"), "login", ...args],
        { env: { ...process.env, DOCKER_CONFIG: dockerConfig("piped") }, timeout: 60_000 },
        (error, _stdout, stderr) =>
          done({ stderr, code: error ? ((error as { code?: number }).code ?? 1) : 0 }),
      );
      child.stdin!.end("");
    });

  it("keeps the usage errors pointing at --password-stdin", async () => {
    const noUser = await piped([host]);
    expect(noUser.code).toBe(2);
    expect(noUser.stderr).toContain("gantry login needs -u USER");
    expect(noUser.stderr).toContain("--password-stdin");
    const noPassword = await piped(["-u", "bob", host]);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain("no password given");
    expect(noPassword.stderr).toContain("--password-stdin");
    expect(noPassword.stderr).not.toContain("Password:");
  });
});
