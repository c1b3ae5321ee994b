/** Models and their versions: listing, describing, deleting. */
import type { Database } from "../platform/db/client.ts";
import { notFound } from "../platform/errors.ts";
import type { DomainEvents } from "../platform/events.ts";
import { recordEvent } from "./aliases/history.ts";
import type { Model, ModelList } from "./schemas.ts";
import { toVersionView } from "./views.ts";

/** The models and their versions as clients list, read and delete them. */
export interface ModelRegistry {
  list(): Promise<ModelList>;
  /** Throws notFound("model", name). */
  get(name: string): Promise<Model>;
  /**
   * Deletes the model with every version, job and metric (a job still training loses its lease
   * and stops at its next heartbeat); throws notFound.
   */
  delete(name: string, actor?: string | null): Promise<void>;
}

export interface ModelRegistryDeps {
  db: Database;
  /** Told `modelDeleted`, so cached networks are dropped at once. */
  events?: DomainEvents;
}

export function createModelRegistry({ db, events }: ModelRegistryDeps): ModelRegistry {
  const { prisma } = db;

  return {
    async list() {
      const models = await prisma.model.findMany({
        orderBy: { name: "asc" },
        include: {
          _count: { select: { versions: true } },
          versions: {
            // A study's candidates are not the model's version until the study clears one.
            where: { status: "ready", studyId: null },
            orderBy: { version: "desc" },
            take: 1,
            select: { version: true },
          },
        },
      });
      return {
        items: models.map((m) => ({
          name: m.name,
          latestVersion: m.versions[0]?.version ?? null,
          versionCount: m._count.versions,
          createdAt: m.createdAt.toISOString(),
          updatedAt: m.updatedAt.toISOString(),
        })),
      };
    },

    async get(name) {
      const model = await prisma.model.findUnique({
        where: { name },
        include: {
          versions: {
            orderBy: { version: "asc" },
            select: {
              version: true,
              status: true,
              architecture: true,
              training: true,
              metrics: true,
              preprocessing: true,
              evaluation: true,
              studyId: true,
              createdAt: true,
              trainedAt: true,
              jobs: { select: { id: true }, orderBy: { createdAt: "asc" }, take: 1 },
            },
          },
        },
      });
      if (!model) throw notFound("model", name);
      const versions = model.versions.map(toVersionView);
      const ready = model.versions.filter((v) => v.status === "ready" && v.studyId === null).at(-1);
      return {
        name: model.name,
        latestVersion: ready?.version ?? null,
        versionCount: versions.length,
        createdAt: model.createdAt.toISOString(),
        updatedAt: model.updatedAt.toISOString(),
        versions,
      };
    },

    // Versions, jobs, epochs and examples go with the model (ON DELETE CASCADE). A job still
    // training finds its lease gone at its next heartbeat and stops.
    // The history stays (model_events has no foreign key): its last entry says who deleted it.
    async delete(name, actor = null) {
      await prisma.$transaction(async (tx) => {
        const [model] = await tx.model.findMany({ where: { name }, select: { id: true } });
        if (!model) throw notFound("model", name);
        await tx.model.delete({ where: { id: model.id } });
        await recordEvent(tx, { model: name, modelId: model.id, kind: "model_deleted", actor });
      });
      events?.emit("modelDeleted", { model: name });
    },
  };
}
