-- Orders: products, orders of customers, and their lines. Decimals are TEXT on SQLite so they
-- stay exact; listing compares them through CAST(.. AS NUMERIC).
CREATE TABLE products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    unit_price TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    creation_time DATETIME NOT NULL,
    last_modification_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    last_modifier_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL CHECK (status IN ('draft', 'confirmed', 'cancelled')),
    note TEXT,
    total TEXT NOT NULL,
    creation_time DATETIME NOT NULL,
    last_modification_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    last_modifier_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX orders_customer_id ON orders (customer_id);
CREATE INDEX orders_creator_user_id ON orders (creator_user_id);

CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price TEXT NOT NULL,
    creation_time DATETIME NOT NULL,
    last_modification_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    last_modifier_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX order_lines_order_id ON order_lines (order_id);
CREATE INDEX order_lines_product_id ON order_lines (product_id);
