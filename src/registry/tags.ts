/** `GET /v2/<name>/tags/list?n=&last=`: the repository's tags, sorted and paginated with `Link`. */
import { NameUnknownError } from "../image/errors.js";
import { type RequestContext, sendJson, v2Path } from "./context.js";
import { paginate } from "./pagination.js";

export async function listTags(ctx: RequestContext): Promise<void> {
  const { repos } = ctx.services;
  const name = ctx.route.name!;
  const tags = await repos.listTags(name);
  if (tags.length === 0 && !(await repos.listRepositories()).includes(name)) throw new NameUnknownError(name);
  const page = paginate(tags, ctx.route.query, v2Path(name, "tags", "list"));
  sendJson(ctx, 200, { name, tags: page.items }, page.link ? { Link: page.link } : {});
}
