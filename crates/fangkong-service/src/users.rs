//! Users, passwords and sessions (R11, R12).
//!
//! Logins are rate-limited in storage, so the limit holds for every server
//! on one database: an attempt is recorded as a failure *before* its
//! password is checked (in the same transaction as the count, which the
//! store serializes), and forgotten if it succeeds. So parallel guesses
//! cannot slip past the count, and a refused attempt costs no hashing.
//! Refused attempts (429) are not recorded: a client that keeps knocking
//! waits no longer than the window. Names are compared case-insensitively
//! (`Jianghan` is `jianghan`) and counted by the hash of the name typed.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use fangkong_domain::policy::Action;
use fangkong_domain::report::now_millis;
use fangkong_domain::user::{self, Password, Role, Username, MAX_PASSWORD};
use fangkong_domain::FieldError;
use fangkong_store::{LoginKey, NewUser, StoredUser, WriteTx};

use crate::audit::append_audit;
use crate::{Principal, Result, Service, ServiceError};

/// A user as others may see it: no password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub region_code: String,
    pub site: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<StoredUser> for UserInfo {
    fn from(u: StoredUser) -> Self {
        UserInfo {
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            region_code: u.region.to_string(),
            site: u.site,
            created_at: u.created_at,
        }
    }
}

/// A new login session. The token is shown once; only its hash is stored.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub principal: Principal,
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

/// The key failed logins of an account are counted under: the hash of the
/// lower-cased name typed, whether or not such a user exists.
fn account_key(username: &str) -> Vec<u8> {
    Sha256::digest(username.trim().to_lowercase().as_bytes()).to_vec()
}

/// A client address as failed logins are counted: IPv4 (IPv4-mapped IPv6
/// included) as it is, IPv6 by its /64, the block one subscriber holds.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        v4 => v4.to_string(),
    }
}

/// Hash a new password (off the runtime: argon2 is slow on purpose).
async fn hash_password(password: &Password) -> Result<String> {
    let secret = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| ServiceError::Internal(e.into()))?
    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("cannot hash password: {e}")))
}

