CREATE TABLE `canary_ctr` (
	`rollout_id` text NOT NULL,
	`claim` text NOT NULL,
	`arm` text NOT NULL,
	`impressions` integer NOT NULL,
	`clicks` integer NOT NULL,
	PRIMARY KEY(`rollout_id`, `claim`, `arm`)
);
--> statement-breakpoint
CREATE TABLE `event_log_objects` (
	`key` text PRIMARY KEY NOT NULL,
	`hour` text NOT NULL,
	`rows` integer NOT NULL,
	`bytes` integer NOT NULL,
	`written_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `event_log_objects_hour_idx` ON `event_log_objects` (`hour`);--> statement-breakpoint
CREATE TABLE `rec_ctr` (
	`claim` text PRIMARY KEY NOT NULL,
	`received_at` integer NOT NULL,
	`impressions` integer NOT NULL,
	`clicks` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `rec_ctr_received_idx` ON `rec_ctr` (`received_at`);