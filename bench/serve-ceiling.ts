/**
 * The ceiling of the HTTP stack for bench:serve: a bare fastify that parses the same JSON body
 * our routes get and answers a constant. Runs as its own process on PORT, like the service.
 */
import Fastify from "fastify";

const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
const answer = { ok: true };
app.post("/constant", async () => answer);
app.get("/constant", async () => answer);
app.get("/healthz", async () => answer);
await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) });
