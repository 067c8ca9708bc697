/**
 * Registry credentials in Docker's client config (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`): `auths` entries (base64 `user:password`), and `credHelpers` / `credsStore`
 * through the `docker-credential-<name>` helper protocol (`get`/`store`/`erase`, JSON on stdin/stdout)
 * when the helper program is installed. Writing keeps every other key of the file and replaces it
 * atomically (temp file, fsync, rename, mode 0600). Docker Hub is stored under `https://index.docker.io/v1/`.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../image/atomic-file.js";
import { ClientError } from "./errors.js";

export interface Credentials {
  username: string;
  password: string;
}

export interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [key: string]: unknown;
}

/** The key Docker uses for Docker Hub in `auths` and credential helpers. */
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";
const DOCKER_HUB_NAMES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG && env.DOCKER_CONFIG !== "" ? env.DOCKER_CONFIG : join(homedir(), ".docker");
  return join(dir, "config.json");
}

/** The `auths` / helper key of a registry host. */
export function authKeyFor(host: string): string {
  return DOCKER_HUB_NAMES.has(host) ? DOCKER_HUB_AUTH_KEY : host;
}

/** Strips scheme and path from an `auths` key (`https://host:5000/v1/` → `host:5000`). */
function hostOfKey(key: string): string {
  const withoutScheme = key.replace(/^[a-z]+:\/\//i, "");
  const host = withoutScheme.split("/")[0]!;
  return DOCKER_HUB_NAMES.has(host) ? "docker.io" : host;
}

export async function readDockerConfig(path = dockerConfigPath()): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new Error("not an object");
    return parsed as DockerConfigFile;
  } catch (error) {
    throw new ClientError("CREDENTIALS", `cannot read ${path}: ${(error as Error).message}`, {
      hint: "fix or remove the file",
    });
  }
}

/** The helper program configured for `host`, if any (`credHelpers` first, then `credsStore`). */
function helperFor(config: DockerConfigFile, host: string): string | undefined {
  const key = authKeyFor(host);
  return config.credHelpers?.[key] ?? config.credHelpers?.[host] ?? config.credsStore;
}

/** Credentials for `host`, or undefined (anonymous). */
export async function lookupCredentials(
  host: string,
  path = dockerConfigPath(),
): Promise<Credentials | undefined> {
  const config = await readDockerConfig(path);
  const helper = helperFor(config, host);
  if (helper) {
    const result = await runHelper(helper, "get", authKeyFor(host));
    if (result.status === "ok") {
      const parsed = JSON.parse(result.stdout) as { Username?: string; Secret?: string };
      if (parsed.Secret) return { username: parsed.Username ?? "", password: parsed.Secret };
    }
    // not found, or the helper is not installed: fall back to `auths`
  }
  const wanted = hostOfKey(authKeyFor(host));
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (hostOfKey(key) !== wanted) continue;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username !== undefined && entry.password !== undefined) {
      return { username: entry.username, password: entry.password };
    }
  }
  return undefined;
}

/** Stores credentials: through the configured helper when it is installed, else in `auths`. */
export async function storeCredentials(
  host: string,
  creds: Credentials,
  path = dockerConfigPath(),
): Promise<{ where: string }> {
  const config = await readDockerConfig(path);
  const key = authKeyFor(host);
  const helper = helperFor(config, host);
  if (helper) {
    const input = JSON.stringify({ ServerURL: key, Username: creds.username, Secret: creds.password });
    const result = await runHelper(helper, "store", input);
    if (result.status === "ok") return { where: `docker-credential-${helper}` };
    if (result.status === "failed") {
      throw new ClientError("CREDENTIALS", `docker-credential-${helper} store failed: ${result.stderr}`);
    }
  }
  const auths = { ...(config.auths ?? {}) };
  auths[key] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString("base64") };
  await writeDockerConfig({ ...config, auths }, path);
  return { where: path };
}

/** Removes stored credentials for `host`; returns whether there were any. */
export async function eraseCredentials(host: string, path = dockerConfigPath()): Promise<boolean> {
  const config = await readDockerConfig(path);
  const key = authKeyFor(host);
  let removed = false;
  const helper = helperFor(config, host);
  if (helper) removed = (await runHelper(helper, "erase", key)).status === "ok";
  const wanted = hostOfKey(key);
  const auths = { ...(config.auths ?? {}) };
  for (const k of Object.keys(auths)) {
    if (hostOfKey(k) === wanted) {
      delete auths[k];
      removed = true;
    }
  }
  if (config.auths !== undefined) await writeDockerConfig({ ...config, auths }, path);
  return removed;
}

async function writeDockerConfig(config: DockerConfigFile, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(config, null, "\t")}\n`, { mode: 0o600 });
}

type HelperResult =
  | { status: "ok"; stdout: string }
  | { status: "missing" }
  | { status: "failed"; stderr: string };

/** Runs `docker-credential-<name> <action>` with `input` on stdin. */
function runHelper(name: string, action: "get" | "store" | "erase", input: string): Promise<HelperResult> {
  return new Promise((resolve) => {
    const child = spawn(`docker-credential-${name}`, [action], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (error: NodeJS.ErrnoException) =>
      resolve(error.code === "ENOENT" ? { status: "missing" } : { status: "failed", stderr: error.message }),
    );
    child.on("close", (code) =>
      resolve(code === 0 ? { status: "ok", stdout } : { status: "failed", stderr: (stdout + stderr).trim() }),
    );
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}
