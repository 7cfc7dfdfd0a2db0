-- Each release witnesses the chains (issue 12): the sequence number and
-- hash of the last report version and the last audit entry when it was
-- made. Kept here, outside `chain_head` and the chain tables, and printed
-- on the release, so that a chain cut back with its stored head rewound no
-- longer matches what was published; `fangkong audit verify` compares.
-- NULL for releases made before.
ALTER TABLE release ADD COLUMN report_seq INTEGER;
ALTER TABLE release ADD COLUMN report_hash BLOB;
ALTER TABLE release ADD COLUMN audit_seq INTEGER;
ALTER TABLE release ADD COLUMN audit_hash BLOB;
