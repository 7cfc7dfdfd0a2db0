//! The daily bulletin (R10), from the same roll-up the command sees.
//!
//! **Who sees which bulletin.** Anyone reads the bulletin of the nation and
//! of a province, exact (their counts are never withheld). Below the
//! provinces a bulletin's exact figures would give away the small counts
//! the open data withholds, and its prose cannot carry a withheld marker:
//! there [`Service::public_bulletin`] answers only a signed-in caller whose
//! jurisdiction covers the region (the command sees its own figures
//! exactly), and everyone else gets the same refusal, whether the region
//! exists or not. The public reads small areas in the open data, withheld
//! by the rule of `fangkong_domain::disclosure`.

use chrono::NaiveDate;

use fangkong_domain::bulletin::BulletinFigures;
use fangkong_domain::form::epidemic_form;
use fangkong_domain::region::Level;

use crate::publications::is_small_area;
use crate::{Principal, Result, Service, ServiceError};

impl Service {
    /// The bulletin as the public routes answer it (see the module docs):
    /// the nation and the provinces for anyone, a smaller region only for a
    /// caller whose jurisdiction covers it.
    pub async fn public_bulletin(
        &self,
        who: Option<&Principal>,
        region_code: Option<&str>,
        date: NaiveDate,
    ) -> Result<BulletinFigures> {
        if let Some(code) = region_code {
            let refused = || {
                fangkong_domain::FieldError::new(
                    "region",
                    format!(
                        "the public bulletin covers the nation and the provinces; {code} is not \
                         one (below the provinces see the open data, or sign in with a \
                         jurisdiction that covers it)"
                    ),
                )
            };
            let region = match self.region(code).await {
                Ok(r) => r,
                // an unknown code answers as a known one outside the caller's reach
                Err(ServiceError::NotFound(_)) => return Err(refused().into()),
                Err(e) => return Err(e),
            };
            if is_small_area(region.level) && !who.is_some_and(|w| w.covers(&region)) {
                return Err(refused().into());
            }
        }
        self.bulletin(region_code, date).await
    }

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
