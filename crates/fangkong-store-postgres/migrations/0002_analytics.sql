-- Risk assessment: aberration alerts and county risk levels.
-- The same schema as the SQLite engine's, in PostgreSQL's types.

-- One row per signal: raised once, extended while the method keeps
-- signalling, acknowledged, then closed with a verdict.
CREATE TABLE alert (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    form            TEXT COLLATE "C" NOT NULL,
    field           TEXT COLLATE "C" NOT NULL,
    region_code     TEXT COLLATE "C" NOT NULL REFERENCES region(code),
    method          TEXT NOT NULL,
    -- every method that flagged the signal, comma-separated
    methods         TEXT NOT NULL,
    first_day       DATE NOT NULL,
    last_day        DATE NOT NULL,
    observed        DOUBLE PRECISION NOT NULL,
    expected        DOUBLE PRECISION NOT NULL,
    statistic       DOUBLE PRECISION NOT NULL,
    threshold       DOUBLE PRECISION NOT NULL,
    status          TEXT NOT NULL,
    verdict         TEXT,
    note            TEXT NOT NULL DEFAULT '',
    raised_at       TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    acknowledged_by TEXT,
    closed_by       TEXT,
    UNIQUE (form, field, region_code, first_day)
);
CREATE INDEX alert_form_last ON alert(form, last_day);
CREATE INDEX alert_region ON alert(region_code, last_day);

-- Each assessed region's risk level per day, with the figures behind it.
CREATE TABLE risk_level (
    region_code   TEXT COLLATE "C" NOT NULL REFERENCES region(code),
    date          DATE NOT NULL,
    level         TEXT NOT NULL,
    new_in_window BIGINT NOT NULL,
    cumulative    BIGINT NOT NULL,
    cluster       BOOLEAN NOT NULL,
    PRIMARY KEY (region_code, date)
);
CREATE INDEX risk_level_date ON risk_level(date);
