-- The line list (R3–R5): people, cases with their history, close contacts
-- with their links and follow-ups, candidate pairs of records of one person,
-- the transmission graph's generation.
--
-- Dates are TEXT (`YYYY-MM-DD`), as sqlx writes them. No foreign keys on the
-- bulk tables: the service writes what it has checked.
--
-- Every index costs the national import (1M cases, 5M contacts, a person
-- each) about a second per million rows, more for random keys, so there are
-- only those the contract's queries use: no index on a person's home path
-- or on a link's source (the graph is read whole, `graph_rows`), and
-- `report_path` is NULL when it is the home path (the usual case: a unit
-- reports its own residents), so that its index holds the other cases only.

-- One person record; `merged_into` is set when it was merged into another
-- (the record kept), and matching looks at unmerged records only.
--
-- The matching keys are integers, whose index entries are a third the size
-- of the texts' (a national import inserts millions at random places):
-- `id_number` holds the first 17 digits of the ID number (the 18th
-- character is their check character, rebuilt on read), `phone` the digits
-- after a leading 1 (so that leading zeros survive), and `name_hash` an
-- FNV-1a hash of the name (63 bits), whose matches are then compared by
-- their text.
CREATE TABLE person (
    id          INTEGER PRIMARY KEY,
    name        TEXT,
    name_hash   INTEGER,
    id_number   INTEGER,
    sex         TEXT NOT NULL,
    age         INTEGER,
    phone       INTEGER,
    address     TEXT,
    home_region TEXT NOT NULL,
    home_path   TEXT NOT NULL,
    merged_into INTEGER
);
CREATE INDEX person_id_number ON person(id_number)
    WHERE merged_into IS NULL AND id_number IS NOT NULL;
CREATE INDEX person_phone ON person(phone)
    WHERE merged_into IS NULL AND phone IS NOT NULL;
CREATE INDEX person_name ON person(name_hash)
    WHERE merged_into IS NULL AND name_hash IS NOT NULL;

-- A case: its opening (what `Case::replay` starts from) and, for queries,
-- its current state (derived from the history, written with it). `key` is
-- the dense key graphs index nodes by. The person data is the person
-- record's.
CREATE TABLE case_file (
    key               INTEGER PRIMARY KEY,
    case_id           TEXT NOT NULL UNIQUE,
    person_id         INTEGER NOT NULL,
    reporting_unit    TEXT NOT NULL,
    origin            TEXT NOT NULL,
    place_of_exposure TEXT,
    onset             TEXT,
    first_visit       TEXT,
    report_date       TEXT NOT NULL,
    from_contact      TEXT,
    opened_on         TEXT NOT NULL,
    version           INTEGER NOT NULL,
    home_path         TEXT NOT NULL,
    -- NULL when the same as home_path
    report_path       TEXT,
    classification    TEXT NOT NULL,
    severity          TEXT,
    severity_date     TEXT,
    facility_region   TEXT,
    facility_name     TEXT,
    admission_date    TEXT,
    outcome           TEXT,
    outcome_date      TEXT,
    confirmation_date TEXT,
    exclusion_date    TEXT
);
CREATE INDEX case_file_person ON case_file(person_id);
CREATE INDEX case_file_home_path ON case_file(home_path);
CREATE INDEX case_file_report_path ON case_file(report_path) WHERE report_path IS NOT NULL;
CREATE INDEX case_file_report_date ON case_file(report_date);

-- A case's history: the event that made each version after the first.
-- `kind` is `CaseEvent::name()`; the other columns hold the event's data.
CREATE TABLE case_event (
    case_key          INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    recorded_on       TEXT NOT NULL,
    kind              TEXT NOT NULL,
    date              TEXT NOT NULL,
    classification_to TEXT,
    reason            TEXT,
    severity          TEXT,
    facility_region   TEXT,
    facility_name     TEXT,
    PRIMARY KEY (case_key, version)
) WITHOUT ROWID;

-- The cases a case was infected by, in order.
CREATE TABLE case_source (
    case_key       INTEGER NOT NULL,
    ordinal        INTEGER NOT NULL,
    source_case_id TEXT NOT NULL,
    PRIMARY KEY (case_key, ordinal)
) WITHOUT ROWID;

-- A close contact. `release_date` is `Contact::release_date()`, kept for
-- the observation list (which reads a subtree's contacts by path, then the
-- dates from the same index entries).
CREATE TABLE contact (
    key               INTEGER PRIMARY KEY,
    contact_id        TEXT NOT NULL UNIQUE,
    person_id         INTEGER NOT NULL,
    reporting_unit    TEXT NOT NULL,
    place             TEXT NOT NULL,
    site              TEXT,
    registered        TEXT NOT NULL,
    period            INTEGER NOT NULL,
    converted_case_id TEXT,
    converted_on      TEXT,
    release_date      TEXT NOT NULL,
    version           INTEGER NOT NULL,
    home_path         TEXT NOT NULL,
    -- NULL when the same as home_path
    report_path       TEXT
);
CREATE INDEX contact_person ON contact(person_id);
CREATE INDEX contact_home_path ON contact(home_path);
CREATE INDEX contact_report_path ON contact(report_path) WHERE report_path IS NOT NULL;

-- A contact's links to its source cases, in order.
CREATE TABLE contact_link (
    contact_key    INTEGER NOT NULL,
    ordinal        INTEGER NOT NULL,
    source_case_id TEXT NOT NULL,
    exposure       TEXT NOT NULL,
    last_exposure  TEXT NOT NULL,
    PRIMARY KEY (contact_key, ordinal)
) WITHOUT ROWID;

-- One follow-up per contact and day: `reached` 0 with no temperature and
-- no symptoms, or 1 with both (symptoms as `cough;fatigue`, '' for none).
CREATE TABLE follow_up (
    contact_key INTEGER NOT NULL,
    date        TEXT NOT NULL,
    reached     INTEGER NOT NULL,
    temperature REAL,
    symptoms    TEXT,
    PRIMARY KEY (contact_key, date)
) WITHOUT ROWID;

-- Two person records that may be one person (a < b), waiting for a decision.
CREATE TABLE person_match (
    id         INTEGER PRIMARY KEY,
    a          INTEGER NOT NULL,
    b          INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    score      REAL NOT NULL,
    status     TEXT NOT NULL,
    found_at   TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    UNIQUE (a, b)
);
CREATE INDEX person_match_b ON person_match(b);
CREATE INDEX person_match_status ON person_match(status, id);

-- The generation of the transmission graph: bumped with every change to
-- links, conversions and merges, so a graph built in memory knows whether
-- it is current.
CREATE TABLE graph_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO graph_generation (id, generation) VALUES (1, 1);
