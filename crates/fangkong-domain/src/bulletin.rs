//! The daily bulletin in the national health commission's form (R10).
//!
//! The figures come from the same roll-up the command sees; this module only
//! words them, in Chinese and in English.

use chrono::{Datelike, NaiveDate};

use crate::region::Level;

/// What one day's bulletin for one region says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulletinFigures {
    pub date: NaiveDate,
    /// `None` for the nation ("全国"); otherwise the region's name.
    pub region_name: Option<String>,
    /// The level of the units whose reports are counted (provinces for the nation).
    pub unit_level: Option<Level>,
    /// How many of those units had figures for the day.
    pub units_reporting: u32,
    pub new_confirmed: i64,
    pub new_severe: i64,
    pub new_deaths: i64,
    pub new_recovered: i64,
    pub new_suspected: i64,
    pub cum_confirmed: i64,
    pub current_severe: i64,
    pub cum_deaths: i64,
    pub cum_recovered: i64,
    pub current_suspected: i64,
    pub current_observation: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "cn" => Some(Lang::Zh),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }
}

fn units_zh(level: Level) -> &'static str {
    match level {
        Level::Nation => "国家",
        Level::Province => "省（区、市）",
        Level::City => "市（州）",
        Level::County => "县（市、区）",
        Level::Township => "乡镇（街道）",
        Level::Village => "村（社区）",
        Level::Grid => "网格",
    }
}

fn units_en(level: Level, n: u32) -> String {
    let (one, many) = match level {
        Level::Nation => ("nation", "nations"),
        Level::Province => ("provincial-level region", "provincial-level regions"),
        Level::City => ("prefecture-level city", "prefecture-level cities"),
        Level::County => ("county", "counties"),
        Level::Township => ("township or street", "townships and streets"),
        Level::Village => ("village or community", "villages and communities"),
        Level::Grid => ("grid", "grids"),
    };
    format!("{} {}", n, if n == 1 { one } else { many })
}

/// `1975` → `1,975`.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl BulletinFigures {
    pub fn render(&self, lang: Lang) -> String {
        match lang {
            Lang::Zh => self.render_zh(),
            Lang::En => self.render_en(),
        }
    }

    fn render_zh(&self) -> String {
        let (m, d) = (self.date.month(), self.date.day());
        let who = self.region_name.as_deref().unwrap_or("全国");
        let units = match self.unit_level {
            Some(level) if self.units_reporting > 0 => {
                format!("{}个{}", self.units_reporting, units_zh(level))
            }
            _ => String::new(),
        };
        format!(
            "{m}月{d}日0—24时，{who}{units}报告新增确诊病例{}例，新增重症病例{}例，新增死亡病例{}例，\
             新增治愈出院病例{}例，新增疑似病例{}例。\n\
             截至{m}月{d}日24时，{who}{units}累计报告确诊病例{}例，现有重症病例{}例，累计死亡病例{}例，\
             累计治愈出院病例{}例，现有疑似病例{}例。\n\
             现有{}名密切接触者正在接受医学观察。",
            self.new_confirmed,
            self.new_severe,
            self.new_deaths,
            self.new_recovered,
            self.new_suspected,
            self.cum_confirmed,
            self.current_severe,
            self.cum_deaths,
            self.cum_recovered,
            self.current_suspected,
            self.current_observation,
        )
    }

    fn render_en(&self) -> String {
        let day = format!(
            "{} {}",
            MONTHS[self.date.month0() as usize],
            self.date.day()
        );
        let who = match (&self.region_name, self.unit_level) {
            (name, Some(level)) if self.units_reporting > 0 => {
                let units = units_en(level, self.units_reporting);
                match name {
                    Some(n) => format!("{units} of {n}"),
                    None => units,
                }
            }
            (Some(n), _) => n.clone(),
            (None, _) => "the nation".to_owned(),
        };
        let t = thousands;
        format!(
            "On {day}, {who} reported {} new confirmed cases, {} new severe cases, {} new deaths, \
             {} newly discharged (cured) and {} new suspected cases.\n\
             As of 24:00 on {day}, {who} had reported a total of {} confirmed cases, of which {} are \
             severe now; {} deaths; {} discharged (cured); and {} suspected cases now.\n\
             {} close contacts are under medical observation.",
            t(self.new_confirmed),
            t(self.new_severe),
            t(self.new_deaths),
            t(self.new_recovered),
            t(self.new_suspected),
            t(self.cum_confirmed),
            t(self.current_severe),
            t(self.cum_deaths),
            t(self.cum_recovered),
            t(self.current_suspected),
            t(self.current_observation),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jan25() -> BulletinFigures {
        BulletinFigures {
            date: NaiveDate::from_ymd_opt(2020, 1, 25).unwrap(),
            region_name: None,
            unit_level: Some(Level::Province),
            units_reporting: 30,
            new_confirmed: 688,
            new_severe: 87,
            new_deaths: 15,
            new_recovered: 15,
            new_suspected: 1309,
            cum_confirmed: 1975,
            current_severe: 324,
            cum_deaths: 56,
            cum_recovered: 49,
            current_suspected: 2684,
            current_observation: 21556,
        }
    }

    #[test]
    fn chinese_text_follows_the_commission() {
        let text = jan25().render(Lang::Zh);
        assert!(text.contains(
            "截至1月25日24时，全国30个省（区、市）累计报告确诊病例1975例，现有重症病例324例，\
             累计死亡病例56例，累计治愈出院病例49例，现有疑似病例2684例。"
        ));
        assert!(text.starts_with("1月25日0—24时，全国30个省（区、市）报告新增确诊病例688例"));
    }

    #[test]
    fn english_text_groups_thousands() {
        let text = jan25().render(Lang::En);
        assert!(text.contains("As of 24:00 on January 25, 30 provincial-level regions had reported a total of 1,975 confirmed cases"), "{text}");
        assert!(text.contains("2,684 suspected cases now"));
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }

    #[test]
    fn a_region_without_unit_counts_is_named_alone() {
        let mut f = jan25();
        f.region_name = Some("湖北省".into());
        f.units_reporting = 0;
        assert!(f
            .render(Lang::Zh)
            .contains("截至1月25日24时，湖北省累计报告确诊病例1975例"));
        assert!(f
            .render(Lang::En)
            .contains("As of 24:00 on January 25, 湖北省 had reported"));
    }
}
