-- Risk assessment: aberration alerts and county risk levels.

-- One row per signal: raised once, extended while the method keeps
-- signalling, acknowledged, then closed with a verdict.
CREATE TABLE alert (
    id              INTEGER PRIMARY KEY,
    form            TEXT NOT NULL,
    field           TEXT NOT NULL,
    region_code     TEXT NOT NULL REFERENCES region(code),
    method          TEXT NOT NULL,
    -- every method that flagged the signal, comma-separated
    methods         TEXT NOT NULL,
    first_day       TEXT NOT NULL,
    last_day        TEXT NOT NULL,
    observed        REAL NOT NULL,
    expected        REAL NOT NULL,
    statistic       REAL NOT NULL,
    threshold       REAL NOT NULL,
    status          TEXT NOT NULL,
    verdict         TEXT,
    note            TEXT NOT NULL DEFAULT '',
    raised_at       TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    acknowledged_by TEXT,
    closed_by       TEXT,
    UNIQUE (form, field, region_code, first_day)
);
CREATE INDEX alert_form_last ON alert(form, last_day);
CREATE INDEX alert_region ON alert(region_code, last_day);

-- Each assessed region's risk level per day, with the figures behind it.
CREATE TABLE risk_level (
    region_code   TEXT NOT NULL REFERENCES region(code),
    date          TEXT NOT NULL,
    level         TEXT NOT NULL,
    new_in_window INTEGER NOT NULL,
    cumulative    INTEGER NOT NULL,
    cluster       INTEGER NOT NULL,
    PRIMARY KEY (region_code, date)
) WITHOUT ROWID;
CREATE INDEX risk_level_date ON risk_level(date);
