-- Projects (Kwik's endpoint walkthrough), with RecordInfoMixin audit fields.
CREATE TABLE projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    archived BOOLEAN NOT NULL DEFAULT 0,
    creation_time DATETIME NOT NULL,
    last_modification_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    last_modifier_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL
);
