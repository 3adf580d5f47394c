-- Orders gain a delivery address and a note for the courier (1.1.0), the expand step of an
-- expand/contract change: both columns are nullable and have no default, so adding them rewrites
-- nothing and the API of 1.0.0, which names the columns it reads and writes, works on as before.
-- The limits are CHECK constraints added NOT VALID: they hold every row written from now on
-- without scanning the table under its lock; 0006 validates them in a transaction of its own.

ALTER TABLE orders
  ADD COLUMN delivery_address text,
  ADD COLUMN delivery_note text;

ALTER TABLE orders
  ADD CONSTRAINT orders_delivery_address_length
    CHECK (length(delivery_address) BETWEEN 1 AND 500) NOT VALID;

ALTER TABLE orders
  ADD CONSTRAINT orders_delivery_note_length CHECK (length(delivery_note) <= 500) NOT VALID;
