/**
 * Which version answers a prediction. In order: the version the request pins (`version`, or an
 * `alias`), else the model's traffic split, else its alias `production`, else its newest ready
 * version (what every request got before aliases existed).
 *
 * A model's routing (its versions' states, aliases and split) is one query, kept for `ttlMs`
 * (PREDICT_RESOLVE_TTL_MS): a lookup costs several times a small model's whole prediction. A
 * change made in this process clears it at once (the `routingChanged`, `versionReady` and
 * `modelDeleted` events, wired in app.ts); one made through another replica is seen once the
 * entry expires. An expired entry still answers while its refresh runs in the background, so no
 * request waits on the database once a model is warm; a refresh that finds the model gone drops
 * the entry, and the next request asks in the foreground and gets the 404.
 */
import type { PrismaClient } from "../generated/prisma/client.ts";
import { readStored } from "../platform/db/stored-json.ts";
import { AppError, conflict, notFound } from "../platform/errors.ts";
import { PRODUCTION } from "../versions/aliases/schemas.ts";
import { storedSplitColumn } from "../versions/stored-columns.ts";
import type { PredictTarget } from "./input.ts";
import { pickVersion, type RandomSource, type Split } from "./traffic/split.ts";

export type ResolveRequest = PredictTarget;

export interface ResolvedVersion {
  versionId: string;
  version: number;
}

export interface Resolution extends ResolvedVersion {
  /** The alias the request came through (pinned, or `production` by default). */
  alias?: string;
  /** The split's shadow, for a request the split routed. */
  shadow?: ResolvedVersion;
}

/** A model's routing as one query reads it. */
interface Routing {
  versions: Map<number, { id: string; status: string }>;
  newestReady: number | undefined;
  aliases: Map<string, number>;
  split: Split | undefined;
}

// A bound on remembered models, far above those a replica serves.
const MODELS_KEPT = 10_000;

export interface ResolverOptions {
  prisma: PrismaClient;
  /** 0 asks the database every time. */
  ttlMs: number;
  random?: RandomSource;
  now?: () => number;
}

export class Resolver {
  readonly #prisma: PrismaClient;
  readonly #ttlMs: number;
  readonly #random: RandomSource;
  readonly #now: () => number;
  readonly #known = new Map<string, { routing: Routing; expires: number }>();
  /** One query per model at a time; concurrent requests share it. */
  readonly #loading = new Map<string, Promise<Routing>>();
  /** Bumped by every forget: a query that started before must not store its answer. */
  #generation = 0;

  constructor({
    prisma,
    ttlMs,
    random = Math.random,
    now = () => performance.now(),
  }: ResolverOptions) {
    this.#prisma = prisma;
    this.#ttlMs = ttlMs;
    this.#random = random;
    this.#now = now;
  }

  async resolve(request: ResolveRequest): Promise<Resolution> {
    const { routing, remembered } = await this.#routing(request.model);
    try {
      return choose(request, routing, this.#random);
    } catch (error) {
      // A version or alias this replica does not know yet (made through another one), or a
      // version it still thinks is training: ask again before saying no. Refusals are never
      // remembered, so a client that asks for something absent costs a query, as it always did.
      if (!remembered || !(error instanceof AppError)) throw error;
      if (error.code !== "NOT_FOUND" && error.code !== "CONFLICT") throw error;
      return choose(request, await this.#load(request.model), this.#random);
    }
  }

  /** Forget one model's routing (an alias moved, a model deleted), or every model's. */
  forget(model?: string): void {
    this.#generation++;
    if (model === undefined) {
      this.#known.clear();
      this.#loading.clear();
    } else {
      this.#known.delete(model);
      this.#loading.delete(model);
    }
  }

  /** The model's routing, and whether it came from memory rather than a query just made. */
  async #routing(model: string): Promise<{ routing: Routing; remembered: boolean }> {
    const known = this.#known.get(model);
    if (!known) return { routing: await this.#load(model), remembered: false };
    if (known.expires <= this.#now() && !this.#loading.has(model)) {
      this.#load(model).catch((error: unknown) => {
        // Gone: the next request asks in the foreground. Any other failure (the database away)
        // keeps serving what is known; a later request tries again.
        if (error instanceof AppError && error.code === "NOT_FOUND") this.#known.delete(model);
      });
    }
    return { routing: known.routing, remembered: true };
  }

