-- Each release witnesses the chains (issue 12): the sequence number and
-- hash of the last report version and the last audit entry when it was
-- made. Kept here, outside `chain_head` and the chain tables, so that a
-- chain cut back with its stored head rewound no longer matches what was
-- published; `fangkong audit verify` compares. NULL for releases made
-- before. (There is no 0007 here: SQLite's 0007 makes its roll-ups STRICT,
-- which PostgreSQL's BIGINT columns already are.)
ALTER TABLE release
    ADD COLUMN report_seq  BIGINT,
    ADD COLUMN report_hash BYTEA,
    ADD COLUMN audit_seq   BIGINT,
    ADD COLUMN audit_hash  BYTEA;
