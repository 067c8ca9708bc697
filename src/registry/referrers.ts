/**
 * `GET /v2/<name>/referrers/<digest>[?artifactType=]`: an OCI image index listing the manifests whose
 * `subject` is `<digest>` (with their artifactType and annotations). Always 200; an empty index when there
 * are none. With `artifactType`, only matching entries are listed and `OCI-Filters-Applied` says so.
 */
import { parseDigest } from "../image/digest.js";
import { OCI_INDEX } from "../image/media-types.js";
import type { Descriptor } from "../image/store-types.js";
import { type RequestContext, sendJson } from "./context.js";

export async function listReferrers(ctx: RequestContext): Promise<void> {
  const subject = parseDigest(ctx.route.reference!).digest;
  const all = await ctx.services.repos.listReferrers(ctx.route.name!, subject);
  const filter = ctx.route.query.get("artifactType");
  const manifests: Descriptor[] = filter ? all.filter((d) => d.artifactType === filter) : all;
  const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests };
  sendJson(ctx, 200, index, filter ? { "OCI-Filters-Applied": "artifactType" } : {}, OCI_INDEX);
}
