CREATE TABLE `events` (
	`event_id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`item_id` text NOT NULL,
	`session_key` text NOT NULL,
	`user_key` text,
	`ts` integer NOT NULL,
	`recommendation_id` text,
	`slot` text,
	`value` real,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_ts_idx` ON `events` (`ts`);--> statement-breakpoint
CREATE INDEX `events_user_idx` ON `events` (`user_key`);--> statement-breakpoint
CREATE INDEX `events_session_idx` ON `events` (`session_key`);--> statement-breakpoint
CREATE TABLE `items` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`category` text,
	`brand` text,
	`price` real,
	`image_url` text,
	`url` text,
	`tags` text DEFAULT '[]' NOT NULL,
	`in_stock` integer DEFAULT true NOT NULL,
	`popularity` real DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `items_category_idx` ON `items` (`category`);--> statement-breakpoint
CREATE INDEX `items_popularity_idx` ON `items` (`popularity`);--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `models` (
	`version` text PRIMARY KEY NOT NULL,
	`r2_prefix` text NOT NULL,
	`sha256` text NOT NULL,
	`bytes` integer NOT NULL,
	`status` text DEFAULT 'registered' NOT NULL,
	`created_at` integer NOT NULL,
	`activated_at` integer,
	`previous_version` text,
	`summary` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE TABLE `profiles` (
	`user_key` text PRIMARY KEY NOT NULL,
	`affinities` text DEFAULT '{}' NOT NULL,
	`recent_items` text DEFAULT '[]' NOT NULL,
	`purchases` text DEFAULT '[]' NOT NULL,
	`event_count` integer DEFAULT 0 NOT NULL,
	`purchase_count` integer DEFAULT 0 NOT NULL,
	`monetary` real DEFAULT 0 NOT NULL,
	`last_purchase_at` integer,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `slots` (
	`slot` text PRIMARY KEY NOT NULL,
	`rules` text DEFAULT '{}' NOT NULL,
	`template` text,
	`updated_at` integer NOT NULL
);
