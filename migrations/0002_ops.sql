CREATE TABLE `export_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`from_received_at` integer NOT NULL,
	`to_received_at` integer NOT NULL,
	`rows` integer DEFAULT 0 NOT NULL,
	`parts` text DEFAULT '[]' NOT NULL,
	`error` text
);
--> statement-breakpoint
CREATE TABLE `model_rollouts` (
	`id` text PRIMARY KEY NOT NULL,
	`version` text NOT NULL,
	`stable_version` text,
	`share` real NOT NULL,
	`status` text DEFAULT 'running' NOT NULL,
	`rule` text NOT NULL,
	`started_at` integer NOT NULL,
	`decided_at` integer,
	`decision` text
);
--> statement-breakpoint
CREATE INDEX `model_rollouts_status_idx` ON `model_rollouts` (`status`);