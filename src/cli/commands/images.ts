/**
 * Local image management over the data root: `gantry images` (a table of name, tag, digest, size,
 * created; `--format json`), `gantry tag SRC DEST`, `gantry rm REF` (untag, or unlink a digest), and
 * `gantry inspect REF` (manifest and config; a `docker://` address inspects a registry's copy).
 */
import type { Command } from "commander";
import { ClientError } from "../../client/errors.js";
import { formatBytes } from "../../client/progress.js";
import type { RegistryClient } from "../../client/registry-client.js";
import { openSource, parseImageAddress } from "../../client/transports/address.js";
import {
  type DataRoot,
  openDataRoot,
  readManifestBytes,
  resolveLocal,
} from "../../client/transports/data-root.js";
import { UsageError } from "../../errors.js";
import type { ManifestBytes } from "../../image/archive/image-transport.js";
import { isIndexMediaType } from "../../image/media-types.js";
import { parseImageConfig, parseManifest, referencedDescriptors } from "../../image/oci-schemas.js";
import type { ImageConfig } from "../../image/oci-types.js";
import { formatPlatform, hostPlatform, parsePlatform, selectPlatformManifest } from "../../image/platform.js";
import { parseImageReference } from "../../image/reference.js";
import type { Descriptor } from "../../image/store-types.js";
import { dataRootOf, parseFormat, printJson } from "../global-options.js";

interface ImageRow {
  repository: string;
  tag: string;
  digest: string;
  mediaType: string;
  size: number;
  created: string | null;
}

/** Manifest + config + layers (for an index: the index and every child present locally). */
async function imageSize(
  store: DataRoot,
  descriptor: Descriptor,
): Promise<{ size: number; created?: string }> {
  const bytes = await store.blobs.readBytes(descriptor.digest).catch(() => undefined);
  if (!bytes) return { size: descriptor.size };
  const parsed = parseManifest(bytes, descriptor.mediaType);
  let size = descriptor.size;
  let created: string | undefined;
  if (parsed.kind === "oci-index" || parsed.kind === "docker-manifest-list") {
    for (const child of referencedDescriptors(parsed)) {
      const inner = await imageSize(store, child);
      size += inner.size;
      created ??= inner.created;
    }
    return { size, created };
  }
  for (const blob of referencedDescriptors(parsed)) size += blob.size;
  const config = await store.blobs.readBytes(parsed.manifest.config.digest).catch(() => undefined);
  if (config) {
    try {
      created = parseImageConfig(config).created;
    } catch {
      // an artifact's config: no creation time
    }
  }
  return { size, created };
}

async function listImages(store: DataRoot): Promise<ImageRow[]> {
  const rows: ImageRow[] = [];
  for (const repository of await store.repositories.listRepositories()) {
    for (const tag of await store.repositories.listTags(repository)) {
      const descriptor = await store.repositories.resolveTag(repository, tag);
      if (!descriptor) continue;
      const { size, created } = await imageSize(store, descriptor);
      rows.push({
        repository,
        tag,
        digest: descriptor.digest,
        mediaType: descriptor.mediaType,
        size,
        created: created ?? null,
      });
    }
  }
  return rows;
}

