CREATE TABLE "client_hours" (
	"client_id" varchar(64) NOT NULL,
	"login_key" varchar(16) NOT NULL,
	"include_bots" boolean NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"prev_hour" timestamp with time zone NOT NULL,
	CONSTRAINT "client_hours_client_id_login_key_include_bots_hour_pk" PRIMARY KEY("client_id","login_key","include_bots","hour")
);
--> statement-breakpoint
CREATE TABLE "quarantined_events" (
	"object_key" varchar(1024) NOT NULL,
	"line" integer NOT NULL,
	"source" varchar(8) NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"event_name" varchar(64),
	"event_version" integer,
	"rule" varchar(64) NOT NULL,
	"path" varchar(512) NOT NULL,
	"message" varchar(512) NOT NULL,
	"errors" jsonb NOT NULL,
	"raw_excerpt" varchar(2048),
	"loaded_at" timestamp with time zone NOT NULL,
	CONSTRAINT "quarantined_events_object_key_line_pk" PRIMARY KEY("object_key","line")
);
--> statement-breakpoint
CREATE TABLE "rollup_clients" (
	"grain" varchar(1) NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"login_key" varchar(16) NOT NULL,
	"include_bots" boolean NOT NULL,
	"prev_hour" timestamp with time zone NOT NULL,
	"clients" bigint NOT NULL,
	CONSTRAINT "rollup_clients_grain_bucket_login_key_include_bots_prev_hour_pk" PRIMARY KEY("grain","bucket","login_key","include_bots","prev_hour")
);
--> statement-breakpoint
CREATE TABLE "rollup_event_counts" (
	"grain" varchar(1) NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"event_name" varchar(64) NOT NULL,
	"event_version" smallint NOT NULL,
	"user_login_state" varchar(16) NOT NULL,
	"identity_source" varchar(32) NOT NULL,
	"is_bot" boolean NOT NULL,
	"events" bigint NOT NULL,
	"order_total" numeric(16, 2) NOT NULL,
	CONSTRAINT "rollup_event_counts_grain_bucket_event_name_event_version_user_login_state_identity_source_is_bot_pk" PRIMARY KEY("grain","bucket","event_name","event_version","user_login_state","identity_source","is_bot")
);
--> statement-breakpoint
CREATE TABLE "rollup_funnel" (
	"grain" varchar(1) NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"user_login_state" varchar(16) NOT NULL,
	"is_bot" boolean NOT NULL,
	"step" smallint NOT NULL,
	"within_s" integer NOT NULL,
	"sessions" bigint NOT NULL,
	CONSTRAINT "rollup_funnel_grain_bucket_user_login_state_is_bot_step_within_s_pk" PRIMARY KEY("grain","bucket","user_login_state","is_bot","step","within_s")
);
--> statement-breakpoint
CREATE TABLE "rollup_paths" (
	"grain" varchar(1) NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"user_login_state" varchar(16) NOT NULL,
	"is_bot" boolean NOT NULL,
	"kind" varchar(8) NOT NULL,
	"step1" varchar(64) NOT NULL,
	"step2" varchar(64) NOT NULL,
	"step3" varchar(64) NOT NULL,
	"sessions" bigint NOT NULL,
	CONSTRAINT "rollup_paths_grain_bucket_user_login_state_is_bot_kind_step1_step2_step3_pk" PRIMARY KEY("grain","bucket","user_login_state","is_bot","kind","step1","step2","step3")
);
--> statement-breakpoint
CREATE TABLE "rollup_products" (
	"grain" varchar(1) NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"product_id" varchar(64) NOT NULL,
	"user_login_state" varchar(16) NOT NULL,
	"is_bot" boolean NOT NULL,
	"product_name" varchar(255),
	"category" varchar(100),
	"brand" varchar(100),
	"views" bigint NOT NULL,
	"add_to_carts" bigint NOT NULL,
	"purchases" bigint NOT NULL,
	"revenue" numeric(16, 2) NOT NULL,
	CONSTRAINT "rollup_products_grain_bucket_product_id_user_login_state_is_bot_pk" PRIMARY KEY("grain","bucket","product_id","user_login_state","is_bot")
);
--> statement-breakpoint
CREATE TABLE "rollup_retention" (
	"include_bots" boolean NOT NULL,
	"first_day" date NOT NULL,
	"active_day" date NOT NULL,
	"prev_day" date NOT NULL,
	"clients" bigint NOT NULL,
	CONSTRAINT "rollup_retention_include_bots_first_day_active_day_prev_day_pk" PRIMARY KEY("include_bots","first_day","active_day","prev_day")
);
--> statement-breakpoint
CREATE TABLE "rollup_session_sources" (
	"grain" varchar(1) NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"dimension" varchar(16) NOT NULL,
	"value" varchar(512) NOT NULL,
	"user_login_state" varchar(16) NOT NULL,
	"is_bot" boolean NOT NULL,
	"sessions" bigint NOT NULL,
	"bounces" bigint NOT NULL,
	"converted" bigint NOT NULL,
	CONSTRAINT "rollup_session_sources_grain_bucket_dimension_value_user_login_state_is_bot_pk" PRIMARY KEY("grain","bucket","dimension","value","user_login_state","is_bot")
);
--> statement-breakpoint
CREATE TABLE "rollup_sessions" (
	"grain" varchar(1) NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"user_login_state" varchar(16) NOT NULL,
	"is_bot" boolean NOT NULL,
	"is_new_client" boolean NOT NULL,
	"device_class" varchar(16) NOT NULL,
	"browser" varchar(32) NOT NULL,
	"sessions" bigint NOT NULL,
	"bounces" bigint NOT NULL,
	"duration_ms" bigint NOT NULL,
	"page_views" bigint NOT NULL,
	"events" bigint NOT NULL,
	"converted" bigint NOT NULL,
	CONSTRAINT "rollup_sessions_grain_bucket_user_login_state_is_bot_is_new_client_device_class_browser_pk" PRIMARY KEY("grain","bucket","user_login_state","is_bot","is_new_client","device_class","browser")
);
--> statement-breakpoint
CREATE TABLE "session_details" (
	"session_id" varchar(64) PRIMARY KEY NOT NULL,
	"client_id" varchar(64) NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"start_hour" timestamp with time zone NOT NULL,
	"user_login_state" varchar(16) NOT NULL,
	"is_bot" boolean NOT NULL,
	"is_new_client" boolean NOT NULL,
	"device_class" varchar(16) NOT NULL,
	"browser" varchar(32) NOT NULL,
	"landing_path" varchar(512) NOT NULL,
	"referrer_host" varchar(255) NOT NULL,
	"utm_source" varchar(255) NOT NULL,
	"duration_ms" bigint NOT NULL,
	"events" integer NOT NULL,
	"page_views" integer NOT NULL,
	"bounce" boolean NOT NULL,
	"converted" boolean NOT NULL,
	"funnel_reach" jsonb NOT NULL,
	"steps" jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "clickstream_events" ADD COLUMN "is_bot" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "clickstream_events" ADD COLUMN "device_class" varchar(16);--> statement-breakpoint
ALTER TABLE "clickstream_events" ADD COLUMN "browser" varchar(32);--> statement-breakpoint
CREATE INDEX "client_hours_hour_idx" ON "client_hours" USING btree ("hour");--> statement-breakpoint
CREATE INDEX "quarantined_events_received_idx" ON "quarantined_events" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "session_details_start_hour_idx" ON "session_details" USING btree ("start_hour");--> statement-breakpoint
CREATE INDEX "clickstream_events_client_idx" ON "clickstream_events" USING btree ("client_id","event_timestamp");