CREATE TABLE `kpi_rollups` (
	`grain` text NOT NULL,
	`bucket` integer NOT NULL,
	`slot` text NOT NULL,
	`segment` text NOT NULL,
	`visitors` integer DEFAULT 0 NOT NULL,
	`views` integer DEFAULT 0 NOT NULL,
	`impressions` integer DEFAULT 0 NOT NULL,
	`clicks` integer DEFAULT 0 NOT NULL,
	`carts` integer DEFAULT 0 NOT NULL,
	`orders` integer DEFAULT 0 NOT NULL,
	`items` integer DEFAULT 0 NOT NULL,
	`revenue` real DEFAULT 0 NOT NULL,
	`rec_orders` integer DEFAULT 0 NOT NULL,
	`rec_revenue` real DEFAULT 0 NOT NULL,
	`repeat_orders` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`grain`, `bucket`, `slot`, `segment`)
);
--> statement-breakpoint
CREATE TABLE `kpi_visitors` (
	`day` integer NOT NULL,
	`segment` text NOT NULL,
	`session_key` text NOT NULL,
	PRIMARY KEY(`day`, `session_key`, `segment`)
);
--> statement-breakpoint
CREATE INDEX `kpi_visitors_session_idx` ON `kpi_visitors` (`session_key`);