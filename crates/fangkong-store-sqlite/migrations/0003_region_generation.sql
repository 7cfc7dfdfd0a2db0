-- The generation of the region tree: every write to `region` advances it in
-- the same transaction, so a process that keeps the tree in memory (the
-- service's index for bulk imports) knows whether its copy is current.
CREATE TABLE region_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO region_generation (id, generation) VALUES (1, 1);
