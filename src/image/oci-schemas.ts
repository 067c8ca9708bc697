/**
 * zod 4 validators for every OCI / Docker document Gantry reads from disk or the network, and the manifest
 * entry points built on them: `parseManifest` (detects the kind from the document's mediaType or the
 * Content-Type, validates, throws ManifestInvalidError with a readable message), `parseImageConfig`, and
 * `referencedDescriptors` (what a manifest points at: config + layers + subject, or an index's manifests).
 * Unknown fields are kept (image-spec: implementations must ignore fields they do not understand).
 */
import { z } from "zod";
import { digestOf, parseDigest } from "./digest.js";
import { ManifestInvalidError } from "./errors.js";
import * as mt from "./media-types.js";
import type {
  Descriptor,
  DockerManifest,
  DockerManifestList,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  ParsedManifest,
  Platform,
} from "./oci-types.js";
import type { Digest } from "./store-types.js";

/** RFC 6838 `type/subtype` with optional parameters (image-spec media type grammar). */
const MEDIA_TYPE_PATTERN =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}(\s*;.*)?$/;

export const mediaTypeSchema = z.string().regex(MEDIA_TYPE_PATTERN, "not a valid media type (type/subtype)");

export const digestSchema = z
  .string()
  .superRefine((value, ctx) => {
    try {
      parseDigest(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  })
  .transform((value) => value as Digest);

export const annotationsSchema = z.record(z.string(), z.string());

export const platformSchema = z.looseObject({
  architecture: z.string().min(1),
  os: z.string().min(1),
  "os.version": z.string().optional(),
  "os.features": z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});

/** Descriptor fields without the embedded-data check (for extending). */
export const descriptorShape = z.looseObject({
  mediaType: mediaTypeSchema,
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: annotationsSchema.optional(),
  data: z.base64().optional(),
  platform: platformSchema.optional(),
  artifactType: mediaTypeSchema.optional(),
});

/** Embedded content must be exactly the described blob (image-spec: data MUST match digest and size). */
function checkEmbeddedData(descriptor: z.infer<typeof descriptorShape>, ctx: z.RefinementCtx): void {
  if (descriptor.data === undefined) return;
  const bytes = Buffer.from(descriptor.data, "base64");
  const { algorithm } = parseDigest(descriptor.digest);
  if (bytes.byteLength !== descriptor.size) {
    const message = `holds ${bytes.byteLength} bytes, size says ${descriptor.size}`;
    ctx.addIssue({ code: "custom", path: ["data"], message });
  } else if (digestOf(bytes, algorithm) !== descriptor.digest) {
    ctx.addIssue({ code: "custom", path: ["data"], message: "content does not match digest" });
  }
}

export const descriptorSchema = descriptorShape.superRefine(checkEmbeddedData);

export const imageManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(mt.OCI_MANIFEST).optional(),
  artifactType: mediaTypeSchema.optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotationsSchema.optional(),
});

export const imageIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(mt.OCI_INDEX).optional(),
  artifactType: mediaTypeSchema.optional(),
  manifests: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotationsSchema.optional(),
});

export const dockerManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(mt.DOCKER_MANIFEST_V2),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
});

export const dockerManifestListSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(mt.DOCKER_MANIFEST_LIST),
  manifests: z.array(descriptorShape.extend({ platform: platformSchema }).superRefine(checkEmbeddedData)),
});

const stringListOrNull = z.array(z.string()).nullable();

export const containerConfigSchema = z.looseObject({
  User: z.string().optional(),
  ExposedPorts: z.record(z.string(), z.object({})).optional(),
  Env: z.array(z.string()).optional(),
  Entrypoint: stringListOrNull.optional(),
  Cmd: stringListOrNull.optional(),
  Volumes: z.record(z.string(), z.object({})).optional(),
  WorkingDir: z.string().optional(),
  Labels: z.record(z.string(), z.string()).optional(),
  StopSignal: z.string().optional(),
  ArgsEscaped: z.boolean().optional(),
  Shell: z.array(z.string()).optional(),
  OnBuild: stringListOrNull.optional(),
});

export const imageConfigSchema = z.looseObject({
  created: z.string().optional(),
  author: z.string().optional(),
  architecture: z.string().min(1),
  os: z.string().min(1),
  "os.version": z.string().optional(),
  "os.features": z.array(z.string()).optional(),
  variant: z.string().optional(),
  config: containerConfigSchema.optional(),
  rootfs: z.looseObject({ type: z.literal("layers"), diff_ids: z.array(digestSchema) }),
  history: z
    .array(
      z.looseObject({
        created: z.string().optional(),
        author: z.string().optional(),
        created_by: z.string().optional(),
        comment: z.string().optional(),
        empty_layer: z.boolean().optional(),
      }),
    )
    .optional(),
});

