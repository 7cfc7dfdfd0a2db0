//! One person, one record (R3, R4): deciding whether two person records are
//! the same person.
//!
//! | the two records | verdict |
//! |---|---|
//! | the same ID number | [`Verdict::Same`]: one person, merged at once |
//! | two different ID numbers | [`Verdict::Different`]: an ID number is unique |
//! | similar names and the same phone | candidate pair, [`MatchReason::NamePhone`] |
//! | similar names, the same birth year and sex | candidate pair, [`MatchReason::NameBirthYear`] |
//! | anything else | [`Verdict::Different`] |
//!
//! Names are *similar* when, ignoring spaces, middle dots and letter case,
//! they are equal, or differ by one character (an added, dropped or changed
//! character: 张伟 / 张玮) and are at least two characters long. A birth year is
//! read from the ID number, or else from the age on the day it was recorded,
//! which allows one year either way (an age of 30 in 2020 is born in 1989 or
//! 1990). Candidate pairs are never merged automatically: they wait in a
//! review list until someone decides.

use chrono::{Datelike, NaiveDate};

use crate::case::{code_enum, Person, Sex};

code_enum! {
    /// Why two records were paired for review.
    pub enum MatchReason ("reason") {
        /// Similar names and the same phone number.
        NamePhone = "name_phone",
        /// Similar names, the same birth year and the same sex.
        NameBirthYear = "name_birth_year",
    }
}

code_enum! {
    /// Where a candidate pair stands.
    pub enum MatchStatus ("status") {
        /// Waiting for a decision.
        Pending = "pending",
        /// One person: the newer record was merged into the older one.
        Merged = "merged",
        /// Two people.
        Distinct = "distinct",
    }
}

/// What comparing two records decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    Same,
    Candidate { reason: MatchReason, score: f64 },
    Different,
}

/// A person record as compared: the person and the day the record was made
/// (to read a birth year from an age).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub person: &'a Person,
    pub recorded_on: NaiveDate,
}

impl Record<'_> {
    /// The possible birth years: exact from an ID number, else from the age.
    fn birth_years(&self) -> Option<(i32, i32)> {
        if let Some(id) = &self.person.id_number {
            let y = id.birth_year();
            return Some((y, y));
        }
        let age = i32::from(self.person.age?.years());
        let y = self.recorded_on.year() - age;
        Some((y - 1, y))
    }
}

