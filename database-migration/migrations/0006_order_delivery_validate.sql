-- Validates 0005's delivery limits against the rows from before them. VALIDATE CONSTRAINT takes
-- only a SHARE UPDATE EXCLUSIVE lock, so orders are read and written meanwhile; in the
-- transaction that added the constraints it would have held their ACCESS EXCLUSIVE lock instead.

ALTER TABLE orders VALIDATE CONSTRAINT orders_delivery_address_length;
ALTER TABLE orders VALIDATE CONSTRAINT orders_delivery_note_length;
