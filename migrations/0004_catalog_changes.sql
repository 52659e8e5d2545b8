CREATE TABLE `catalog_changes` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`item_id` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
-- Backfill: every item already in the catalog is one change, so an isolate with no snapshot reads
-- the whole catalog as the delta from seq 0 and an old database needs no special case.
INSERT INTO `catalog_changes` (`item_id`, `at`) SELECT `id`, `updated_at` FROM `items` ORDER BY `id`;--> statement-breakpoint
-- The change log replaces the old catalog version counter.
DELETE FROM `meta` WHERE `key` = 'catalog_version';
