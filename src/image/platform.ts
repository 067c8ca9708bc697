/**
 * Platforms (`os/arch[/variant]`): parsing the `--platform` form, the host's default, normalisation
 * (`x86_64` → amd64, `aarch64` → arm64, arm64's implied `v8`) and choosing the manifest of an index or
 * manifest list that matches a wanted platform, as containerd's default matcher does.
 */
import { arch } from "node:os";
import { UsageError } from "../errors.js";
import type { Descriptor, Platform } from "./oci-types.js";

const NODE_ARCHITECTURES: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
};
const ARCHITECTURE_ALIASES: Record<string, string> = {
  x86_64: "amd64",
  "x86-64": "amd64",
  aarch64: "arm64",
  armhf: "arm",
  armel: "arm",
  i386: "386",
};

/** This host's platform: linux and the Node architecture in Go's spelling (x64 → amd64). */
export function hostPlatform(): Platform {
  const architecture = NODE_ARCHITECTURES[arch()] ?? arch();
  const platform: Platform = { os: "linux", architecture };
  if (architecture === "arm") platform.variant = "v7";
  return platform;
}

/** Parses `os/arch[/variant]` (e.g. `linux/arm64/v8`); without a value, the host platform. */
export function parsePlatform(value: string | undefined): Platform {
  if (value === undefined || value.trim() === "") return hostPlatform();
  const parts = value.trim().toLowerCase().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => !/^[a-z0-9._-]+$/.test(part))) {
    throw new UsageError(`invalid platform ${JSON.stringify(value)}`, {
      hint: "use os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8",
    });
  }
  const platform: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2] !== undefined) platform.variant = parts[2];
  return normalizePlatform(platform);
}

/** Canonical spelling: architecture aliases resolved, arm64's default variant `v8` dropped. */
export function normalizePlatform(platform: Platform): Platform {
  const architecture = ARCHITECTURE_ALIASES[platform.architecture] ?? platform.architecture;
  const normalized: Platform = { ...platform, os: platform.os.toLowerCase(), architecture };
  if (architecture === "arm64" && normalized.variant === "v8") delete normalized.variant;
  if (normalized.variant === undefined || normalized.variant === "") delete normalized.variant;
  return normalized;
}

export function formatPlatform(platform: Platform): string {
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ""}`;
}

/**
 * Whether an index entry's platform satisfies `wanted`: same os and architecture, and the same variant
 * when `wanted` names one (an entry without a variant matches a wanted arm64 or amd64 of any variant).
 */
export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  const c = normalizePlatform(candidate);
  const w = normalizePlatform(wanted);
  if (c.os !== w.os || c.architecture !== w.architecture) return false;
  if (w.variant === undefined) return true;
  return c.variant === undefined || c.variant === w.variant;
}

/**
 * The entry of an index for `wanted`, preferring an exact variant match; entries that are attestations
 * (`unknown/unknown`, BuildKit's provenance) never match. Undefined when none fits.
 */
export function selectPlatformManifest(
  manifests: readonly Descriptor[],
  wanted: Platform,
): Descriptor | undefined {
  const candidates = manifests.filter(
    (entry) => entry.platform !== undefined && platformMatches(entry.platform, wanted),
  );
  const w = normalizePlatform(wanted);
  const exact = candidates.find((entry) => normalizePlatform(entry.platform!).variant === w.variant);
  return exact ?? candidates[0];
}