// Compile-time checks: what the schemas produce fits the hand-written types in oci-types.ts.
type Fits<Actual extends Expected, Expected> = Actual;
export type _SchemaChecks = [
  Fits<z.infer<typeof descriptorSchema>, Descriptor>,
  Fits<z.infer<typeof platformSchema>, Platform>,
  Fits<z.infer<typeof imageManifestSchema>, ImageManifest>,
  Fits<z.infer<typeof imageIndexSchema>, ImageIndex>,
  Fits<z.infer<typeof dockerManifestSchema>, DockerManifest>,
  Fits<z.infer<typeof dockerManifestListSchema>, DockerManifestList>,
  Fits<z.infer<typeof imageConfigSchema>, ImageConfig>,
];

/** Turns a zod error into one readable line per issue: `config.digest: invalid digest …`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length === 0 ? "(document)" : issue.path.map(String).join(".");
      return `${where}: ${issue.message}`;
    })
    .join("; ");
}

function decodeJson(bytes: Uint8Array | string, what: string): unknown {
  try {
    const text = typeof bytes === "string" ? bytes : new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return JSON.parse(text);
  } catch (error) {
    throw new ManifestInvalidError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Which media type the document claims: its `mediaType` field, else the Content-Type, else its shape. */
function detectMediaType(document: Record<string, unknown>, contentType: string | undefined): string {
  const declared =
    typeof document.mediaType === "string" ? mt.stripParameters(document.mediaType) : undefined;
  const header = contentType ? mt.stripParameters(contentType) : undefined;
  const headerIsManifest = header !== undefined && mt.isManifestMediaType(header);
  if (declared !== undefined) {
    if (headerIsManifest && header !== declared) {
      throw new ManifestInvalidError(`mediaType ${declared} does not match Content-Type ${header}`);
    }
    return declared;
  }
  if (headerIsManifest) return header;
  if (header === mt.DOCKER_MANIFEST_V1 || header === mt.DOCKER_MANIFEST_V1_SIGNED) return header;
  if (document.schemaVersion === 1) return mt.DOCKER_MANIFEST_V1;
  // No mediaType anywhere (allowed for OCI documents): decide by shape.
  if (Array.isArray(document.manifests)) return mt.OCI_INDEX;
  if (document.config !== undefined || Array.isArray(document.layers)) return mt.OCI_MANIFEST;
  throw new ManifestInvalidError("cannot tell the manifest kind: no mediaType, no config, no manifests");
}

function validate<T>(schema: z.ZodType<T>, document: unknown, mediaType: string): T {
  const result = schema.safeParse(document);
  if (!result.success) {
    throw new ManifestInvalidError(`${mediaType}: ${describeZodError(result.error)}`, {
      detail: { issues: result.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) },
    });
  }
  return result.data;
}

/**
 * Parses and validates a manifest of any supported kind. `contentType` is the HTTP Content-Type it came
 * with, if any; when both it and the document's `mediaType` name a manifest type they must agree.
 */
export function parseManifest(bytes: Uint8Array | string, contentType?: string): ParsedManifest {
  const document = decodeJson(bytes, "manifest");
  if (document === null || typeof document !== "object" || Array.isArray(document)) {
    throw new ManifestInvalidError("manifest must be a JSON object");
  }
  const mediaType = detectMediaType(document as Record<string, unknown>, contentType);
  switch (mediaType) {
    case mt.OCI_MANIFEST:
      return {
        kind: "oci-manifest",
        mediaType,
        manifest: validate(imageManifestSchema, document, mediaType),
      };
    case mt.OCI_INDEX:
      return { kind: "oci-index", mediaType, manifest: validate(imageIndexSchema, document, mediaType) };
    case mt.DOCKER_MANIFEST_V2:
      return {
        kind: "docker-manifest",
        mediaType,
        manifest: validate(dockerManifestSchema, document, mediaType),
      };
    case mt.DOCKER_MANIFEST_LIST:
      return {
        kind: "docker-manifest-list",
        mediaType,
        manifest: validate(dockerManifestListSchema, document, mediaType),
      };
    case mt.DOCKER_MANIFEST_V1:
    case mt.DOCKER_MANIFEST_V1_SIGNED:
      throw new ManifestInvalidError("Docker schema 1 manifests are not supported; push schema 2 or OCI");
    default:
      throw new ManifestInvalidError(`unsupported manifest media type ${JSON.stringify(mediaType)}`);
  }
}

/** Parses and validates an image config blob. */
export function parseImageConfig(bytes: Uint8Array | string): ImageConfig {
  const document = decodeJson(bytes, "image config");
  return validate(imageConfigSchema, document, "image config");
}

// Field helpers of a parsed manifest live without zod (builds and pushes read stored manifests with them).
export {
  manifestAnnotations,
  manifestSubject,
  referencedDescriptors,
  referrerArtifactType,
} from "./manifest-fields.js";
