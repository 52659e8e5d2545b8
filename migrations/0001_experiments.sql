CREATE TABLE `experiments` (
	`id` text PRIMARY KEY NOT NULL,
	`slot` text NOT NULL,
	`kind` text NOT NULL,
	`status` text DEFAULT 'draft' NOT NULL,
	`salt` text NOT NULL,
	`config` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`started_at` integer,
	`stopped_at` integer
);
--> statement-breakpoint
CREATE INDEX `experiments_status_idx` ON `experiments` (`status`,`slot`);--> statement-breakpoint
CREATE TABLE `rec_purchases` (
	`event_id` text PRIMARY KEY NOT NULL,
	`recommendation_id` text NOT NULL,
	`value` real DEFAULT 0 NOT NULL,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `rec_purchases_rec_idx` ON `rec_purchases` (`recommendation_id`);--> statement-breakpoint
CREATE TABLE `rec_served` (
	`recommendation_id` text PRIMARY KEY NOT NULL,
	`experiment_id` text NOT NULL,
	`variant` text NOT NULL,
	`context` text DEFAULT '' NOT NULL,
	`slot` text NOT NULL,
	`unit_key` text,
	`served_at` integer NOT NULL,
	`window_ms` integer NOT NULL,
	`impressed_at` integer,
	`clicked_at` integer,
	`carted_at` integer,
	`converted_at` integer
);
--> statement-breakpoint
CREATE INDEX `rec_served_experiment_idx` ON `rec_served` (`experiment_id`,`served_at`);--> statement-breakpoint
CREATE TABLE `segment_rules` (
	`name` text PRIMARY KEY NOT NULL,
	`definition` text NOT NULL,
	`updated_at` integer NOT NULL
);
