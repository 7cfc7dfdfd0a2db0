-- Sessions (issue 12): one account whatever the case of its name, sessions
-- ended by user, failed logins counted for the rate limit.

-- `Jianghan` and `jianghan` are one account (names are ASCII: lower() is exact).
CREATE UNIQUE INDEX app_user_username_ci ON app_user(lower(username));

-- Revocation and password changes end all of a user's sessions.
CREATE INDEX session_by_user ON session(user_id);

-- A failed login (or one under way), per account and client address.
-- `account` is the SHA-256 of the lower-cased name typed, not the name:
-- a name typed by mistake is often a password.
CREATE TABLE login_failure (
    id      INTEGER PRIMARY KEY,
    account BLOB NOT NULL,
    address TEXT,
    at      TEXT NOT NULL
);
CREATE INDEX login_failure_account ON login_failure(account, at);
CREATE INDEX login_failure_address ON login_failure(address, at);
CREATE INDEX login_failure_at ON login_failure(at);
