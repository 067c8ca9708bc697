/**
 * Syntax checks the lint rules need without a registry: is a string a valid Docker image reference
 * (distribution/reference ParseNormalizedNamed grammar), and what OS/architecture a platform string names
 * (containerd platforms.Parse, simplified).
 */

const alnum = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const host = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const name = `(?:${domainAndPort}/)?${pathComponent}(?:/${pathComponent})*`;
const tag = "[\\w][\\w.-]{0,127}";
const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}";
const REFERENCE = new RegExp(`^(${name})(?::${tag})?(?:@${digest})?$`);

/** Whether `ref` parses as a normalized image reference (`alpine`, `ghcr.io/a/b:1.0@sha256:…`). */
export function isValidImageReference(ref: string): boolean {
  if (ref === "" || /^[a-f0-9]{64}$/.test(ref)) return false;
  const m = REFERENCE.exec(ref);
  return m !== null && m[1]!.length <= 255;
}

const KNOWN_OS = new Set([
  "linux",
  "windows",
  "darwin",
  "freebsd",
  "netbsd",
  "openbsd",
  "solaris",
  "illumos",
  "aix",
  "android",
  "ios",
  "js",
  "wasip1",
  "plan9",
  "dragonfly",
]);
const ARCH_ALIASES: Record<string, string> = {
  x86_64: "amd64",
  "x86-64": "amd64",
  amd64: "amd64",
  aarch64: "arm64",
  arm64: "arm64",
  armhf: "arm",
  armel: "arm",
  arm: "arm",
  i386: "386",
  "386": "386",
  ppc64le: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  mips64le: "mips64le",
  loong64: "loong64",
  wasm: "wasm",
};

/** OS and architecture named by a platform string, or undefined when it does not parse. */
export function parsePlatform(text: string): { os: string; arch: string; variant?: string } | undefined {
  const parts = text.toLowerCase().split("/");
  if (parts.some((p) => p === "" || p.includes("*"))) return undefined;
  if (parts.length === 1) {
    const p = parts[0]!;
    if (KNOWN_OS.has(p)) return { os: p, arch: "" };
    const arch = ARCH_ALIASES[p];
    return arch ? { os: "linux", arch } : undefined;
  }
  if (parts.length > 3 || !KNOWN_OS.has(parts[0]!)) return undefined;
  const arch = ARCH_ALIASES[parts[1]!];
  if (!arch) return undefined;
  return { os: parts[0]!, arch, variant: parts[2] };
}
