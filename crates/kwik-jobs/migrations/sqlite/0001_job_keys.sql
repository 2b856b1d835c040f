-- Idempotency keys of side effects jobs have made (JobContext::first_time): a key is inserted
-- in the same transaction as the effect, so a job run again after a crash skips it.
CREATE TABLE kwik_job_keys (
    key TEXT PRIMARY KEY NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
