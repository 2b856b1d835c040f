-- no-transaction
-- Customers are soft-deletable (issue 13): who deleted them and when; emails are unique among
-- live customers only. SQLite cannot drop a UNIQUE column constraint, so the table is rebuilt
-- (SQLite's documented procedure: foreign keys off outside the transaction, copy, drop, rename,
-- foreign keys back on). The AUTOINCREMENT counter is carried over, so ids of customers deleted
-- before the rebuild are never handed out again.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE customers_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    credit_limit TEXT NOT NULL,
    creation_time DATETIME NOT NULL,
    last_modification_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    last_modifier_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    deleted_at DATETIME,
    deleter_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL
);
INSERT INTO customers_rebuilt (id, name, email, credit_limit, creation_time, last_modification_time,
                               creator_user_id, last_modifier_user_id)
    SELECT id, name, email, credit_limit, creation_time, last_modification_time, creator_user_id,
           last_modifier_user_id
    FROM customers;
UPDATE sqlite_sequence
    SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'customers'), 0))
    WHERE name = 'customers_rebuilt';
DROP TABLE customers;
ALTER TABLE customers_rebuilt RENAME TO customers;
CREATE UNIQUE INDEX customers_email_live ON customers (email) WHERE deleted_at IS NULL;
COMMIT;
PRAGMA foreign_keys = ON;
