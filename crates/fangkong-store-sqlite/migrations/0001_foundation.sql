-- fangkong on SQLite: regions, reports with their roll-ups, users, audit.

-- The tree of administrative divisions. `path` lists the codes from the
-- nation down to the region (`/000000/420000/420100/`), so a subtree is one
-- range of the path index.
CREATE TABLE region (
    code        TEXT PRIMARY KEY,
    parent_code TEXT REFERENCES region(code),
    name        TEXT NOT NULL,
    level       INTEGER NOT NULL,
    path        TEXT NOT NULL UNIQUE
) WITHOUT ROWID;
CREATE INDEX region_parent ON region(parent_code);
CREATE INDEX region_level_path ON region(level, path);

-- Every version of every report, append-only and hash-chained by seq.
-- `current` marks the version that counts (derived: the highest version).
-- v1..v16 are the form's fields in order.
CREATE TABLE report (
    seq         INTEGER PRIMARY KEY,
    form        TEXT NOT NULL,
    region_code TEXT NOT NULL,
    date        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    depth       INTEGER NOT NULL,
    v1 INTEGER NOT NULL DEFAULT 0, v2 INTEGER NOT NULL DEFAULT 0,
    v3 INTEGER NOT NULL DEFAULT 0, v4 INTEGER NOT NULL DEFAULT 0,
    v5 INTEGER NOT NULL DEFAULT 0, v6 INTEGER NOT NULL DEFAULT 0,
    v7 INTEGER NOT NULL DEFAULT 0, v8 INTEGER NOT NULL DEFAULT 0,
    v9 INTEGER NOT NULL DEFAULT 0, v10 INTEGER NOT NULL DEFAULT 0,
    v11 INTEGER NOT NULL DEFAULT 0, v12 INTEGER NOT NULL DEFAULT 0,
    v13 INTEGER NOT NULL DEFAULT 0, v14 INTEGER NOT NULL DEFAULT 0,
    v15 INTEGER NOT NULL DEFAULT 0, v16 INTEGER NOT NULL DEFAULT 0,
    filed_by    TEXT NOT NULL,
    filed_at    TEXT NOT NULL,
    source      TEXT NOT NULL,
    hash        BLOB NOT NULL,
    current     INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX report_key ON report(form, region_code, date, version);
CREATE INDEX report_day ON report(form, date, depth) WHERE current = 1;

-- For each region and day, the sum of its children's figures (a child's
-- figure is its own current report if it has one, else its own roll-up).
CREATE TABLE rollup (
    form        TEXT NOT NULL,
    region_code TEXT NOT NULL,
    date        TEXT NOT NULL,
    depth       INTEGER NOT NULL,
    v1 INTEGER NOT NULL DEFAULT 0, v2 INTEGER NOT NULL DEFAULT 0,
    v3 INTEGER NOT NULL DEFAULT 0, v4 INTEGER NOT NULL DEFAULT 0,
    v5 INTEGER NOT NULL DEFAULT 0, v6 INTEGER NOT NULL DEFAULT 0,
    v7 INTEGER NOT NULL DEFAULT 0, v8 INTEGER NOT NULL DEFAULT 0,
    v9 INTEGER NOT NULL DEFAULT 0, v10 INTEGER NOT NULL DEFAULT 0,
    v11 INTEGER NOT NULL DEFAULT 0, v12 INTEGER NOT NULL DEFAULT 0,
    v13 INTEGER NOT NULL DEFAULT 0, v14 INTEGER NOT NULL DEFAULT 0,
    v15 INTEGER NOT NULL DEFAULT 0, v16 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (form, region_code, date)
) WITHOUT ROWID;
CREATE INDEX rollup_day ON rollup(form, date, depth);

CREATE TABLE review (
    id          INTEGER PRIMARY KEY,
    form        TEXT NOT NULL,
    region_code TEXT NOT NULL,
    date        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    status      TEXT NOT NULL,
    note        TEXT NOT NULL,
    reviewer    TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX review_key ON review(form, region_code, date, version);

-- The last entry of each chain, locked by every writer of that chain.
CREATE TABLE chain_head (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO chain_head (name, seq, hash) VALUES
    ('report', 0, zeroblob(32)),
    ('audit', 0, zeroblob(32));

CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    before     TEXT,
    after      TEXT,
    hash       BLOB NOT NULL
);
CREATE INDEX audit_entity_key ON audit(entity_key);

CREATE TABLE app_user (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    region_code   TEXT NOT NULL REFERENCES region(code),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE session (
    token_hash BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES app_user(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
