-- The menu's generation: a number every change to products bumps in the same transaction, so an
-- API replica can tell with one cheap read whether its cached menu pages are still current, also
-- where notifications do not reach it (through a transaction pooler, or while its notification
-- connection is down). A statement trigger bumps it, so every writer does, the API of the previous
-- release and database-load included; that release never reads the table.

CREATE TABLE menu_generation (
  id          boolean PRIMARY KEY DEFAULT true,
  generation  bigint NOT NULL DEFAULT 0,
  CONSTRAINT menu_generation_one_row CHECK (id)
);
INSERT INTO menu_generation (id, generation) VALUES (true, 0);

CREATE FUNCTION bump_menu_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE menu_generation SET generation = generation + 1 WHERE id;
  RETURN NULL;
END;
$$;

CREATE TRIGGER products_bump_menu_generation
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON products
  FOR EACH STATEMENT EXECUTE FUNCTION bump_menu_generation();
