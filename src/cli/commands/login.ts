/**
 * `gantry login [-u USER] [--password-stdin] HOST` and `gantry logout HOST`: credentials are checked
 * against the registry (a token is fetched for Bearer registries), then stored in Docker's client config
 * (through the configured credential helper when installed), where `docker` and skopeo find them too.
 * With no password flag and stdin a terminal, the user name and password are asked for as `docker login`
 * does (`Username (stored): `, then `Password: ` without echo); Ctrl-C there exits with 130.
 */
import type { Command } from "commander";
import {
  type Credentials,
  eraseCredentials,
  lookupCredentials,
  storeCredentials,
} from "../../client/credentials.js";
import { RegistryClient } from "../../client/registry-client.js";
import { UsageError } from "../../errors.js";
import { ABORTED_EXIT_CODE, isTerminal, PromptAbortedError, withPrompter } from "../prompt.js";

interface LoginOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  insecure?: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

/** The credentials given by `-u` and `--password`/`--password-stdin` (no terminal to ask on). */
async function credentialsFromFlags(opts: LoginOptions): Promise<Credentials> {
  if (!opts.username)
    throw new UsageError("gantry login needs -u USER", {
      hint: "gantry login -u USER --password-stdin HOST",
    });
  if (opts.password !== undefined && opts.passwordStdin) {
    throw new UsageError("--password and --password-stdin are mutually exclusive");
  }
  const password = opts.passwordStdin ? await readStdin() : opts.password;
  if (!password) throw new UsageError("no password given", { hint: "pipe it in with --password-stdin" });
  return { username: opts.username, password };
}

/**
 * Asks on the terminal for what the flags did not give: the user name (the one stored for `host` is the
 * default) unless `-u` was given, then the password.
 */
async function promptCredentials(host: string, username: string | undefined): Promise<Credentials> {
  const stored = username ? undefined : (await lookupCredentials(host))?.username || undefined;
  return withPrompter(async (prompter) => {
    let user = username;
    if (!user) {
      const answer = (
        await prompter.ask(stored ? `Username (${stored}): ` : "Username: ", { echo: true })
      ).trim();
      user = answer || stored;
      if (!user) throw new UsageError("no user name given");
    }
    const password = await prompter.ask("Password: ", { echo: false });
    if (!password) throw new UsageError("no password given");
    return { username: user, password };
  });
}

/** `https://host/v2/` or `host` → `host`; Docker Hub's names → `docker.io`. */
function registryHost(value: string): string {
  const host = value.replace(/^[a-z]+:\/\//i, "").split("/")[0]!;
  return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

export function registerLogin(program: Command): void {
  program
    .command("login")
    .description("log in to a registry (stores the credentials in Docker's config.json)")
    .argument("[host]", "registry host, e.g. 127.0.0.1:5000 (default: docker.io)", "docker.io")
    .option("-u, --username <user>", "user name")
    .option("-p, --password <password>", "password (prefer --password-stdin)")
    .option("--password-stdin", "read the password from stdin")
    .option("--insecure", "allow plain HTTP or unverified TLS for a registry that is not on loopback")
    .action(async (hostArg: string, opts: LoginOptions) => {
      const host = registryHost(hostArg);
      let credentials: Credentials;
      if (opts.password === undefined && !opts.passwordStdin && isTerminal()) {
        try {
          credentials = await promptCredentials(host, opts.username);
        } catch (error) {
          if (!(error instanceof PromptAbortedError)) throw error;
          process.exitCode = ABORTED_EXIT_CODE;
          return;
        }
      } else {
        credentials = await credentialsFromFlags(opts);
      }
      const client = new RegistryClient({ host, insecure: opts.insecure, credentials });
      try {
        await client.checkLogin();
      } finally {
        await client.close();
      }
      const { where } = await storeCredentials(host, credentials);
      process.stderr.write(`credentials stored in ${where}\n`);
      process.stdout.write("Login Succeeded\n");
    });

  program
    .command("logout")
    .description("remove the stored credentials of a registry")
    .argument("[host]", "registry host (default: docker.io)", "docker.io")
    .action(async (hostArg: string) => {
      const host = registryHost(hostArg);
      const removed = await eraseCredentials(host);
      process.stdout.write(
        removed ? `Removing login credentials for ${host}\n` : `Not logged in to ${host}\n`,
      );
    });
}
