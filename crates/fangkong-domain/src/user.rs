//! Users and roles (R11, R12). Every user has a home region; they see and
//! change that region and what lies below it, and nothing else.

use std::fmt;
use std::str::FromStr;

use crate::region::Level;
use crate::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    National,
    Provincial,
    City,
    County,
    /// Township staff and grid workers in villages and communities.
    Grid,
    /// A hospital, treatment centre or isolation site.
    Facility,
    /// Reads what is published; writes nothing.
    Public,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::National,
        Role::Provincial,
        Role::City,
        Role::County,
        Role::Grid,
        Role::Facility,
        Role::Public,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::National => "national",
            Role::Provincial => "provincial",
            Role::City => "city",
            Role::County => "county",
            Role::Grid => "grid",
            Role::Facility => "facility",
            Role::Public => "public",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::National => "国家级",
            Role::Provincial => "省级",
            Role::City => "市级",
            Role::County => "县级（疾控）",
            Role::Grid => "乡镇 / 网格员",
            Role::Facility => "医疗机构 / 隔离点",
            Role::Public => "公众",
        }
    }

    /// The levels a user with this role may have as home region.
    pub fn allows_home(self, level: Level) -> bool {
        match self {
            Role::National => level == Level::Nation,
            Role::Provincial => level == Level::Province,
            Role::City => level == Level::City,
            Role::County => level == Level::County,
            Role::Grid => level >= Level::Township,
            Role::Facility => level >= Level::County,
            Role::Public => true,
        }
    }

    /// Whether this role files and corrects reports.
    pub fn may_write(self) -> bool {
        self != Role::Public
    }
}

impl FromStr for Role {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == s.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Role::ALL.iter().map(|r| r.name()).collect();
                FieldError::new(
                    "role",
                    format!("unknown role {s:?}; expected one of {}", names.join(", ")),
                )
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A login name: 3–64 characters of letters, digits, `.`, `_`, `-`, `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if !(3..=64).contains(&s.chars().count()) {
            return Err(FieldError::new("username", "must be 3 to 64 characters"));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            return Err(FieldError::new(
                "username",
                "may hold only letters, digits, '.', '_', '-' and '@'",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name that identifies the account: names differing only in case
    /// are one account.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// The longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 100;

/// A user's display name: at most [`MAX_DISPLAY_NAME`] characters, no
/// control characters; empty when none was given.
pub fn display_name(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.chars().count() > MAX_DISPLAY_NAME {
        return Err(FieldError::new(
            "display_name",
            format!("must be at most {MAX_DISPLAY_NAME} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(
            "display_name",
            "may not hold control characters",
        ));
    }
    Ok(s.to_owned())
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest password, in characters: hashing has a cost per byte.
pub const MAX_PASSWORD: usize = 1024;

/// A password: 8 to [`MAX_PASSWORD`] characters. Never printed.
pub struct Password(String);

impl Password {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let n = s.chars().count();
        if n < 8 {
            return Err(FieldError::new("password", "must be at least 8 characters"));
        }
        if n > MAX_PASSWORD {
            return Err(FieldError::new(
                "password",
                format!("must be at most {MAX_PASSWORD} characters"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_home_levels() {
        assert_eq!("county".parse::<Role>().unwrap(), Role::County);
        assert!("mayor".parse::<Role>().is_err());
        assert!(Role::County.allows_home(Level::County));
        assert!(!Role::County.allows_home(Level::Province));
        assert!(Role::Grid.allows_home(Level::Village));
        assert!(!Role::Public.may_write());
    }

    #[test]
    fn usernames_and_passwords_are_checked() {
        assert!(Username::parse("wuhan.cdc").is_ok());
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("a b c").is_err());
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(MAX_PASSWORD)).is_ok());
        assert!(Password::parse(&"x".repeat(MAX_PASSWORD + 1)).is_err());
        assert_eq!(Username::parse("Jianghan").unwrap().key(), "jianghan");
        assert_eq!(display_name(" 江汉区 ").unwrap(), "江汉区");
        assert!(display_name(&"名".repeat(MAX_DISPLAY_NAME)).is_ok());
        assert!(display_name(&"名".repeat(MAX_DISPLAY_NAME + 1)).is_err());
        assert!(display_name("a\u{0}b").is_err());
        assert_eq!(
            format!("{:?}", Password::parse("long enough").unwrap()),
            "Password(***)"
        );
    }
}
