//! The daily bulletin (R10), from the same roll-up the command sees.

use chrono::NaiveDate;

use fangkong_domain::bulletin::BulletinFigures;
use fangkong_domain::form::epidemic_form;
use fangkong_domain::region::Level;

use crate::{Result, Service, ServiceError};

impl Service {
    /// The bulletin of `region` (the nation when `None`) for `date`. Public:
    /// aggregate counts only, no jurisdiction check.
    pub async fn bulletin(
        &self,
        region_code: Option<&str>,
        date: NaiveDate,
    ) -> Result<BulletinFigures> {
        let form = epidemic_form();
        let region = match region_code {
            Some(code) => self.region(code).await?,
            None => self.nation().await?,
        };
        let today = self.today();
        if date > today {
            return Err(fangkong_domain::FieldError::new(
                "date",
                format!("{date} is in the future (today is {today})"),
            )
            .into());
        }
        let figures = self.figures_of(&form.name, region.clone(), date).await?;
        let units = self
            .store
            .child_figures(&form.name, &region.code, date)
            .await?;
        let idx = |name: &str| {
            form.field_index(name).ok_or_else(|| {
                ServiceError::Internal(anyhow::anyhow!("epidemic form has no field {name}"))
            })
        };
        let day = figures.day.as_ref().map(|d| d.values).unwrap_or_default();
        let cum = figures.cumulative;
        Ok(BulletinFigures {
            date,
            region_name: (region.level != Level::Nation).then(|| region.name.clone()),
            unit_level: region.level.child(),
            units_reporting: units.len() as u32,
            new_confirmed: day.get(idx("new_confirmed")?),
            new_severe: day.get(idx("new_severe")?),
            new_deaths: day.get(idx("new_deaths")?),
            new_recovered: day.get(idx("new_recovered")?),
            new_suspected: day.get(idx("new_suspected")?),
            cum_confirmed: cum.get(idx("new_confirmed")?),
            current_severe: cum.get(idx("current_severe")?),
            cum_deaths: cum.get(idx("new_deaths")?),
            cum_recovered: cum.get(idx("new_recovered")?),
            current_suspected: cum.get(idx("current_suspected")?),
            current_observation: cum.get(idx("current_observation")?),
        })
    }
}
