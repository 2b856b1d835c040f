-- Customers (Kwik's front-page example). credit_limit is TEXT on SQLite so the decimal stays
-- exact; listing compares it through CAST(.. AS NUMERIC).
CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    credit_limit TEXT NOT NULL,
    creation_time DATETIME NOT NULL,
    last_modification_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    last_modifier_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL
);
