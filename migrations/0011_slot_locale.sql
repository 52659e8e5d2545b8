ALTER TABLE `slots` ADD `currency` text;--> statement-breakpoint
ALTER TABLE `slots` ADD `locale` text;