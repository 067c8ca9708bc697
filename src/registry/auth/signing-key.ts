/**
 * The registry's token signing key and the compact JWTs signed with it. The key is an Ed25519 private key
 * kept at `<root>/auth/token-key.pem`, created on first use and published atomically (temp file, fsync,
 * then an exclusive hard link, so two processes starting at once agree on one key). Tokens use JWS `EdDSA`.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { AuthConfigError } from "./errors.js";

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Key id: base64url of the first 18 bytes of sha256(SPKI DER), stable for the key. */
  kid: string;
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function keyFromPem(pem: string, file: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new AuthConfigError(`${file}: not a PEM private key: ${(err as Error).message}`, {
      hint: "delete the file to have the registry create a new one (issued tokens become invalid)",
    });
  }
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new AuthConfigError(`${file}: expected an Ed25519 key, found ${privateKey.asymmetricKeyType}`);
  }
  const publicKey = createPublicKey(privateKey);
  const der = publicKey.export({ type: "spki", format: "der" });
  const kid = createHash("sha256").update(der).digest().subarray(0, 18).toString("base64url");
  return { privateKey, publicKey, kid };
}

/** Reads `<dataRoot>/auth/token-key.pem`, creating it on first use. */
export async function loadOrCreateSigningKey(dataRoot: string): Promise<SigningKey> {
  const dir = path.join(dataRoot, "auth");
  const file = path.join(dir, "token-key.pem");
  try {
    return keyFromPem(await fs.readFile(file, "utf8"), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync("ed25519");
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  const temp = path.join(dir, `.token-key.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await fs.open(temp, "wx", 0o600);
  try {
    await handle.writeFile(pem);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.link(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    // Another process published its key first: use that one.
  } finally {
    await fs.rm(temp, { force: true });
  }
  await fsyncDirectory(dir);
  return keyFromPem(await fs.readFile(file, "utf8"), file);
}

export type JwtClaims = Record<string, unknown>;

function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** A compact JWS (`header.payload.signature`) over `claims`. */
export function signJwt(claims: JwtClaims, key: SigningKey): string {
  const input = `${encodeSegment({ alg: "EdDSA", typ: "JWT", kid: key.kid })}.${encodeSegment(claims)}`;
  const signature = sign(null, Buffer.from(input), key.privateKey).toString("base64url");
  return `${input}.${signature}`;
}

/** The claims of a JWT signed by `key`, or undefined when it is malformed or its signature does not verify. */
export function verifyJwt(token: string, key: SigningKey): JwtClaims | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(headerPart, "base64url").toString("utf8")) as Record<
      string,
      unknown
    >;
    if (header.alg !== "EdDSA" || (header.kid !== undefined && header.kid !== key.kid)) return undefined;
    const signature = Buffer.from(signaturePart, "base64url");
    if (!verify(null, Buffer.from(`${headerPart}.${payloadPart}`), key.publicKey, signature))
      return undefined;
    const claims = JSON.parse(Buffer.from(payloadPart, "base64url").toString("utf8")) as unknown;
    if (typeof claims !== "object" || claims === null || Array.isArray(claims)) return undefined;
    return claims as JwtClaims;
  } catch {
    return undefined;
  }
}
