-- Directives from a level to the units below, and the public tip line
-- (R10, R11). Alerts, the third kind of task, live in `alert`.
-- The same schema as the SQLite engine's, in PostgreSQL's types.

-- One row per directive; its targets in `directive_target`.
CREATE TABLE directive (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    text          TEXT NOT NULL,
    deadline      TIMESTAMPTZ NOT NULL,
    issuer_region TEXT COLLATE "C" NOT NULL REFERENCES region(code),
    -- the issuer region's path (byte-wise ranges select a subtree)
    issuer_path   TEXT COLLATE "C" NOT NULL,
    issued_by     TEXT NOT NULL,
    issued_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX directive_issuer_path ON directive(issuer_path);

-- One row per target unit: issued → acknowledged → completed.
CREATE TABLE directive_target (
    directive_id    BIGINT NOT NULL REFERENCES directive(id),
    region_code     TEXT COLLATE "C" NOT NULL REFERENCES region(code),
    path            TEXT COLLATE "C" NOT NULL,
    status          TEXT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at TIMESTAMPTZ,
    completed_by    TEXT,
    completed_at    TIMESTAMPTZ,
    note            TEXT,
    PRIMARY KEY (directive_id, region_code)
);
CREATE INDEX directive_target_path ON directive_target(path);

-- Tips from the public: a task of the responsible unit. `contact` is
-- personal data, read only by that unit. (Rate limiting is in memory; no
-- client address is stored.)
CREATE TABLE tip (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region_code      TEXT COLLATE "C" NOT NULL REFERENCES region(code),
    responsible      TEXT COLLATE "C" NOT NULL REFERENCES region(code),
    responsible_path TEXT COLLATE "C" NOT NULL,
    what             TEXT NOT NULL,
    contact          TEXT,
    received_at      TIMESTAMPTZ NOT NULL,
    status           TEXT NOT NULL,
    handled_by       TEXT,
    handled_at       TIMESTAMPTZ,
    note             TEXT
);
CREATE INDEX tip_responsible ON tip(responsible_path, status);
