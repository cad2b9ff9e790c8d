CREATE TABLE "etl_skipped_objects" (
	"run_id" uuid NOT NULL,
	"object_key" varchar(1024) NOT NULL,
	"reason" varchar(32) NOT NULL,
	"detail" text,
	"skipped_at" timestamp with time zone NOT NULL,
	CONSTRAINT "etl_skipped_objects_run_id_object_key_pk" PRIMARY KEY("run_id","object_key")
);
--> statement-breakpoint
ALTER TABLE "etl_runs" ADD COLUMN "skipped" integer DEFAULT 0 NOT NULL;