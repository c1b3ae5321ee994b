/**
 * The dashboard at /ui: static files of our own (src/ui, plain ES modules, no build step) and
 * uPlot's distributed files from node_modules at /ui/vendor/uplot/, so nothing comes from a CDN.
 * The pages hold no data: they call the API like any client, with the API key the user typed in
 * (see docs/dashboard.md), so /ui itself is open (auth/scopes.ts).
 *
 * Its responses carry a stricter CSP than the API's helmet default: scripts, styles, fetches
 * and images from this origin only, no inline script or style attribute, no frames, no plugins.
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";

export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

const UI_ROOT = fileURLToPath(new URL("../../../ui/", import.meta.url));
const UPLOT_ROOT = dirname(fileURLToPath(import.meta.resolve("uplot")));

export const uiRoutes: FastifyPluginAsync = async (app) => {
  app.addHook("onSend", async (_request, reply, payload) => {
    reply.header("content-security-policy", UI_CSP);
    return payload;
  });
  // The pages link to ./app.js and so on: they must be read from /ui/, not /ui.
  app.get("/ui", { schema: { hide: true } }, (_request, reply) => reply.redirect("/ui/", 302));
  await app.register(fastifyStatic, {
    root: UI_ROOT,
    prefix: "/ui/",
    decorateReply: false,
    schemaHide: true,
    // index.html must not be cached past a deploy; the small modules revalidate cheaply.
    cacheControl: true,
    maxAge: 0,
  });
  await app.register(fastifyStatic, {
    root: UPLOT_ROOT,
    prefix: "/ui/vendor/uplot/",
    decorateReply: false,
    schemaHide: true,
    allowedPath: (path) => path === "/uPlot.esm.js" || path === "/uPlot.min.css",
  });
};