  #load(model: string): Promise<Routing> {
    let pending = this.#loading.get(model);
    if (pending) return pending;
    const asked = this.#generation;
    pending = readRouting(this.#prisma, model)
      .then((routing) => {
        if (this.#ttlMs > 0 && asked === this.#generation) {
          if (this.#known.size >= MODELS_KEPT) this.#known.clear();
          this.#known.set(model, { routing, expires: this.#now() + this.#ttlMs });
        }
        return routing;
      })
      .finally(() => {
        if (this.#loading.get(model) === pending) this.#loading.delete(model);
      });
    this.#loading.set(model, pending);
    return pending;
  }
}

async function readRouting(prisma: PrismaClient, model: string): Promise<Routing> {
  const row = await prisma.model.findUnique({
    where: { name: model },
    select: {
      versions: { select: { id: true, version: true, status: true, studyId: true } },
      aliases: { select: { alias: true, version: { select: { version: true } } } },
      traffic: true,
    },
  });
  if (!row) throw notFound("model", model);
  const versions = new Map(row.versions.map((v) => [v.version, { id: v.id, status: v.status }]));
  let newestReady: number | undefined;
  for (const v of row.versions) {
    // A study's candidate serves only when pinned (a version number or an alias), until the
    // study ends and it wins.
    if (v.studyId !== null) continue;
    if (v.status === "ready" && (newestReady === undefined || v.version > newestReady)) {
      newestReady = v.version;
    }
  }
  const traffic = row.traffic;
  return {
    versions,
    newestReady,
    aliases: new Map(row.aliases.map((a) => [a.alias, a.version.version])),
    split: traffic
      ? {
          revision: traffic.revision,
          entries: readStored(
            storedSplitColumn,
            traffic.split,
            `traffic split of model "${model}"`,
          ),
          sticky: traffic.stickyBy !== null,
          shadow: traffic.shadowVersion,
        }
      : undefined,
  };
}

function choose(request: ResolveRequest, routing: Routing, random: RandomSource): Resolution {
  const { model } = request;
  const ready = (version: number, path?: string): ResolvedVersion => {
    const found = routing.versions.get(version);
    if (!found) {
      const error = notFound("model version", `${model}@${version}`);
      if (path) error.errors.push({ path, message: `is not a version of model "${model}"` });
      throw error;
    }
    if (found.status !== "ready") {
      throw conflict(
        `Version ${version} of model "${model}" is ${found.status}, not ready; only a trained version predicts.`,
      );
    }
    return { versionId: found.id, version };
  };

  if (request.version !== undefined) return ready(request.version);
  if (request.alias !== undefined) {
    const version = routing.aliases.get(request.alias);
    if (version === undefined) {
      throw new AppError("NOT_FOUND", `Model "${model}" has no alias "${request.alias}".`, {
        errors: [{ path: "alias", message: `is not an alias of model "${model}"` }],
      });
    }
    return { ...ready(version), alias: request.alias };
  }
  if (routing.split) {
    const resolution: Resolution = ready(pickVersion(routing.split, request.routingKey, random));
    const shadow = routing.split.shadow;
    if (shadow !== null && routing.versions.get(shadow)?.status === "ready") {
      resolution.shadow = ready(shadow);
    }
    return resolution;
  }
  const production = routing.aliases.get(PRODUCTION);
  if (production !== undefined) return { ...ready(production), alias: PRODUCTION };
  if (routing.newestReady === undefined) {
    throw conflict(`Model "${model}" has no trained version yet; wait for its training job.`);
  }
  return ready(routing.newestReady);
}
