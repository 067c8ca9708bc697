/** `GET /v2/_catalog?n=&last=`: every repository name, sorted and paginated with `Link`. */
import { type RequestContext, sendJson } from "./context.js";
import { paginate } from "./pagination.js";

export async function listCatalog(ctx: RequestContext): Promise<void> {
  const repos = await ctx.services.repos.listRepositories();
  const page = paginate(repos, ctx.route.query, "/v2/_catalog");
  sendJson(ctx, 200, { repositories: page.items }, page.link ? { Link: page.link } : {});
}
