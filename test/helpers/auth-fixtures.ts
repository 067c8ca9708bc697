/**
 * Shared fixtures for the registry auth tests: temp directories holding an htpasswd file (bcrypt at the
 * lowest cost, so tests stay fast) and an ACL file, and a fake request carrying an Authorization header.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import os from "node:os";
import path from "node:path";
import bcrypt from "bcryptjs";

export interface AuthFixture {
  dir: string;
  htpasswdFile: string;
  aclFile: string;
  writeHtpasswd(users: Record<string, string>, prefix?: "$2y$" | "$2a$" | "$2b$"): void;
  writeAcl(rules: unknown): void;
  cleanup(): void;
}

/** `user:bcrypt(password)` lines; `prefix` rewrites the hash's version tag (all three verify the same). */
export function htpasswdText(
  users: Record<string, string>,
  prefix: "$2y$" | "$2a$" | "$2b$" = "$2y$",
): string {
  return Object.entries(users)
    .map(([user, password]) => `${user}:${prefix}${bcrypt.hashSync(password, 4).slice(4)}`)
    .join("\n");
}

export function makeAuthFixture(users: Record<string, string> = {}, acl?: unknown): AuthFixture {
  const dir = mkdtempSync(path.join(os.tmpdir(), "gantry-auth-"));
  const fixture: AuthFixture = {
    dir,
    htpasswdFile: path.join(dir, "htpasswd"),
    aclFile: path.join(dir, "acl.json"),
    writeHtpasswd(entries, prefix) {
      // Written beside and renamed, as editors and `htpasswd` do, so readers never see half a file.
      const temp = `${fixture.htpasswdFile}.tmp`;
      writeFileSync(temp, `${htpasswdText(entries, prefix)}\n`);
      renameSync(temp, fixture.htpasswdFile);
    },
    writeAcl(rules) {
      const temp = `${fixture.aclFile}.tmp`;
      writeFileSync(temp, JSON.stringify(rules));
      renameSync(temp, fixture.aclFile);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  fixture.writeHtpasswd(users);
  if (acl !== undefined) fixture.writeAcl(acl);
  return fixture;
}

export function basicHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

/** Enough of an IncomingMessage for `Authorizer.authorize`. */
export function fakeRequest(authorization?: string, host = "registry.test"): IncomingMessage {
  const headers: Record<string, string> = { host };
  if (authorization) headers.authorization = authorization;
  return { headers, socket: {}, url: "/v2/" } as unknown as IncomingMessage;
}
