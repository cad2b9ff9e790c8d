CREATE TABLE "etl_dirty_days" (
	"day" date PRIMARY KEY NOT NULL,
	"marked_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "etl_loaded_objects" ALTER COLUMN "rows_inserted" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "etl_loaded_objects" ALTER COLUMN "duplicates" DROP NOT NULL;