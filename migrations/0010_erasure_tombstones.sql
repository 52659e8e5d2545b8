CREATE TABLE `erasure_tombstones` (
	`key` text PRIMARY KEY NOT NULL,
	`erased_at` integer NOT NULL
);
