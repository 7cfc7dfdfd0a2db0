//! Regions: the tree of administrative divisions (R1).
//!
//! A region is identified by its official code. China's codes are GB/T 2260
//! (six digits, provinces to counties) and the 12-digit statistical codes
//! below them; any other country's tree can be imported with its own codes.
//! Each region also carries a *materialized path* — the codes from the nation
//! down to itself, `/000000/420000/420100/420102/` — so that "all descendants
//! of X" is one index range scan and "the path to the nation" needs no walk.

use std::fmt;
use std::str::FromStr;

use crate::FieldError;

/// The code of the root of every tree: the nation.
pub const NATION_CODE: &str = "000000";

/// An official region code: 1–32 characters of `[A-Za-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(FieldError::new("region_code", "must not be empty"));
        }
        if s.len() > 32 {
            return Err(FieldError::new(
                "region_code",
                "must be at most 32 characters",
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(FieldError::new(
                "region_code",
                format!("contains {c:?}; only letters, digits, '.', '_' and '-' are allowed"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn nation() -> Self {
        Self(NATION_CODE.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same code in the canonical form China's tree is stored in, when
    /// this is a Chinese statistical code written another way: `42` and
    /// `4201` are padded to six digits, a 12-digit code is cut to the level it
    /// names (`420102000000` → `420102`, `420102001000` → `420102001`).
    /// Codes that are not all digits are returned unchanged.
    pub fn china_canonical(&self) -> RegionCode {
        let s = self.as_str();
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return self.clone();
        }
        let canon = match s.len() {
            2 | 4 => format!("{s:0<6}"),
            12 if s.ends_with("000000") => s[..6].to_owned(),
            12 if s.ends_with("000") => s[..9].to_owned(),
            _ => s.to_owned(),
        };
        RegionCode(canon)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RegionCode {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The levels of the tree, from the nation (0) down to the grid (6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Nation = 0,
    Province = 1,
    City = 2,
    County = 3,
    Township = 4,
    Village = 5,
    Grid = 6,
}

impl Level {
    pub const ALL: [Level; 7] = [
        Level::Nation,
        Level::Province,
        Level::City,
        Level::County,
        Level::Township,
        Level::Village,
        Level::Grid,
    ];

    pub fn depth(self) -> i16 {
        self as i16
    }

    pub fn from_depth(depth: i64) -> Option<Level> {
        Self::ALL.get(usize::try_from(depth).ok()?).copied()
    }

    /// The code name (GLOSSARY.md).
    pub fn name(self) -> &'static str {
        match self {
            Level::Nation => "nation",
            Level::Province => "province",
            Level::City => "city",
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village",
            Level::Grid => "grid",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Level::Nation => "国家",
            Level::Province => "省",
            Level::City => "市",
            Level::County => "县",
            Level::Township => "乡镇（街道）",
            Level::Village => "村（社区）",
            Level::Grid => "网格",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Level::Nation => "nation",
            Level::Province => "province",
            Level::City => "prefecture city",
            Level::County => "county",
            Level::Township => "township or street",
            Level::Village => "village or community",
            Level::Grid => "grid",
        }
    }

    pub fn child(self) -> Option<Level> {
        Level::from_depth(i64::from(self.depth()) + 1)
    }
}

impl FromStr for Level {
    type Err = FieldError;
    /// A level by its code name or its depth (`county` or `3`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(n) = s.parse::<i64>() {
            return Level::from_depth(n)
                .ok_or_else(|| FieldError::new("level", format!("{n} is not a level (0 to 6)")));
        }
        Level::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                FieldError::new(
                    "level",
                    format!("unknown level {s:?}; expected nation, province, city, county, township, village or grid"),
                )
            })
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A region as stored: its code, parent, name, level and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub code: RegionCode,
    /// `None` only for the nation.
    pub parent: Option<RegionCode>,
    pub name: String,
    pub level: Level,
    /// `/000000/420000/…/code/`: every ancestor's code, then this one's.
    pub path: String,
}

impl Region {
    pub fn nation(name: &str) -> Region {
        Region {
            code: RegionCode::nation(),
            parent: None,
            name: name.to_owned(),
            level: Level::Nation,
            path: format!("/{NATION_CODE}/"),
        }
    }

    /// The path of a child with `code` under this region.
    pub fn child_path(&self, code: &RegionCode) -> String {
        format!("{}{}/", self.path, code)
    }

    /// Whether `other` is this region or lies below it: the jurisdiction rule.
    pub fn contains(&self, other: &Region) -> bool {
        other.path.starts_with(&self.path)
    }

    /// The codes on the path from the nation down to this region, inclusive.
    pub fn lineage(&self) -> Vec<RegionCode> {
        path_codes(&self.path)
    }

    /// The codes of the proper ancestors, nearest first (parent, grandparent, …, nation).
    pub fn ancestors_nearest_first(&self) -> Vec<RegionCode> {
        let mut codes = path_codes(&self.path);
        codes.pop();
        codes.reverse();
        codes
    }
}

/// The codes in a materialized path, root first.
pub fn path_codes(path: &str) -> Vec<RegionCode> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| RegionCode(s.to_owned()))
        .collect()
}

/// The half-open key range `[lo, hi)` that holds a path and all paths below
/// it. Since every path ends in `/` and `0` follows `/` in ASCII, every
/// descendant's path sorts between `path` and `path` with its last `/`
/// replaced by `0`. (Store paths with a byte-wise collation.)
pub fn subtree_range(path: &str) -> (String, String) {
    let mut hi = path.to_owned();
    if hi.ends_with('/') {
        hi.pop();
    }
    hi.push('0');
    (path.to_owned(), hi)
}

/// One row of a region file to import: `code,parent_code,name,level`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRegion {
    pub code: RegionCode,
    pub parent: RegionCode,
    pub name: String,
    pub level: Level,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_checked() {
        assert!(RegionCode::parse("420102").is_ok());
        assert!(RegionCode::parse("GB-ENG").is_ok());
        let err = RegionCode::parse("42/01").unwrap_err();
        assert_eq!(err.field, "region_code");
        assert!(err.reason.contains("'/'"), "{}", err.reason);
        assert!(RegionCode::parse("").is_err());
        assert!(RegionCode::parse(&"1".repeat(33)).is_err());
    }

    #[test]
    fn chinese_codes_are_canonicalised() {
        let c = |s: &str| RegionCode::parse(s).unwrap().china_canonical().to_string();
        assert_eq!(c("42"), "420000");
        assert_eq!(c("4201"), "420100");
        assert_eq!(c("420102"), "420102");
        assert_eq!(c("420102000000"), "420102");
        assert_eq!(c("420000000000"), "420000");
        assert_eq!(c("420102001000"), "420102001");
        assert_eq!(c("420102001002"), "420102001002");
        assert_eq!(c("GB-ENG"), "GB-ENG");
    }

    #[test]
    fn subtree_range_holds_descendants_only() {
        let (lo, hi) = subtree_range("/000000/420000/");
        for inside in [
            "/000000/420000/",
            "/000000/420000/420100/",
            "/000000/420000/-x/",
        ] {
            assert!(inside >= lo.as_str() && inside < hi.as_str(), "{inside}");
        }
        for outside in [
            "/000000/",
            "/000000/4200001/",
            "/000000/430000/",
            "/000000/42000/",
        ] {
            assert!(
                !(outside >= lo.as_str() && outside < hi.as_str()),
                "{outside}"
            );
        }
    }

    #[test]
    fn lineage_and_containment() {
        let nation = Region::nation("中国");
        let hubei = Region {
            code: RegionCode::parse("420000").unwrap(),
            parent: Some(RegionCode::nation()),
            name: "湖北省".into(),
            level: Level::Province,
            path: nation.child_path(&RegionCode::parse("420000").unwrap()),
        };
        assert_eq!(hubei.path, "/000000/420000/");
        assert!(nation.contains(&hubei));
        assert!(!hubei.contains(&nation));
        assert_eq!(hubei.ancestors_nearest_first(), vec![RegionCode::nation()]);
        assert_eq!(hubei.lineage().len(), 2);
    }

    #[test]
    fn levels_parse_by_name_or_depth() {
        assert_eq!("county".parse::<Level>().unwrap(), Level::County);
        assert_eq!("5".parse::<Level>().unwrap(), Level::Village);
        assert!("9".parse::<Level>().is_err());
        assert!("galaxy".parse::<Level>().is_err());
    }
}
