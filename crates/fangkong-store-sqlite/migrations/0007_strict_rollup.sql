-- Roll-ups in integer columns that stay integer (issue 12).
--
-- A column declared INTEGER in an ordinary SQLite table takes a REAL when
-- `v1 + excluded.v1` overflows: the national figure silently became a float
-- and every public route that read it answered 500. A STRICT table refuses
-- a REAL that is not a whole number (SQLITE_CONSTRAINT_DATATYPE), so the
-- sum fails, the store names it out of range, and the transaction that
-- tried it writes nothing. Rows are copied with CAST: a roll-up already
-- turned REAL becomes an integer again (and `fangkong audit verify` then
-- names it if it differs from the sum of its reports).
CREATE TABLE rollup_strict (
    form        TEXT NOT NULL,
    region_code TEXT NOT NULL,
    date        TEXT NOT NULL,
    depth       INTEGER NOT NULL,
    v1 INTEGER NOT NULL DEFAULT 0,
    v2 INTEGER NOT NULL DEFAULT 0,
    v3 INTEGER NOT NULL DEFAULT 0,
    v4 INTEGER NOT NULL DEFAULT 0,
    v5 INTEGER NOT NULL DEFAULT 0,
    v6 INTEGER NOT NULL DEFAULT 0,
    v7 INTEGER NOT NULL DEFAULT 0,
    v8 INTEGER NOT NULL DEFAULT 0,
    v9 INTEGER NOT NULL DEFAULT 0,
    v10 INTEGER NOT NULL DEFAULT 0,
    v11 INTEGER NOT NULL DEFAULT 0,
    v12 INTEGER NOT NULL DEFAULT 0,
    v13 INTEGER NOT NULL DEFAULT 0,
    v14 INTEGER NOT NULL DEFAULT 0,
    v15 INTEGER NOT NULL DEFAULT 0,
    v16 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (form, region_code, date)
) STRICT, WITHOUT ROWID;

INSERT INTO rollup_strict (form, region_code, date, depth, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16)
    SELECT form, region_code, date, CAST(depth AS INTEGER), CAST(v1 AS INTEGER), CAST(v2 AS INTEGER), CAST(v3 AS INTEGER), CAST(v4 AS INTEGER), CAST(v5 AS INTEGER), CAST(v6 AS INTEGER), CAST(v7 AS INTEGER), CAST(v8 AS INTEGER), CAST(v9 AS INTEGER), CAST(v10 AS INTEGER), CAST(v11 AS INTEGER), CAST(v12 AS INTEGER), CAST(v13 AS INTEGER), CAST(v14 AS INTEGER), CAST(v15 AS INTEGER), CAST(v16 AS INTEGER)
    FROM rollup;

DROP TABLE rollup;
ALTER TABLE rollup_strict RENAME TO rollup;
CREATE INDEX rollup_day ON rollup(form, date, depth);
