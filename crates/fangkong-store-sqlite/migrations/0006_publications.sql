-- Published data (R10): releases of a day's figures, kept in every version,
-- and the errata between versions. Rows are only ever inserted.

-- One version of what was published of one region on one day.
CREATE TABLE release (
    date            TEXT NOT NULL,
    region_code     TEXT NOT NULL REFERENCES region(code),
    version         INTEGER NOT NULL,
    published_at    TEXT NOT NULL,
    published_by    TEXT NOT NULL,
    -- why it was revised (from version 2 on)
    reason          TEXT,
    -- how many children had figures for the day
    units_reporting INTEGER NOT NULL,
    PRIMARY KEY (date, region_code, version)
) WITHOUT ROWID;
CREATE INDEX release_region ON release(region_code, date);

-- The figures of the released region and of each of its children.
CREATE TABLE release_figure (
    date                TEXT NOT NULL,
    release_code        TEXT NOT NULL,
    version             INTEGER NOT NULL,
    region_code         TEXT NOT NULL,
    name                TEXT NOT NULL,
    depth               INTEGER NOT NULL,
    reported            INTEGER NOT NULL,
    new_confirmed       INTEGER NOT NULL,
    new_suspected       INTEGER NOT NULL,
    new_severe          INTEGER NOT NULL,
    new_deaths          INTEGER NOT NULL,
    new_recovered       INTEGER NOT NULL,
    cum_confirmed       INTEGER NOT NULL,
    cum_deaths          INTEGER NOT NULL,
    cum_recovered       INTEGER NOT NULL,
    current_severe      INTEGER NOT NULL,
    current_suspected   INTEGER NOT NULL,
    current_observation INTEGER NOT NULL,
    PRIMARY KEY (date, release_code, version, region_code),
    FOREIGN KEY (date, release_code, version) REFERENCES release(date, region_code, version)
) WITHOUT ROWID;
CREATE INDEX release_figure_level ON release_figure(depth, date);

-- One figure changed by a revision: old and new value, when, by whom, why.
CREATE TABLE erratum (
    id           INTEGER PRIMARY KEY,
    date         TEXT NOT NULL,
    region_code  TEXT NOT NULL,
    depth        INTEGER NOT NULL,
    release_code TEXT NOT NULL,
    field        TEXT NOT NULL,
    old_value    INTEGER NOT NULL,
    new_value    INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL,
    reason       TEXT NOT NULL,
    FOREIGN KEY (date, release_code, version) REFERENCES release(date, region_code, version)
);
CREATE INDEX erratum_date ON erratum(date);
