-- One row per /slow answer: what was asked, what came out, who served it.
CREATE TABLE transformation_results (
  id bigserial PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  service_version text NOT NULL,
  hostname text NOT NULL,
  trace_id text,
  requested_delay_ms integer NOT NULL,
  delay_ms integer NOT NULL,
  records integer NOT NULL,
  checksum bigint NOT NULL
);
