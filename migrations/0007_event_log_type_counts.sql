ALTER TABLE `event_log_objects` ADD `views` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `event_log_objects` ADD `clicks` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `event_log_objects` ADD `carts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `event_log_objects` ADD `purchases` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `event_log_objects` ADD `impressions` integer DEFAULT 0 NOT NULL;