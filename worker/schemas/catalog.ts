import { z } from '@hono/zod-openapi';
import { Id } from './common';

const Url = z.string().max(2048).refine((s) => /^(https?:\/\/|\/)/.test(s), 'must be an http(s) URL or a path starting with /');

export const CatalogItemSchema = z
  .object({
    item_id: Id,
    title: z.string().trim().min(1).max(500),
    category: z.string().trim().max(200).nullish(),
    brand: z.string().trim().max(200).nullish(),
    price: z.number().finite().nonnegative().nullish(),
    image_url: Url.nullish(),
    url: Url.nullish(),
    tags: z.array(z.string().trim().min(1).max(100)).max(50).default([]),
    in_stock: z.boolean().default(true),
    popularity: z.number().finite().nonnegative().optional(),
  })
  .openapi('CatalogItem');

export type CatalogItemInput = z.output<typeof CatalogItemSchema>;

export const CatalogPatchSchema = CatalogItemSchema.omit({ item_id: true }).partial().openapi('CatalogPatch');

export const MAX_CATALOG_ITEMS_PER_CALL = 10_000;

export const CatalogUpsertResultSchema = z
  .object({
    upserted: z.number().int(),
    rejected: z.array(z.object({ line: z.number().int(), item_id: z.string().nullable(), issues: z.array(z.object({ field: z.string(), message: z.string() })) })),
    catalog_version: z.number().int(),
    written_at: z.number().int().nullable().openapi({ description: "The items' updated_at (ms): a chunked full import passes its first chunk's value to POST /v1/admin/catalog/removals" }),
  })
  .openapi('CatalogUpsertResult');
