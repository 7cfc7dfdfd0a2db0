-- Need to know (issue 12): a user may belong to a site (a hospital, an
-- isolation site), named as admissions and observation name it, in the
-- user's home region; such a user sees the patients admitted there.
ALTER TABLE app_user ADD COLUMN site TEXT;
CREATE INDEX case_file_facility ON case_file(facility_region, facility_name)
    WHERE facility_name IS NOT NULL;
