/**
 * `gantry run REF [CMD…]`: runs a local image so a user can try what they built. Resolves REF in the data
 * root (tag or digest → manifest, an index picks the host platform → config and layers), prepares a
 * snapshot, runs Entrypoint + (CMD given, or the image's Cmd) with its Env/User/WorkingDir in runc (or
 * crun / chroot), streams the output, releases the snapshot (nothing is kept, as `--rm`) and exits with
 * the container's exit code. Ctrl-C kills the container.
 */
import { arch } from "node:os";
import type { Command } from "commander";
import { Option } from "commander";
import { GantryError, UsageError } from "../../errors.js";
import { openRuntime, type RuntimePreference } from "../../executor/runtime/index.js";
import { openSnapshotter, type SnapshotterPreference } from "../../executor/snapshot/index.js";
import type { LayerRef } from "../../executor/types.js";
import { ContentStore } from "../../image/content-store.js";
import { parseImageConfig, parseManifest } from "../../image/oci-schemas.js";
import type { ContainerConfig } from "../../image/oci-types.js";
import { parseImageReference } from "../../image/reference.js";
import { FsRepositoryStore } from "../../image/repository-store.js";
import type { Digest } from "../../image/store-types.js";
import { dataRootOf } from "../global-options.js";

interface RunOptions {
  network: "default" | "none" | "host";
  env: string[];
  user?: string;
  workdir?: string;
  entrypoint?: string;
  snapshotter: SnapshotterPreference;
  isolation: RuntimePreference;
  rm?: boolean;
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("run a local image in runc (the container is removed afterwards)")
    .argument("<ref>", "image reference, e.g. app:1 or localhost/gantry/busybox:latest")
    .argument("[command...]", "command to run instead of the image's CMD")
    .addOption(
      new Option("--network <mode>", "network").choices(["default", "none", "host"]).default("default"),
    )
    .option(
      "-e, --env <KEY=VALUE>",
      "set an environment variable (repeatable)",
      (v: string, p: string[]) => [...p, v],
      [] as string[],
    )
    .option("-u, --user <user>", "user (name, uid, name:group) instead of the image's USER")
    .option("-w, --workdir <dir>", "working directory instead of the image's WORKDIR")
    .option("--entrypoint <cmd>", "override the image's ENTRYPOINT (empty string clears it)")
    .option("--rm", "remove the container afterwards (always the case)")
    .addOption(
      new Option("--snapshotter <kind>", "snapshotter")
        .choices(["auto", "overlayfs", "copy"])
        .default("auto"),
    )
    .addOption(
      new Option("--isolation <kind>", "runtime").choices(["auto", "runc", "crun", "chroot"]).default("auto"),
    )
    // Options of the command itself (`sh -c …`) pass through; use `--` before a command whose options
    // collide with run's own (-e, -u, -w). passThroughOptions would need enablePositionalOptions globally.
    .allowUnknownOption()
    .action(async (ref: string, command: string[], opts: RunOptions, cmd: Command) => {
      process.exitCode = await runImage(ref, command, opts, dataRootOf(cmd));
    });
}

interface LocalImage {
  layers: LayerRef[];
  config: ContainerConfig;
}

async function runImage(ref: string, command: string[], opts: RunOptions, root: string): Promise<number> {
  const blobs = await ContentStore.open(root);
  const image = await resolveLocalImage(blobs, await FsRepositoryStore.open(root), ref);
  const config = image.config;
  const entrypoint =
    opts.entrypoint === undefined
      ? (config.Entrypoint ?? [])
      : opts.entrypoint === ""
        ? []
        : [opts.entrypoint];
  const args = [...entrypoint, ...(command.length > 0 ? command : (config.Cmd ?? []))];
  if (args.length === 0) {
    throw new UsageError(`image ${ref} has no ENTRYPOINT or CMD and no command was given`, {
      hint: `gantry run ${ref} sh`,
    });
  }
  const env = [...(config.Env ?? [])];
  for (const item of opts.env) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`invalid --env ${JSON.stringify(item)}`, { hint: "use KEY=VALUE" });
    const at = env.findIndex((e) => e.startsWith(item.slice(0, eq + 1)));
    if (at >= 0) env[at] = item;
    else env.push(item);
  }
  const [snapshotter, runtime] = await Promise.all([
    openSnapshotter(root, blobs, opts.snapshotter),
    openRuntime(root, opts.isolation),
  ]);
  const snapshot = await snapshotter.prepare(image.layers);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const result = await runtime.run({
      rootfs: snapshot.rootfs,
      args,
      env,
      cwd: opts.workdir ?? (config.WorkingDir || "/"),
      user: opts.user ?? config.User ?? "",
      network: opts.network,
      security: "sandbox",
      mounts: [],
      onOutput: (chunk, stream) => (stream === "stdout" ? process.stdout : process.stderr).write(chunk),
      signal: controller.signal,
    });
    return result.exitCode;
  } catch (error) {
    if (error instanceof GantryError && error.code === "RUN_ABORTED") return 130;
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await snapshot.release();
  }
}

const ARCHITECTURES: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };

/** Tag or digest → the host platform's image manifest → its layers and container config. */
export async function resolveLocalImage(
  blobs: ContentStore,
  repositories: FsRepositoryStore,
  ref: string,
): Promise<LocalImage> {
  const reference = parseImageReference(ref);
  let digest: Digest | undefined = reference.digest;
  if (digest === undefined && reference.tag !== undefined) {
    digest = (await repositories.resolveTag(reference.repository, reference.tag))?.digest;
  }
  if (digest === undefined || (await blobs.stat(digest)) === undefined) {
    throw new GantryError("IMAGE_UNKNOWN", `image ${ref} not found in the local store`, {
      hint: "build it (gantry build -t), pull it (gantry pull) or import it (gantry import); see gantry images",
    });
  }
  let parsed = parseManifest(await blobs.readBytes(digest));
  if (parsed.kind === "oci-index" || parsed.kind === "docker-manifest-list") {
    const architecture = ARCHITECTURES[arch()] ?? arch();
    const match = parsed.manifest.manifests.find(
      (m) => m.platform?.os === "linux" && m.platform.architecture === architecture,
    );
    if (match === undefined) {
      throw new GantryError("IMAGE_UNKNOWN", `image ${ref} has no manifest for linux/${architecture}`);
    }
    parsed = parseManifest(await blobs.readBytes(match.digest));
  }
  if (parsed.kind !== "oci-manifest" && parsed.kind !== "docker-manifest") {
    throw new GantryError("IMAGE_UNKNOWN", `image ${ref} is not an image manifest`);
  }
  const config = parseImageConfig(await blobs.readBytes(parsed.manifest.config.digest));
  const diffIds = config.rootfs.diff_ids;
  const layers = parsed.manifest.layers.map((layer, i) => ({
    digest: layer.digest,
    diffId: diffIds[i] as Digest,
    size: layer.size,
    mediaType: layer.mediaType,
  }));
  return { layers, config: config.config ?? {} };
}