/// Whether `password` matches `stored`; against a fixed hash when there is
/// no user, so that timing tells nothing. A password too long to be one is
/// wrong without hashing.
async fn verify_password(stored: Option<String>, password: &str) -> Result<bool> {
    if password.chars().count() > MAX_PASSWORD {
        return Ok(false);
    }
    let secret = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let fallback = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0S5jYyzL4ObX0bB4S7a3kHUlZrBqfHn6lD2vdFqEUAY";
        let hash = stored.as_deref().unwrap_or(fallback);
        PasswordHash::new(hash)
            .map(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .map_err(|e| ServiceError::Internal(e.into()))
}

impl Service {
    /// Create a user. Command levels (national to county) create users in
    /// their own jurisdiction; the role must fit the home region's level.
    pub async fn add_user(
        &self,
        who: &Principal,
        username: &str,
        display_name: &str,
        role: Role,
        region_code: &str,
        password: &str,
    ) -> Result<UserInfo> {
        self.add_user_at_site(
            who,
            username,
            display_name,
            role,
            region_code,
            None,
            password,
        )
        .await
    }

    /// [`Service::add_user`] for a user who works for a site (a facility
    /// user must: it sees the patients admitted there).
    #[allow(clippy::too_many_arguments)]
    pub async fn add_user_at_site(
        &self,
        who: &Principal,
        username: &str,
        display_name: &str,
        role: Role,
        region_code: &str,
        site: Option<&str>,
        password: &str,
    ) -> Result<UserInfo> {
        who.require(Action::ManageUsers)?;
        let username = Username::parse(username)?;
        let display_name = user::display_name(display_name)?;
        let password = Password::parse(password)?;
        let region = self
            .region_for(who, Action::ManageUsers, region_code)
            .await?;
        if !role.allows_home(region.level) {
            return Err(FieldError::new(
                "role",
                format!(
                    "a {role} user cannot have a {} ({}) as home region",
                    region.level, region.code
                ),
            )
            .into());
        }
        // a facility user belongs to a site: the hospital or isolation site it
        // works for, named as admissions and observation name it
        let site =
            match (role, site.map(str::trim).filter(|s| !s.is_empty())) {
                (Role::Facility, Some(s)) => Some(
                    fangkong_domain::case::Place::parse("site", s)?
                        .as_str()
                        .to_owned(),
                ),
                (Role::Facility, None) => return Err(FieldError::new(
                    "site",
                    "a facility user needs the site it works for (the name its admissions give)",
                )
                .into()),
                (_, Some(_)) => {
                    return Err(
                        FieldError::new("site", "only a facility user belongs to a site").into(),
                    )
                }
                (_, None) => None,
            };
        // names differing only in case are one account (the store's unique index says so too)
        if let Some(existing) = self.store.user_by_name(username.as_str()).await? {
            return Err(ServiceError::Conflict(format!(
                "user {} exists",
                existing.username
            )));
        }
        let password_hash = hash_password(&password).await?;
        let user = NewUser {
            username: username.to_string(),
            display_name: if display_name.is_empty() {
                username.to_string()
            } else {
                display_name
            },
            role,
            region: region.code.clone(),
            password_hash,
            created_at: now_millis(),
            site,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_user(&user).await.map_err(|e| match e {
            fangkong_store::StoreError::Conflict(_) => {
                ServiceError::Conflict(format!("user {} exists", user.username))
            }
            other => other.into(),
        })?;
        append_audit(
            tx.as_mut(),
            &who.username,
            "user.add",
            "user",
            &format!("user/{}", user.username),
            None,
            Some(json!({ "username": user.username, "display_name": user.display_name, "role": role.name(), "region_code": region.code.as_str(), "site": user.site })),
        )
        .await?;
        tx.commit().await?;
        Ok(UserInfo {
            username: user.username,
            display_name: user.display_name,
            role,
            region_code: region.code.to_string(),
            site: user.site,
            created_at: user.created_at,
        })
    }

    async fn principal_from(&self, user: &StoredUser) -> Result<Principal> {
        let region = self.region(user.region.as_str()).await?;
        Ok(Principal {
            username: user.username.clone(),
            role: user.role,
            region,
            site: user.site.clone(),
        })
    }

    /// The principal of a stored user, for the CLI's `--as USER`.
    pub async fn principal(&self, username: &str) -> Result<Principal> {
        let user = self
            .store
            .user_by_name(username)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("user {username}")))?;
        self.principal_from(&user).await
    }

    /// The sliding window of the login limits.
    fn login_window(&self) -> Duration {
        Duration::minutes(self.settings.login_window_minutes.max(1))
    }

    /// Forget an account's failed logins, in `tx` (a success, a new password).
    async fn forget_failures(&self, tx: &mut dyn WriteTx, account: &[u8]) -> Result<()> {
        tx.lock_login_failures().await?;
        tx.clear_login_failures(Some(account), now_millis() - self.login_window())
            .await?;
        Ok(())
    }

    /// Count a login attempt against the limits before its password is
    /// checked: refused with how long to wait when the account or the
    /// address has had its failures in the window, else recorded as a
    /// failure until [`Service::forget_failures`] says otherwise.
    async fn admit_attempt(&self, account: &[u8], address: Option<&str>) -> Result<()> {
        let s = &self.settings;
        let window = self.login_window();
        let now = now_millis();
        let since = now - window;
        let mut tx = self.store.begin().await?;
        tx.lock_login_failures().await?;
        let mut until: Option<DateTime<Utc>> = None;
        let mut checks = vec![(LoginKey::Account(account), s.login_failures_per_account)];
        if let Some(address) = address {
            checks.push((LoginKey::Address(address), s.login_failures_per_address));
        }
        for (key, limit) in checks {
            if limit == 0 {
                continue;
            }
            if let Some(at) = tx.nth_login_failure(key, since, limit).await? {
                let free = at + window;
                until = Some(until.map_or(free, |u| u.max(free)));
            }
        }
        if let Some(until) = until {
            drop(tx);
            let wait = (until - now).num_milliseconds().max(0) as u64;
            tracing::warn!(retry_after_ms = wait, "login refused: too many failures");
            return Err(ServiceError::RateLimited {
                retry_after_secs: wait.div_ceil(1000).max(1),
            });
        }
        tx.insert_login_failure(account, address, now).await?;
        tx.clear_login_failures(None, since).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Check a password and open a session. Unknown users and wrong
    /// passwords get the same answer; too many failures for the account
    /// (its name in any case) or from the address get
    /// [`ServiceError::RateLimited`], whatever the password.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        address: Option<IpAddr>,
    ) -> Result<Session> {
        let account = account_key(username);
        let address = address.map(address_key);
        self.admit_attempt(&account, address.as_deref()).await?;
        let user = self.store.user_by_name(username.trim()).await?;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let ok = verify_password(stored, password).await?;
        let user = match (user, ok) {
            (Some(u), true) => u,
            // the attempt stays recorded as a failure
            _ => return Err(ServiceError::Unauthenticated),
        };
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let now = now_millis();
        let expires_at = now + Duration::hours(self.settings.session_hours);
        let mut tx = self.store.begin().await?;
        // a success resets the account's count
        self.forget_failures(tx.as_mut(), &account).await?;
        tx.insert_session(&token_hash(&token), user.id, now, expires_at)
            .await?;
        append_audit(
            tx.as_mut(),
            &user.username,
            "user.login",
            "user",
            &format!("user/{}", user.username),
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        let principal = self.principal_from(&user).await?;
        Ok(Session {
            token,
            expires_at,
            principal,
        })
    }

    /// End the session of `token` (logging out). An unknown or expired
    /// token is not an error: it is as ended as it can be.
    pub async fn logout(&self, token: &str) -> Result<()> {
        let hash = token_hash(token);
        let Some(user) = self.store.user_by_session(&hash, Utc::now()).await? else {
            return Ok(());
        };
        let mut tx = self.store.begin().await?;
        if tx.delete_session(&hash).await? {
            append_audit(
                tx.as_mut(),
                &user.username,
                "user.logout",
                "user",
                &format!("user/{}", user.username),
                None,
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A user that `who` administers: command levels (national to county),
    /// over users whose home region lies in their jurisdiction. A user
    /// outside it is "not found", as one that does not exist.
    async fn administered_user(&self, who: &Principal, username: &str) -> Result<StoredUser> {
        who.require(Action::ManageUsers)?;
        let not_found = || ServiceError::NotFound(format!("user {}", username.trim()));
        let user = self
            .store
            .user_by_name(username.trim())
            .await?
            .ok_or_else(not_found)?;
        let region = self.region(user.region.as_str()).await?;
        if !who.covers(&region) {
            return Err(not_found());
        }
        Ok(user)
    }

    /// End every session of a user (an administrator's act: a lost phone,
    /// a stolen token, someone who left). The user's name as stored, and
    /// how many sessions ended.
    pub async fn revoke_sessions(&self, who: &Principal, username: &str) -> Result<(String, u64)> {
        let user = self.administered_user(who, username).await?;
        let mut tx = self.store.begin().await?;
        let ended = tx.delete_sessions(user.id, None).await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            "user.revoke",
            "user",
            &format!("user/{}", user.username),
            None,
            Some(json!({ "sessions_ended": ended })),
        )
        .await?;
        tx.commit().await?;
        Ok((user.username, ended))
    }

    /// Set a user's password (an administrator's act, e.g. `fangkong user
    /// passwd`); every session of the user ends.
    pub async fn set_password(
        &self,
        who: &Principal,
        username: &str,
        new_password: &str,
    ) -> Result<()> {
        let user = self.administered_user(who, username).await?;
        let password = Password::parse(new_password)?;
        self.replace_password(&user, &password, None, &who.username, "user.password.set")
            .await
    }

    /// Store a new password for `user` and end their sessions but the one
    /// of `keep`, forgetting their failed logins; audited as `action`.
    async fn replace_password(
        &self,
        user: &StoredUser,
        password: &Password,
        keep: Option<&[u8]>,
        actor: &str,
        action: &str,
    ) -> Result<()> {
        let hash = hash_password(password).await?;
        let mut tx = self.store.begin().await?;
        tx.set_password_hash(user.id, &hash).await?;
        let ended = tx.delete_sessions(user.id, keep).await?;
        self.forget_failures(tx.as_mut(), &account_key(&user.username))
            .await?;
        append_audit(
            tx.as_mut(),
            actor,
            action,
            "user",
            &format!("user/{}", user.username),
            None,
            Some(json!({ "sessions_ended": ended })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Change one's own password: the current one must be right (a wrong
    /// one counts as a failed login), and every other session of the user
    /// ends; the one of `token` stays.
    pub async fn change_password(
        &self,
        who: &Principal,
        token: &str,
        old_password: &str,
        new_password: &str,
        address: Option<IpAddr>,
    ) -> Result<()> {
        let password = Password::parse(new_password).map_err(|e| FieldError {
            field: "new_password".into(),
            ..e
        })?;
        let account = account_key(&who.username);
        let address = address.map(address_key);
        self.admit_attempt(&account, address.as_deref()).await?;
        let user = self
            .store
            .user_by_name(&who.username)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        if !verify_password(Some(user.password_hash.clone()), old_password).await? {
            return Err(FieldError::new("old_password", "is not the current password").into());
        }
        let keep = token_hash(token);
        self.replace_password(
            &user,
            &password,
            Some(&keep),
            &user.username,
            "user.password",
        )
        .await
    }

    /// The principal holding a live session token.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let user = self
            .store
            .user_by_session(&token_hash(token.trim()), Utc::now())
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        self.principal_from(&user).await
    }

    /// Users whose home region lies in the principal's jurisdiction.
    pub async fn users(&self, who: &Principal) -> Result<Vec<UserInfo>> {
        who.require(Action::ReadUsers)?;
        Ok(self
            .store
            .users(&who.region.path)
            .await?
            .into_iter()
            .map(UserInfo::from)
            .collect())
    }
}
