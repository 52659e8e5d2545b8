-- Issue 14: the operator console's KPI rollups (worker/events/kpi-rollup.ts) and the day's
-- visitor marks. Both WITHOUT ROWID (added by hand: drizzle has no WITHOUT ROWID), keyed by what
-- they are written and read by, so a write touches one b-tree.
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
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `kpi_visitors` (
	`day` integer NOT NULL,
	`segment` text NOT NULL,
	`session_key` text NOT NULL,
	PRIMARY KEY(`session_key`, `day`, `segment`)
) WITHOUT ROWID;
