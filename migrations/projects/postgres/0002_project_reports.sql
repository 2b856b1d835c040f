-- Reports made by the `count_projects` job (the example app's background job).
CREATE TABLE project_reports (
    id BIGSERIAL PRIMARY KEY,
    job_id TEXT NOT NULL UNIQUE,
    attempt INTEGER NOT NULL,
    projects BIGINT NOT NULL,
    worker_pid BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
