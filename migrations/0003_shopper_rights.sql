CREATE TABLE `erasure_receipts` (
	`id` text PRIMARY KEY NOT NULL,
	`erased_at` integer NOT NULL,
	`counts` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `shopper_sessions` (
	`user_key` text NOT NULL,
	`session_key` text NOT NULL,
	`first_seen` integer NOT NULL,
	PRIMARY KEY(`user_key`, `session_key`)
);
--> statement-breakpoint
CREATE INDEX `shopper_sessions_session_idx` ON `shopper_sessions` (`session_key`);--> statement-breakpoint
-- Backfill: the sessions each user was seen in, from the event log still in D1.
INSERT OR IGNORE INTO `shopper_sessions` (`user_key`, `session_key`, `first_seen`)
SELECT `user_key`, `session_key`, MIN(`ts`) FROM `events` WHERE `user_key` IS NOT NULL GROUP BY `user_key`, `session_key`;
