-- Published data (R10): releases of a day's figures, kept in every version,
-- and the errata between versions. Rows are only ever inserted.
-- The same schema as the SQLite engine's, in PostgreSQL's types.

-- One version of what was published of one region on one day.
CREATE TABLE release (
    date            DATE NOT NULL,
    region_code     TEXT COLLATE "C" NOT NULL REFERENCES region(code),
    version         INTEGER NOT NULL,
    published_at    TIMESTAMPTZ NOT NULL,
    published_by    TEXT NOT NULL,
    -- why it was revised (from version 2 on)
    reason          TEXT,
    -- how many children had figures for the day
    units_reporting INTEGER NOT NULL,
    PRIMARY KEY (date, region_code, version)
);
CREATE INDEX release_region ON release(region_code, date);

-- The figures of the released region and of each of its children.
CREATE TABLE release_figure (
    date                DATE NOT NULL,
    release_code        TEXT COLLATE "C" NOT NULL,
    version             INTEGER NOT NULL,
    region_code         TEXT COLLATE "C" NOT NULL,
    name                TEXT NOT NULL,
    depth               SMALLINT NOT NULL,
    reported            BOOLEAN NOT NULL,
    new_confirmed       BIGINT NOT NULL,
    new_suspected       BIGINT NOT NULL,
    new_severe          BIGINT NOT NULL,
    new_deaths          BIGINT NOT NULL,
    new_recovered       BIGINT NOT NULL,
    cum_confirmed       BIGINT NOT NULL,
    cum_deaths          BIGINT NOT NULL,
    cum_recovered       BIGINT NOT NULL,
    current_severe      BIGINT NOT NULL,
    current_suspected   BIGINT NOT NULL,
    current_observation BIGINT NOT NULL,
    PRIMARY KEY (date, release_code, version, region_code),
    FOREIGN KEY (date, release_code, version) REFERENCES release(date, region_code, version)
);
CREATE INDEX release_figure_level ON release_figure(depth, date);

-- One figure changed by a revision: old and new value, when, by whom, why.
CREATE TABLE erratum (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    date         DATE NOT NULL,
    region_code  TEXT COLLATE "C" NOT NULL,
    depth        SMALLINT NOT NULL,
    release_code TEXT COLLATE "C" NOT NULL,
    field        TEXT NOT NULL,
    old_value    BIGINT NOT NULL,
    new_value    BIGINT NOT NULL,
    version      INTEGER NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    published_by TEXT NOT NULL,
    reason       TEXT NOT NULL,
    FOREIGN KEY (date, release_code, version) REFERENCES release(date, region_code, version)
);
CREATE INDEX erratum_date ON erratum(date);
