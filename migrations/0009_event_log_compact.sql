-- Issue 12: a smaller D1 footprint per queue message. The log manifest and rec_ctr become
-- WITHOUT ROWID tables keyed by what they are queried by (the object key, which sorts by hour;
-- (received_at, claim)), so neither keeps a rowid b-tree plus a second index. The manifest drops
-- `hour` (a prefix of the key) and `written_at` (unread). Rebuilt by hand: drizzle has no WITHOUT ROWID.
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_event_log_objects` (
	`key` text PRIMARY KEY NOT NULL,
	`rows` integer NOT NULL,
	`bytes` integer NOT NULL,
	`views` integer DEFAULT 0 NOT NULL,
	`clicks` integer DEFAULT 0 NOT NULL,
	`carts` integer DEFAULT 0 NOT NULL,
	`purchases` integer DEFAULT 0 NOT NULL,
	`impressions` integer DEFAULT 0 NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_event_log_objects`("key", "rows", "bytes", "views", "clicks", "carts", "purchases", "impressions") SELECT "key", "rows", "bytes", "views", "clicks", "carts", "purchases", "impressions" FROM `event_log_objects`;--> statement-breakpoint
DROP TABLE `event_log_objects`;--> statement-breakpoint
ALTER TABLE `__new_event_log_objects` RENAME TO `event_log_objects`;--> statement-breakpoint
CREATE TABLE `__new_rec_ctr` (
	`claim` text NOT NULL,
	`received_at` integer NOT NULL,
	`impressions` integer NOT NULL,
	`clicks` integer NOT NULL,
	PRIMARY KEY(`received_at`, `claim`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_rec_ctr`("claim", "received_at", "impressions", "clicks") SELECT "claim", "received_at", "impressions", "clicks" FROM `rec_ctr`;--> statement-breakpoint
DROP TABLE `rec_ctr`;--> statement-breakpoint
ALTER TABLE `__new_rec_ctr` RENAME TO `rec_ctr`;--> statement-breakpoint
PRAGMA foreign_keys=ON;
