//! Forms: what a unit reports each day (R2).
//!
//! A form is a named set of typed fields, a reporting level (who files it)
//! and a daily deadline. Every field is a non-negative count. *Additive*
//! fields (new cases today) add up over days and regions; *stock* fields
//! (people under observation now) add up over regions, and over days the
//! latest value stands.
//!
//! Values are held in a fixed array of [`MAX_FIELDS`] slots; field `i` of a
//! form is slot `i`. Storage keeps the slots as columns, so roll-ups are plain
//! integer sums. A form's field order is therefore fixed once it has data.
//!
//! Every field has an upper bound ([`Field::max`], by default
//! [`DEFAULT_MAX`] a unit a day), so that a figure summed over every unit of
//! a country and every day of years stays far inside `i64`; sums are checked
//! all the same ([`Values::plus`], [`Form::accumulate`]) and fail rather than
//! wrap.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::region::Level;
use crate::FieldError;

/// The most fields one form may have.
pub const MAX_FIELDS: usize = 16;

/// The largest count a unit may report in one field for one day unless the
/// form says otherwise: ten million (a country's 700,000 villages at this
/// bound every day for a century still sum to less than `i64::MAX`).
pub const DEFAULT_MAX: i64 = 10_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A flow: sums over days and regions (`new_confirmed`).
    Additive,
    /// A level at the end of the day: sums over regions; over days the latest
    /// value stands (`current_severe`).
    Stock,
}

impl FieldKind {
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Additive => "additive",
            FieldKind::Stock => "stock",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub kind: FieldKind,
    pub label_zh: String,
    pub label_en: String,
    /// Whether a rise in this field is a warning sign, so the early-warning
    /// methods watch it (new cases, fever found: yes; recoveries: no).
    pub watch: bool,
    /// The largest count one unit may report in this field for one day.
    pub max: i64,
}

/// A sum of values left the range of `i64`: the slot (field index) where it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sum of field {slot} leaves the integer range")]
pub struct Overflow {
    pub slot: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub name: String,
    pub label_zh: String,
    pub label_en: String,
    /// The level whose units file this form every day.
    pub level: Level,
    /// Minutes after midnight (local time) of the report's day by which it is
    /// due; more than 1440 means the next day.
    pub deadline_minutes: u32,
    pub fields: Vec<Field>,
}

/// A form's values, one per field, in the form's field order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Values(pub [i64; MAX_FIELDS]);

impl Values {
    pub const ZERO: Values = Values([0; MAX_FIELDS]);

    pub fn get(&self, i: usize) -> i64 {
        self.0.get(i).copied().unwrap_or(0)
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|v| *v == 0)
    }

    /// The sum slot by slot, or the first slot where it leaves `i64`.
    pub fn plus(&self, other: &Values) -> Result<Values, Overflow> {
        let mut out = *self;
        for (slot, (o, x)) in out.0.iter_mut().zip(other.0).enumerate() {
            *o = o.checked_add(x).ok_or(Overflow { slot })?;
        }
        Ok(out)
    }

    /// The difference slot by slot, or the first slot where it leaves `i64`.
    pub fn minus(&self, other: &Values) -> Result<Values, Overflow> {
        let mut out = *self;
        for (slot, (o, x)) in out.0.iter_mut().zip(other.0).enumerate() {
            *o = o.checked_sub(x).ok_or(Overflow { slot })?;
        }
        Ok(out)
    }
}

impl Default for Values {
    fn default() -> Self {
        Values::ZERO
    }
}

