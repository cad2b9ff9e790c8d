CREATE TABLE "daily_event_counts" (
	"day" date NOT NULL,
	"event_name" varchar(64) NOT NULL,
	"user_login_state" varchar(16) NOT NULL,
	"events" bigint NOT NULL,
	CONSTRAINT "daily_event_counts_day_event_name_user_login_state_pk" PRIMARY KEY("day","event_name","user_login_state")
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"session_id" varchar(64) PRIMARY KEY NOT NULL,
	"client_id" varchar(64) NOT NULL,
	"user_id" varchar(128),
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone NOT NULL,
	"events" integer NOT NULL,
	"page_views" integer NOT NULL,
	"product_views" integer NOT NULL,
	"add_to_carts" integer NOT NULL,
	"checkouts" integer NOT NULL,
	"purchases" integer NOT NULL,
	"revenue" numeric(14, 2) NOT NULL,
	"landing_page" varchar(2048) NOT NULL
);
--> statement-breakpoint
CREATE INDEX "sessions_started_idx" ON "sessions" USING btree ("started_at");