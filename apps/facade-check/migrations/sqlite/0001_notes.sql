-- Notes: the facade check's one resource.
CREATE TABLE notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    state TEXT NOT NULL,
    amount TEXT NOT NULL,
    creation_time DATETIME NOT NULL,
    last_modification_time DATETIME NOT NULL,
    creator_user_id INTEGER,
    last_modifier_user_id INTEGER
);
