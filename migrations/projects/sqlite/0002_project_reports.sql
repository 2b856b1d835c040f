-- Reports made by the `count_projects` job (the example app's background job).
CREATE TABLE project_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    attempt INTEGER NOT NULL,
    projects INTEGER NOT NULL,
    worker_pid INTEGER NOT NULL,
    created_at DATETIME NOT NULL
);
