/**
 * The ceiling of the HTTP stack for bench:serve: a bare fastify that parses the same JSON body
 * our routes get and answers a constant. Runs as its own process on PORT, like the service.
 */
import Fastify from "fastify";

const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
// The binary tensor data extension's body: its JSON part is parsed, the tensor bytes kept.
app.addContentTypeParser(
  "application/octet-stream",
  { parseAs: "buffer" },
  (request, body, done) => {
    const bytes = body as Buffer;
    const length = Number(request.headers["inference-header-content-length"] ?? bytes.length);
    try {
      done(null, {
        json: JSON.parse(bytes.toString("utf8", 0, length)),
        data: bytes.subarray(length),
      });
    } catch (error) {
      done(error as Error, undefined);
    }
  },
);
const answer = { ok: true };
app.post("/constant", async () => answer);
app.get("/constant", async () => answer);
app.get("/healthz", async () => answer);
await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) });