/// A name as compared: without spaces and middle dots, lowercase.
pub fn name_key(name: &str) -> Vec<char> {
    name.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '•' | '.' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The number of single-character edits between two names (Levenshtein),
/// stopping early above `limit`.
fn edits(a: &[char], b: &[char], limit: usize) -> usize {
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let change = prev[j] + usize::from(ca != cb);
            cur[j + 1] = change.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// How alike two names are: 1 when equal, 0.8 one edit apart, else 0.
fn name_similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (name_key(a), name_key(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    if a.len().min(b.len()) >= 2 && edits(&a, &b, 1) <= 1 {
        return 0.8;
    }
    0.0
}

/// Compares two person records (see the module docs for the rules).
pub fn compare(a: Record<'_>, b: Record<'_>) -> Verdict {
    match (&a.person.id_number, &b.person.id_number) {
        (Some(x), Some(y)) if x == y => return Verdict::Same,
        (Some(_), Some(_)) => return Verdict::Different,
        _ => {}
    }
    let name = match (&a.person.name, &b.person.name) {
        (Some(x), Some(y)) => name_similarity(x.as_str(), y.as_str()),
        _ => 0.0,
    };
    if name == 0.0 {
        return Verdict::Different;
    }
    let phone = matches!((&a.person.phone, &b.person.phone), (Some(x), Some(y)) if x == y);
    let year = match (a.birth_years(), b.birth_years()) {
        (Some((a0, a1)), Some((b0, b1))) => a0 <= b1 && b0 <= a1,
        _ => false,
    };
    let sex = a.person.sex == b.person.sex && a.person.sex != Sex::Unknown;
    // the score: the name's similarity, and a third for each further agreement
    let agreements = [phone, year, sex].iter().filter(|x| **x).count();
    let score = (name + agreements as f64) / 4.0;
    if phone {
        Verdict::Candidate {
            reason: MatchReason::NamePhone,
            score,
        }
    } else if year && sex {
        Verdict::Candidate {
            reason: MatchReason::NameBirthYear,
            score,
        }
    } else {
        Verdict::Different
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Age, IdNumber, PersonName, Phone};
    use crate::region::RegionCode;

    fn person(name: &str) -> Person {
        let mut p = Person::unknown(RegionCode::parse("420102").unwrap());
        p.name = Some(PersonName::parse(name).unwrap());
        p
    }

    fn on(y: i32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, 2, 1).unwrap()
    }

    fn rec(p: &Person) -> Record<'_> {
        Record {
            person: p,
            recorded_on: on(2020),
        }
    }

    #[test]
    fn the_same_id_number_is_the_same_person_whatever_the_name() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        let mut a = person("张伟");
        a.id_number = Some(id.clone());
        let mut b = person("李娜");
        b.id_number = Some(id);
        assert_eq!(compare(rec(&a), rec(&b)), Verdict::Same);
    }

    #[test]
    fn two_different_id_numbers_are_two_people_whatever_else_agrees() {
        let mut a = person("张伟");
        a.id_number = Some(IdNumber::parse("11010519491231002X").unwrap());
        a.phone = Some(Phone::parse("13800138000").unwrap());
        let mut b = a.clone();
        b.id_number = Some(IdNumber::parse("420102199001011236").unwrap());
        assert_eq!(compare(rec(&a), rec(&b)), Verdict::Different);
    }

    #[test]
    fn a_similar_name_and_the_same_phone_make_a_candidate_pair() {
        let mut a = person("张伟");
        a.phone = Some(Phone::parse("13800138000").unwrap());
        let mut b = person("张 玮");
        b.phone = a.phone.clone();
        match compare(rec(&a), rec(&b)) {
            Verdict::Candidate { reason, score } => {
                assert_eq!(reason, MatchReason::NamePhone);
                // 0.8 for the name, 1 for the phone; sex and year unknown
                assert!((score - 1.8 / 4.0).abs() < 1e-12, "{score}");
            }
            v => panic!("{v:?}"),
        }
        // a different phone and nothing else: two people
        b.phone = Some(Phone::parse("13900139000").unwrap());
        assert_eq!(compare(rec(&a), rec(&b)), Verdict::Different);
    }

    #[test]
    fn a_similar_name_birth_year_and_sex_make_a_candidate_pair() {
        // 30 in 2020 (born 1989 or 1990) and born 1990 by ID number
        let mut a = person("Wang Fang");
        a.sex = Sex::Female;
        a.age = Some(Age::new(30).unwrap());
        let mut b = person("wangfang");
        b.sex = Sex::Female;
        b.id_number = Some(IdNumber::parse("420102199001011244").unwrap());
        match compare(rec(&a), rec(&b)) {
            Verdict::Candidate { reason, score } => {
                assert_eq!(reason, MatchReason::NameBirthYear);
                assert!((score - 3.0 / 4.0).abs() < 1e-12, "{score}");
            }
            v => panic!("{v:?}"),
        }
        // 25 in 2020: born 1994 or 1995, not 1990
        a.age = Some(Age::new(25).unwrap());
        assert_eq!(compare(rec(&a), rec(&b)), Verdict::Different);
        // the same year but the other sex
        a.age = Some(Age::new(30).unwrap());
        a.sex = Sex::Male;
        assert_eq!(compare(rec(&a), rec(&b)), Verdict::Different);
    }

    #[test]
    fn names_two_edits_apart_or_one_character_long_are_not_similar() {
        assert_eq!(name_similarity("张伟", "张伟"), 1.0);
        assert_eq!(name_similarity("张伟", "张玮"), 0.8);
        assert_eq!(name_similarity("张伟", "张伟明"), 0.8);
        assert_eq!(name_similarity("张伟", "李玮"), 0.0);
        assert_eq!(name_similarity("伟", "玮"), 0.0);
        assert_eq!(name_similarity("Li·Na", "li na"), 1.0);
        assert_eq!(name_similarity("", "li"), 0.0);
        assert_eq!(edits(&name_key("kitten"), &name_key("sitting"), 5), 3);
    }
}
