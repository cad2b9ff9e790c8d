CREATE TABLE "etl_rebuilt_objects" (
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"object_key" varchar(1024) NOT NULL,
	"etag" varchar(128) NOT NULL,
	"run_id" uuid NOT NULL,
	"rebuilt_at" timestamp with time zone NOT NULL,
	CONSTRAINT "etl_rebuilt_objects_window_start_window_end_object_key_pk" PRIMARY KEY("window_start","window_end","object_key")
);
--> statement-breakpoint
ALTER TABLE "etl_runs" ADD COLUMN "rows_updated" integer DEFAULT 0 NOT NULL;