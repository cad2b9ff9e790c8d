CREATE TABLE "clickstream_events" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"event_timestamp" timestamp with time zone NOT NULL,
	"event_name" varchar(64) NOT NULL,
	"user_id" varchar(128),
	"user_login_state" varchar(16) NOT NULL,
	"identity_source" varchar(32) NOT NULL,
	"client_id" varchar(64) NOT NULL,
	"session_id" varchar(64) NOT NULL,
	"is_first_visit" boolean DEFAULT false NOT NULL,
	"context_product_id" varchar(64),
	"context_product_name" varchar(255),
	"context_product_category" varchar(100),
	"context_product_brand" varchar(100),
	"context_product_price" numeric(12, 2),
	"context_product_discount_price" numeric(12, 2),
	"context_product_url_path" varchar(512),
	"event_version" smallint NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"page_url" varchar(2048) NOT NULL,
	"page_referrer" varchar(2048),
	"order_id" varchar(64),
	"order_total" numeric(14, 2),
	"currency" varchar(3),
	"quantity" integer,
	"properties" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "etl_loaded_objects" (
	"object_key" varchar(1024) PRIMARY KEY NOT NULL,
	"etag" varchar(128) NOT NULL,
	"run_id" uuid NOT NULL,
	"loaded_at" timestamp with time zone NOT NULL,
	"lines" integer NOT NULL,
	"rows_inserted" integer NOT NULL,
	"duplicates" integer NOT NULL,
	"quarantined" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "etl_runs" (
	"run_id" uuid PRIMARY KEY NOT NULL,
	"trigger" varchar(16) NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"status" varchar(16) NOT NULL,
	"objects" integer NOT NULL,
	"rows_inserted" integer NOT NULL,
	"duplicates" integer NOT NULL,
	"quarantined" integer NOT NULL,
	"duration_ms" integer,
	"error" text
);
--> statement-breakpoint
CREATE INDEX "clickstream_events_time_idx" ON "clickstream_events" USING btree ("event_timestamp");--> statement-breakpoint
CREATE INDEX "clickstream_events_name_time_idx" ON "clickstream_events" USING btree ("event_name","event_timestamp");--> statement-breakpoint
CREATE INDEX "clickstream_events_session_idx" ON "clickstream_events" USING btree ("session_id","event_timestamp");--> statement-breakpoint
CREATE INDEX "etl_loaded_objects_run_idx" ON "etl_loaded_objects" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "etl_runs_started_idx" ON "etl_runs" USING btree ("started_at");