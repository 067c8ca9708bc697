/**
 * Platforms as containerd's `platforms` package reads and prints them (`linux/amd64`, `linux/arm/v7`,
 * `arm64`), normalised the same way (x86_64 → amd64, aarch64 → arm64 without v8, arm → v7 by default), the
 * host's platform, and the predefined platform build args (BUILDPLATFORM…, TARGETPLATFORM…).
 */
import { UsageError } from "../errors.js";
import type { Platform } from "../image/oci-types.js";

const ARCH_ALIASES: Record<string, [string, string?]> = {
  x86_64: ["amd64"],
  "x86-64": ["amd64"],
  amd64: ["amd64"],
  i386: ["386"],
  "386": ["386"],
  aarch64: ["arm64"],
  arm64: ["arm64"],
  armhf: ["arm", "v7"],
  armel: ["arm", "v6"],
  arm: ["arm"],
};

/** containerd's Normalize: canonical architecture and variant names. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias[0];
    if (alias[1] && !variant) variant = alias[1];
  }
  if (architecture === "arm64" && (variant === "8" || variant === "v8" || variant === "v8.0"))
    variant = undefined;
  if (architecture === "arm") {
    if (!variant || variant === "7") variant = "v7";
    else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
  }
  if (architecture === "amd64" && variant === "v1") variant = undefined;
  const out: Platform = { architecture, os };
  if (variant) out.variant = variant;
  if (p["os.version"]) out["os.version"] = p["os.version"];
  return out;
}

/** The platform of the machine Gantry runs on. */
export function hostPlatform(): Platform {
  const arch = process.arch === "x64" ? "amd64" : process.arch === "ia32" ? "386" : process.arch;
  return normalizePlatform({
    os: process.platform === "win32" ? "windows" : process.platform,
    architecture: arch,
  });
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
]);

/** Parses `os[/arch[/variant]]` or a bare `arch` (host OS), as containerd does. Throws UsageError. */
export function parsePlatform(spec: string, host: Platform = hostPlatform()): Platform {
  const parts = spec.trim().split("/");
  if (spec.trim() === "" || parts.length > 3 || parts.some((p) => p === "" || !/^[A-Za-z0-9_.-]+$/.test(p))) {
    throw new UsageError(`invalid platform ${JSON.stringify(spec)}`, {
      hint: "write os/arch[/variant], e.g. linux/amd64 or linux/arm64",
    });
  }
  if (parts.length === 1) {
    const word = parts[0]!.toLowerCase();
    if (KNOWN_OS.has(word))
      return normalizePlatform({ os: word, architecture: host.architecture, variant: host.variant });
    if (ARCH_ALIASES[word] || /^(ppc64le|s390x|riscv64|mips64le|loong64|wasm)$/.test(word)) {
      return normalizePlatform({ os: host.os, architecture: word });
    }
    throw new UsageError(`unknown operating system or architecture ${JSON.stringify(spec)}`, {
      hint: "write os/arch[/variant], e.g. linux/amd64",
    });
  }
  return normalizePlatform({ os: parts[0]!, architecture: parts[1]!, variant: parts[2] });
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** Whether an image for `have` serves a request for `want` (os + arch, and the variant when both name one). */
export function platformMatches(want: Platform, have: Platform): boolean {
  const a = normalizePlatform(want);
  const b = normalizePlatform(have);
  if (a.os !== b.os || a.architecture !== b.architecture) return false;
  return !a.variant || !b.variant || a.variant === b.variant;
}

/** BuildKit's predefined args, in its order: available in the global scope (FROM) without a declaration. */
export function platformArgs(
  build: Platform,
  target: Platform,
  targetStage: string,
): Array<[string, string]> {
  return [
    ["BUILDPLATFORM", formatPlatform(build)],
    ["BUILDOS", build.os],
    ["BUILDOSVERSION", build["os.version"] ?? ""],
    ["BUILDARCH", build.architecture],
    ["BUILDVARIANT", build.variant ?? ""],
    ["TARGETPLATFORM", formatPlatform(target)],
    ["TARGETOS", target.os],
    ["TARGETOSVERSION", target["os.version"] ?? ""],
    ["TARGETARCH", target.architecture],
    ["TARGETVARIANT", target.variant ?? ""],
    ["TARGETSTAGE", targetStage],
  ];
}
