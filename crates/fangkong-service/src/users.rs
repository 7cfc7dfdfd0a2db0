//! Users, passwords and sessions (R11, R12).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use fangkong_domain::policy::Action;
use fangkong_domain::report::now_millis;
use fangkong_domain::user::{Password, Role, Username};
use fangkong_domain::FieldError;
use fangkong_store::{NewUser, StoredUser};

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
    Sha256::digest(token.as_bytes()).to_vec()
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
        if self.store.user_by_name(username.as_str()).await?.is_some() {
            return Err(ServiceError::Conflict(format!("user {username} exists")));
        }
        let secret = password.expose().to_owned();
        let password_hash = tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(secret.as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await
        .map_err(|e| ServiceError::Internal(e.into()))?
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("cannot hash password: {e}")))?;
        let user = NewUser {
            username: username.to_string(),
            display_name: if display_name.trim().is_empty() {
                username.to_string()
            } else {
                display_name.trim().to_owned()
            },
            role,
            region: region.code.clone(),
            password_hash,
            created_at: now_millis(),
            site,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_user(&user).await?;
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

    /// Check a password and open a session. Unknown users and wrong
    /// passwords get the same answer.
    pub async fn login(&self, username: &str, password: &str) -> Result<Session> {
        let user = self.store.user_by_name(username.trim()).await?;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let secret = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || {
            // verify against a real hash even for unknown users, so timing tells nothing
            let fallback = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0S5jYyzL4ObX0bB4S7a3kHUlZrBqfHn6lD2vdFqEUAY";
            let hash = stored.as_deref().unwrap_or(fallback);
            PasswordHash::new(hash)
                .map(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok())
                .unwrap_or(false)
        })
        .await
        .map_err(|e| ServiceError::Internal(e.into()))?;
        let user = match (user, ok) {
            (Some(u), true) => u,
            _ => return Err(ServiceError::Unauthenticated),
        };
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let now = now_millis();
        let expires_at = now + Duration::hours(self.settings.session_hours);
        let mut tx = self.store.begin().await?;
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