/// A count as typed by a person or found in a file: a non-negative integer.
pub fn parse_count(field: &str, text: &str) -> Result<i64, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "is empty; a zero report sends 0"));
    }
    match t.parse::<i64>() {
        Ok(n) if n < 0 => Err(FieldError::new(
            field,
            format!("must not be negative, got {n}"),
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(FieldError::new(
            field,
            format!("must be a non-negative integer, got {t:?}"),
        )),
    }
}

impl Form {
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The values of a report from `(field, count)` pairs. Every field of the
    /// form must be given once; unknown fields and negative counts are refused.
    pub fn values_from_pairs<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, i64)>,
    ) -> Result<Values, FieldError> {
        let mut values = Values::ZERO;
        let mut seen = [false; MAX_FIELDS];
        for (name, n) in pairs {
            let field = format!("values.{name}");
            let i = self.field_index(name).ok_or_else(|| {
                FieldError::new(
                    &field,
                    format!(
                        "is not a field of form {}; its fields are {}",
                        self.name,
                        self.field_list()
                    ),
                )
            })?;
            if seen[i] {
                return Err(FieldError::new(&field, "is given twice"));
            }
            self.check_count(i, n)?;
            seen[i] = true;
            values.0[i] = n;
        }
        if let Some(missing) = self.fields.iter().enumerate().find(|(i, _)| !seen[*i]) {
            return Err(FieldError::new(
                format!("values.{}", missing.1.name),
                "is missing; a zero report sends 0",
            ));
        }
        Ok(values)
    }

    /// A count for field `i` as one unit's report for one day: not negative,
    /// at most the field's bound. The error names the field (`values.<name>`).
    pub fn check_count(&self, i: usize, n: i64) -> Result<(), FieldError> {
        let Some(f) = self.fields.get(i) else {
            return if n == 0 {
                Ok(())
            } else {
                Err(FieldError::new(
                    format!("values.{}", i + 1),
                    format!("form {} has no field {}", self.name, i + 1),
                ))
            };
        };
        if n < 0 {
            return Err(FieldError::new(
                format!("values.{}", f.name),
                format!("must not be negative, got {n}"),
            ));
        }
        if n > f.max {
            return Err(FieldError::new(
                format!("values.{}", f.name),
                format!("must be at most {}, got {n}", f.max),
            ));
        }
        Ok(())
    }

    /// Every slot of `values` as one unit's report for one day (slots
    /// beyond the form's fields must be 0); the first bad field is named.
    pub fn check_values(&self, values: &Values) -> Result<(), FieldError> {
        for (i, n) in values.0.iter().enumerate() {
            self.check_count(i, *n)?;
        }
        Ok(())
    }

    /// The field of a slot, as an error's field (`values.<name>`).
    pub fn slot_name(&self, slot: usize) -> String {
        match self.fields.get(slot) {
            Some(f) => format!("values.{}", f.name),
            None => format!("values.{}", slot + 1),
        }
    }

    pub fn field_list(&self) -> String {
        self.fields
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `(name, value)` for each field of the form.
    pub fn named<'a>(&'a self, values: &'a Values) -> impl Iterator<Item = (&'a str, i64)> + 'a {
        self.fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), values.get(i)))
    }

    /// The moment a report for `date` is due, with local time `utc_offset_minutes` east of UTC.
    pub fn deadline(&self, date: NaiveDate, utc_offset_minutes: i32) -> DateTime<Utc> {
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        midnight + Duration::minutes(i64::from(self.deadline_minutes))
            - Duration::minutes(i64::from(utc_offset_minutes))
    }

    /// Sum values over days: additive fields add up, stock fields keep the last.
    /// `days` must be in date order. A sum that leaves `i64` is an error
    /// naming its field, never a wrapped number.
    pub fn accumulate<'a>(
        &self,
        days: impl IntoIterator<Item = &'a Values>,
    ) -> Result<Values, FieldError> {
        let mut acc = Values::ZERO;
        for day in days {
            for (i, f) in self.fields.iter().enumerate() {
                match f.kind {
                    FieldKind::Additive => {
                        acc.0[i] = acc.0[i].checked_add(day.0[i]).ok_or_else(|| {
                            FieldError::new(
                                self.slot_name(i),
                                "the sum over days leaves the integer range",
                            )
                        })?;
                    }
                    FieldKind::Stock => acc.0[i] = day.0[i],
                }
            }
        }
        Ok(acc)
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

fn field(name: &str, kind: FieldKind, zh: &str, en: &str) -> Field {
    Field {
        name: name.to_owned(),
        kind,
        label_zh: zh.to_owned(),
        label_en: en.to_owned(),
        watch: false,
        max: DEFAULT_MAX,
    }
}

/// A field the early-warning methods watch.
fn watched(name: &str, kind: FieldKind, zh: &str, en: &str) -> Field {
    Field {
        watch: true,
        ..field(name, kind, zh, en)
    }
}

/// The national health commission's daily figures, filed by every county.
pub fn epidemic_form() -> Form {
    use FieldKind::{Additive, Stock};
    Form {
        name: "epidemic".into(),
        label_zh: "疫情日报".into(),
        label_en: "daily epidemic report".into(),
        level: Level::County,
        // the day's figures, 0–24h, are due at 08:00 the next morning
        deadline_minutes: 24 * 60 + 8 * 60,
        fields: vec![
            watched(
                "new_confirmed",
                Additive,
                "新增确诊病例",
                "new confirmed cases",
            ),
            watched(
                "new_suspected",
                Additive,
                "新增疑似病例",
                "new suspected cases",
            ),
            watched("new_severe", Additive, "新增重症病例", "new severe cases"),
            watched("new_deaths", Additive, "新增死亡病例", "new deaths"),
            field(
                "new_recovered",
                Additive,
                "新增治愈出院病例",
                "new discharged (cured)",
            ),
            field("current_severe", Stock, "现有重症病例", "severe cases now"),
            field(
                "current_suspected",
                Stock,
                "现有疑似病例",
                "suspected cases now",
            ),
            field(
                "current_observation",
                Stock,
                "正在接受医学观察的密切接触者",
                "close contacts under medical observation",
            ),
        ],
    }
}

/// The grid worker's daily door-to-door report, filed by every village and community.
pub fn grid_form() -> Form {
    use FieldKind::{Additive, Stock};
    Form {
        name: "grid".into(),
        label_zh: "网格排查日报".into(),
        label_en: "daily grid screening report".into(),
        level: Level::Village,
        // filed the same evening, by 20:00
        deadline_minutes: 20 * 60,
        fields: vec![
            field(
                "households_visited",
                Additive,
                "走访户数",
                "households visited",
            ),
            watched(
                "returnees_registered",
                Additive,
                "登记返乡人员",
                "returnees registered",
            ),
            watched(
                "fever_found",
                Additive,
                "发现发热人员",
                "people with fever found",
            ),
            field(
                "home_observation",
                Stock,
                "居家医学观察人数",
                "people under home observation",
            ),
        ],
    }
}

/// The forms every installation has.
pub fn builtin_forms() -> Vec<Form> {
    vec![epidemic_form(), grid_form()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_need_every_field_once() {
        let f = grid_form();
        let v = f
            .values_from_pairs([
                ("households_visited", 12),
                ("returnees_registered", 2),
                ("fever_found", 0),
                ("home_observation", 3),
            ])
            .unwrap();
        assert_eq!(v.get(0), 12);
        assert_eq!(v.get(3), 3);

        let err = f
            .values_from_pairs([("households_visited", 1)])
            .unwrap_err();
        assert_eq!(err.field, "values.returnees_registered");

        let err = f.values_from_pairs([("cats", 1)]).unwrap_err();
        assert_eq!(err.field, "values.cats");
        assert!(err.reason.contains("households_visited"));

        let err = f
            .values_from_pairs([("households_visited", -1)])
            .unwrap_err();
        assert!(err.reason.contains("negative"));
    }

    #[test]
    fn counts_parse_strictly() {
        assert_eq!(parse_count("x", " 7 ").unwrap(), 7);
        assert!(parse_count("x", "-1")
            .unwrap_err()
            .reason
            .contains("negative"));
        assert!(parse_count("x", "1.5")
            .unwrap_err()
            .reason
            .contains("integer"));
        assert!(parse_count("x", "").unwrap_err().reason.contains("empty"));
    }

    #[test]
    fn deadline_is_local_time() {
        let f = epidemic_form();
        let d = NaiveDate::from_ymd_opt(2020, 1, 25).unwrap();
        // 2020-01-26 08:00 in UTC+8 is 2020-01-26 00:00 UTC
        assert_eq!(f.deadline(d, 480).to_rfc3339(), "2020-01-26T00:00:00+00:00");
    }

    #[test]
    fn accumulation_adds_flows_and_keeps_last_stock() {
        let f = grid_form();
        let mut a = Values::ZERO;
        a.0[0] = 5;
        a.0[3] = 9;
        let mut b = Values::ZERO;
        b.0[0] = 7;
        b.0[3] = 4;
        let acc = f.accumulate([&a, &b]).unwrap();
        assert_eq!(acc.get(0), 12);
        assert_eq!(acc.get(3), 4);
    }

    /// Issue 12: 9223372036854775807 new cases were accepted from one unit.
    #[test]
    fn counts_are_bounded_per_field() {
        let f = epidemic_form();
        let mut pairs: Vec<(&str, i64)> = f.fields.iter().map(|x| (x.name.as_str(), 0)).collect();
        pairs[0].1 = i64::MAX;
        let err = f.values_from_pairs(pairs.iter().copied()).unwrap_err();
        assert_eq!(err.field, "values.new_confirmed");
        assert_eq!(
            err.reason,
            "must be at most 10000000, got 9223372036854775807"
        );
        pairs[0].1 = DEFAULT_MAX;
        assert!(f.values_from_pairs(pairs.iter().copied()).is_ok());

        let mut v = Values::ZERO;
        v.0[f.fields.len()] = 1;
        assert!(f.check_values(&v).is_err(), "a slot beyond the fields");
    }

    /// Issue 12: two rows at `i64::MAX / 2 + 1` wrapped around silently.
    #[test]
    fn sums_fail_instead_of_wrapping() {
        let mut a = Values::ZERO;
        a.0[2] = i64::MAX / 2 + 1;
        assert_eq!(a.plus(&a), Err(Overflow { slot: 2 }));
        let mut m = Values::ZERO;
        m.0[1] = i64::MIN;
        assert_eq!(Values::ZERO.minus(&a).unwrap().get(2), -(i64::MAX / 2 + 1));
        assert_eq!(a.minus(&m), Err(Overflow { slot: 1 }));
        let f = epidemic_form();
        let err = f.accumulate([&a, &a]).unwrap_err();
        assert_eq!(err.field, "values.new_severe");
    }

    #[test]
    fn builtin_forms_fit_the_slots() {
        for f in builtin_forms() {
            assert!(f.fields.len() <= MAX_FIELDS, "{}", f.name);
        }
    }
}
