CREATE TABLE "privacy_erasures" (
	"erasure_id" uuid PRIMARY KEY NOT NULL,
	"subject_kind" varchar(8) NOT NULL,
	"subject_sha256" varchar(64) NOT NULL,
	"requested_by" varchar(128),
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone NOT NULL,
	"rows_deleted" integer NOT NULL,
	"sessions_deleted" integer NOT NULL,
	"quarantined_deleted" integer NOT NULL,
	"lake_objects_rewritten" integer NOT NULL,
	"lake_lines_removed" integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX "privacy_erasures_subject_idx" ON "privacy_erasures" USING btree ("subject_sha256");