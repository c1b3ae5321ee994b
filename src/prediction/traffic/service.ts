/**
 * A model's traffic: set, read and clear its canary split and shadow. Writes check every version
 * named (of this model, ready), lock the model, write the split with a new revision (so sticky
 * routing reshuffles only on a real change) and its history event in one transaction, then tell
 * this process's resolver; other replicas follow within their resolver's TTL.
 */
import type { Database } from "../../platform/db/client.ts";
import { readStored, toJsonColumn } from "../../platform/db/stored-json.ts";
import { notFound } from "../../platform/errors.ts";
import type { DomainEvents } from "../../platform/events.ts";
import { recordEvent } from "../../versions/aliases/history.ts";
import { lockModel, readyVersion } from "../../versions/aliases/model-lock.ts";
import type { ChangeOptions } from "../../versions/aliases/service.ts";
import { storedSplitColumn } from "../../versions/stored-columns.ts";
import type { TrafficFigures } from "./figures.ts";
import type { SetTrafficBody, TrafficView } from "./schemas.ts";

export interface TrafficService {
  get(model: string): Promise<TrafficView>;
  set(model: string, body: SetTrafficBody, options: ChangeOptions): Promise<TrafficView>;
  /** Back to the alias production, else the newest ready version; 404 when no split is set. */
  clear(model: string, options: ChangeOptions): Promise<void>;
}

export function createTrafficService({
  db,
  events,
  figures,
}: {
  db: Database;
  events?: DomainEvents;
  figures: TrafficFigures;
}): TrafficService {
  const { prisma } = db;
  const changed = (model: string) => events?.emit("routingChanged", { model });

  async function get(model: string): Promise<TrafficView> {
    const found = await prisma.model.findUnique({
      where: { name: model },
      select: { traffic: true },
    });
    if (!found) throw notFound("model", model);
    const { versions, shadows } = figures.of(model);
    const served = (version: number) =>
      versions.find((v) => v.version === version) ?? {
        version,
        requests: 0,
        errors: 0,
        p50Ms: null,
        p99Ms: null,
      };
    const traffic = found.traffic;
    const entries = traffic
      ? readStored(storedSplitColumn, traffic.split, `traffic split of model "${model}"`)
      : [];
    const shadow = traffic?.shadowVersion ?? null;
    return {
      split: entries.map((entry) => ({ ...served(entry.version), weight: entry.weight })),
      shadow:
        shadow === null
          ? null
          : (shadows.find((s) => s.version === shadow) ?? {
              version: shadow,
              requests: 0,
              errors: 0,
              skipped: 0,
              rowsCompared: 0,
              labelAgreement: null,
              meanAbsoluteDifference: null,
            }),
      stickyBy: traffic?.stickyBy === "routingKey" ? "routingKey" : null,
      updatedAt: traffic?.updatedAt.toISOString() ?? null,
      updatedBy: traffic?.updatedBy ?? null,
      served: versions,
    };
  }

  return {
    get,

    async set(model, body, { reason, actor }) {
      await prisma.$transaction(async (tx) => {
        const locked = await lockModel(tx, model);
        for (const [i, entry] of body.split.entries()) {
          await readyVersion(tx, locked, entry.version, `split[${i}].version`);
        }
        if (body.shadow) await readyVersion(tx, locked, body.shadow.version, "shadow.version");
        const split = body.split.map(({ version, weight }) => ({ version, weight }));
        // The event's id is the split's revision: unique, and the same on every replica.
        const revision = await recordEvent(tx, {
          model,
          modelId: locked.id,
          kind: "traffic_set",
          detail: {
            split,
            shadow: body.shadow?.version ?? null,
            stickyBy: body.stickyBy ?? null,
          },
          reason,
          actor,
        });
        const data = {
          revision,
          split: toJsonColumn(split),
          shadowVersion: body.shadow?.version ?? null,
          stickyBy: body.stickyBy ?? null,
          updatedAt: new Date(),
          updatedBy: actor,
        };
        await tx.trafficSplit.upsert({
          where: { modelId: locked.id },
          create: { modelId: locked.id, ...data },
          update: data,
        });
      });
      changed(model);
      return get(model);
    },

    async clear(model, { reason, actor }) {
      await prisma.$transaction(async (tx) => {
        const locked = await lockModel(tx, model);
        const { count } = await tx.trafficSplit.deleteMany({ where: { modelId: locked.id } });
        if (count === 0) throw notFound("traffic split of model", model);
        await recordEvent(tx, {
          model,
          modelId: locked.id,
          kind: "traffic_cleared",
          reason,
          actor,
        });
      });
      changed(model);
    },
  };
}
