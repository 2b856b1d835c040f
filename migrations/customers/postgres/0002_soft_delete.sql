-- Customers are soft-deletable (issue 13): who deleted them and when; emails are unique among
-- live customers only, so a deleted customer's email can be used again.
ALTER TABLE customers ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE customers ADD COLUMN deleter_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE customers DROP CONSTRAINT customers_email_key;
CREATE UNIQUE INDEX customers_email_live ON customers (email) WHERE deleted_at IS NULL;