function printTable(rows: ImageRow[]): void {
  const table = [
    ["REPOSITORY", "TAG", "DIGEST", "SIZE", "CREATED"],
    ...rows.map((r) => [r.repository, r.tag, r.digest.slice(0, 19), formatBytes(r.size), r.created ?? "-"]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) {
    process.stdout.write(
      `${row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("   ")
        .trimEnd()}\n`,
    );
  }
}

/** Links everything `descriptor` references (recursively) into `repository`, then the manifest itself. */
async function linkTree(store: DataRoot, repository: string, descriptor: Descriptor): Promise<void> {
  const manifest = await readManifestBytes(store, descriptor);
  const parsed = parseManifest(manifest.bytes, manifest.mediaType);
  const subject = "subject" in parsed.manifest ? parsed.manifest.subject : undefined;
  for (const child of referencedDescriptors(parsed)) {
    if (child === subject) continue;
    if (isIndexMediaType(parsed.mediaType)) await linkTree(store, repository, child);
    else await store.repositories.linkBlob(repository, child.digest);
  }
  await store.repositories.linkManifest(repository, {
    mediaType: parsed.mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    pushedAt: Date.now(),
    ...(subject ? { subject: subject.digest } : {}),
  });
}

async function requireLocal(
  store: DataRoot,
  ref: string,
): Promise<{ repository: string; descriptor: Descriptor }> {
  const reference = parseImageReference(ref);
  const descriptor = await resolveLocal(store, reference.repository, reference);
  if (!descriptor) {
    throw new ClientError("IMAGE_UNKNOWN", `no image ${ref} in ${store.root}`, {
      hint: "list local images with `gantry images`",
    });
  }
  return { repository: reference.repository, descriptor };
}

export function registerImages(program: Command): void {
  program
    .command("images")
    .description("list the images in the data root")
    .option("--format <format>", "output format: text or json", "text")
    .action(async (opts: { format?: string }, cmd: Command) => {
      const format = parseFormat(opts.format);
      const rows = await listImages(await openDataRoot(dataRootOf(cmd)));
      if (format === "json") printJson(rows);
      else printTable(rows);
    });

  program
    .command("tag")
    .description("give a local image another name")
    .argument("<src>", "existing local image, e.g. app:1")
    .argument("<dest>", "new name, e.g. 127.0.0.1:5000/team/app:2")
    .action(async (src: string, dest: string, _opts: unknown, cmd: Command) => {
      const store = await openDataRoot(dataRootOf(cmd));
      const { descriptor } = await requireLocal(store, src);
      const target = parseImageReference(dest);
      if (target.tag === undefined || target.digest !== undefined) {
        throw new UsageError(`cannot tag with ${JSON.stringify(dest)}`, {
          hint: "give a tag and no digest, e.g. app:2",
        });
      }
      await linkTree(store, target.repository, descriptor);
      await store.repositories.setTag(target.repository, target.tag, {
        mediaType: descriptor.mediaType,
        digest: descriptor.digest,
        size: descriptor.size,
      });
    });

  program
    .command("rm")
    .description("remove a tag (or, for name@digest, the manifest and its tags) from the data root")
    .argument("<ref...>", "local image(s)")
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const store = await openDataRoot(dataRootOf(cmd));
      for (const ref of refs) {
        const reference = parseImageReference(ref);
        const removed =
          reference.digest !== undefined
            ? await store.repositories.unlinkManifest(reference.repository, reference.digest)
            : await store.repositories.deleteTag(reference.repository, reference.tag ?? "latest");
        if (!removed) {
          throw new ClientError("IMAGE_UNKNOWN", `no image ${ref} in ${store.root}`, {
            hint: "list local images with `gantry images`",
          });
        }
        process.stdout.write(
          `untagged: ${reference.repository}${reference.digest ? `@${reference.digest}` : `:${reference.tag}`}\n`,
        );
      }
    });

  program
    .command("inspect")
    .description("show an image's manifest and config (local REF, or docker://HOST/REPO:TAG on a registry)")
    .argument("<ref>", "image")
    .option("--platform <os/arch[/variant]>", "for a multi-platform image: whose config to show")
    .option("--insecure", "allow plain HTTP or unverified TLS for a registry that is not on loopback")
    .option("--format <format>", "output format: text or json", "text")
    .action(
      async (ref: string, opts: { format?: string; insecure?: boolean; platform?: string }, cmd: Command) => {
        const format = parseFormat(opts.format);
        const clients: RegistryClient[] = [];
        const source = await openSource(parseImageAddress(ref), {
          root: dataRootOf(cmd),
          insecure: opts.insecure,
          clients,
        });
        try {
          const top = await source.resolve();
          const parsed = parseManifest(top.bytes, top.mediaType);
          let config: ImageConfig | null = null;
          let image: ManifestBytes = top;
          if (parsed.kind === "oci-index" || parsed.kind === "docker-manifest-list") {
            const wanted = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
            const child = selectPlatformManifest(referencedDescriptors(parsed), wanted);
            image = child ? await source.getManifest(child).catch(() => top) : top;
          }
          const inner = parseManifest(image.bytes, image.mediaType);
          if (inner.kind === "oci-manifest" || inner.kind === "docker-manifest") {
            const stream = await source.openBlob(inner.manifest.config);
            const chunks: Buffer[] = [];
            for await (const chunk of stream) chunks.push(chunk as Buffer);
            try {
              config = parseImageConfig(Buffer.concat(chunks));
            } catch {
              config = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            }
          }
          const document = {
            digest: top.digest,
            mediaType: parsed.mediaType,
            size: top.bytes.byteLength,
            manifest: JSON.parse(top.bytes.toString("utf8")) as unknown,
            config,
          };
          if (format === "json") {
            printJson(document);
            return;
          }
          const out = process.stdout;
          out.write(
            `Digest:     ${document.digest}\nMediaType:  ${document.mediaType}\nSize:       ${document.size}\n`,
          );
          if (parsed.kind === "oci-index" || parsed.kind === "docker-manifest-list") {
            for (const d of referencedDescriptors(parsed)) {
              out.write(`Manifest:   ${d.digest} ${d.platform ? formatPlatform(d.platform) : ""}\n`);
            }
          }
          if (inner.kind === "oci-manifest" || inner.kind === "docker-manifest") {
            for (const layer of inner.manifest.layers)
              out.write(`Layer:      ${layer.digest} ${formatBytes(layer.size)}\n`);
          }
          if (config) {
            out.write(`Platform:   ${formatPlatform(config)}\nCreated:    ${config.created ?? "-"}\n`);
            if (config.config?.Env) out.write(`Env:        ${config.config.Env.join(" ")}\n`);
            if (config.config?.Entrypoint)
              out.write(`Entrypoint: ${JSON.stringify(config.config.Entrypoint)}\n`);
            if (config.config?.Cmd) out.write(`Cmd:        ${JSON.stringify(config.config.Cmd)}\n`);
          }
        } finally {
          await source.close();
          await Promise.all(clients.map((c) => c.close()));
        }
      },
    );
}
