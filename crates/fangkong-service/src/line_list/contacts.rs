//! Close contacts and medical observation (R4): registration, new links,
//! daily follow-up, the due list of a grid or a county, and conversion of a
//! contact with fever or symptoms into a suspected case in one step.
//!
//! The observation rules (the release day, who is due, who was not reached
//! for two days) are the domain's ([`fangkong_domain::contact`]); released
//! contacts drop off every list on their release day because the lists ask
//! for the contacts under observation *on the day*.

use serde_json::json;

use chrono::NaiveDate;

use fangkong_domain::case::{Case, CaseId};
use fangkong_domain::contact::{Contact, ContactId, ContactLink, FollowUp, NewContact};
use fangkong_domain::region::RegionCode;
use fangkong_domain::FieldError;
use fangkong_store::{CaseEntry, ContactEntry, ContactFilter, StoredCase, StoredContact};

use super::cases::case_audit;
use super::persons::{Incoming, PersonResolver};
use super::{may_touch_contact, observed_at_site, require_unit};
use crate::audit::append_audit;
use crate::{Principal, Result, Service, ServiceError};
use fangkong_domain::policy::{Action, Scope};

/// How often a follow-up is tried again when another one was written first.
const FOLLOW_UP_RETRIES: usize = 3;

/// Which contacts to list.
#[derive(Debug, Clone, Default)]
pub struct ContactQuery {
    /// The subtree (the principal's region when `None`).
    pub region: Option<String>,
    /// Only those under observation on this day.
    pub observed_on: Option<NaiveDate>,
    pub after: Option<ContactId>,
    pub limit: u32,
}

/// A contact to follow up today.
#[derive(Debug, Clone, PartialEq)]
pub struct DueContact {
    pub contact: StoredContact,
    /// Not reached on the last two scheduled days: to be escalated.
    pub not_reached_two_days: bool,
}

/// What the audit keeps of a contact: the record and its state, no personal data.
fn contact_audit(entry: &ContactEntry) -> serde_json::Value {
    let c = &entry.contact;
    json!({
        "contact_id": c.id().as_str(),
        "version": entry.version,
        "sources": c.links().iter().map(|l| l.source.as_str()).collect::<Vec<_>>(),
        "release_date": c.release_date().to_string(),
        "follow_ups": c.follow_ups().len(),
        "converted_to": c.converted().map(|(id, _)| id.as_str()),
        "reporting_unit": entry.reporting_unit.as_str(),
    })
}

impl Service {
    /// Registers a close contact of one or more stored cases. The reporting
    /// unit (the one that traced the contact) must be in the principal's
    /// jurisdiction; the contact may live anywhere.
    pub async fn register_contact(
        &self,
        who: &Principal,
        new: NewContact,
        reporting_unit: &RegionCode,
    ) -> Result<StoredContact> {
        let unit = self.region(reporting_unit.as_str()).await?;
        require_unit(who, Action::RegisterContacts, &unit)?;
        let home = self.region(new.person.home_region.as_str()).await?;
        let sources: Vec<CaseId> = new.links.iter().map(|l| l.source.clone()).collect();
        self.check_sources(who, &sources).await?;
        let registered = new.registered;
        let contact = Contact::register(new, self.today()).map_err(FieldError::from)?;
        let mut tx = self.store.begin().await?;
        let mut resolver = PersonResolver::default();
        let person_id = resolver
            .resolve(
                self.store.as_ref(),
                tx.as_mut(),
                vec![Incoming {
                    person: contact.person().clone(),
                    home_path: home.path.clone(),
                    recorded_on: registered,
                }],
            )
            .await?
            .first()
            .copied()
            .unwrap_or_default();
        resolver.finish(tx.as_mut()).await?;
        let id = contact.id().clone();
        let entry = ContactEntry {
            contact,
            person_id,
            reporting_unit: unit.code.clone(),
            home_path: home.path,
            report_path: unit.path,
            version: 1,
        };
        tx.insert_contacts(std::slice::from_ref(&entry)).await?;
        tx.bump_graph_generation().await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            "contact.register",
            "contact",
            id.as_str(),
            None,
            Some(contact_audit(&entry)),
        )
        .await?;
        tx.commit().await?;
        self.stored_contact(&id).await
    }

    /// One contact, if the principal may see it (otherwise not found).
    pub async fn contact(&self, who: &Principal, id: &ContactId) -> Result<StoredContact> {
        self.contact_for(who, Action::ReadContacts, id).await
    }

    /// One contact, if the principal may do `action` to it (otherwise not found).
    async fn contact_for(
        &self,
        who: &Principal,
        action: Action,
        id: &ContactId,
    ) -> Result<StoredContact> {
        who.require(action)?;
        match self.store.contact(id).await? {
            Some(c) if may_touch_contact(who, action, &c) => Ok(c),
            _ => Err(ServiceError::NotFound(format!("contact {id}"))),
        }
    }

    async fn stored_contact(&self, id: &ContactId) -> Result<StoredContact> {
        self.store
            .contact(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("contact {id}")))
    }

    /// Contacts visible to the principal in a subtree, by contact id.
    pub async fn contacts(
        &self,
        who: &Principal,
        query: &ContactQuery,
    ) -> Result<Vec<StoredContact>> {
        self.contacts_for(who, Action::ReadContacts, query).await
    }

    /// The contacts the principal may do `action` to: in a subtree, or
    /// observed at its own site, by contact id.
    async fn contacts_for(
        &self,
        who: &Principal,
        action: Action,
        query: &ContactQuery,
    ) -> Result<Vec<StoredContact>> {
        let scope = who.require(action)?;
        let region = match (&query.region, scope) {
            // a site's contacts may live anywhere; the site filter below decides
            (Some(code), Scope::OwnSite) => self.region(code).await?,
            (Some(code), _) => self.region_for(who, action, code).await?,
            (None, _) => who.region.clone(),
        };
        let limit = query.limit.clamp(1, 10_000);
        let filter = |after| ContactFilter {
            path: region.path.clone(),
            observed_on: query.observed_on,
            after,
            limit,
        };
        if scope != Scope::OwnSite {
            return Ok(self.store.contacts(&filter(query.after.clone())).await?);
        }
        // a site's contacts: those of its region observed there, a page filled from the region's
        let mut out = Vec::new();
        let mut after = query.after.clone();
        loop {
            let page = self.store.contacts(&filter(after)).await?;
            let full = page.len() == limit as usize;
            after = page.last().map(|c| c.entry.contact.id().clone());
            out.extend(
                page.into_iter()
                    .filter(|c| observed_at_site(who, &c.entry.contact, &c.entry.report_path)),
            );
            if !full || out.len() >= limit as usize {
                out.truncate(limit as usize);
                return Ok(out);
            }
        }
    }

    /// Applies `change` to a contact and writes it. With `expected_version`
    /// the change is refused if the contact changed since; without, a change
    /// written first by someone else is read again and `change` re-applied
    /// (follow-ups of different days do not contradict each other).
    async fn change_contact(
        &self,
        who: &Principal,
        id: &ContactId,
        expected_version: Option<u32>,
        (rule, action): (Action, &str),
        change: impl Fn(&mut Contact) -> Result<()>,
    ) -> Result<StoredContact> {
        for _ in 0..FOLLOW_UP_RETRIES {
            let stored = self.contact_for(who, rule, id).await?;
            let version = stored.entry.version;
            if let Some(expected) = expected_version {
                if expected != version {
                    return Err(ServiceError::Conflict(format!(
                        "contact {id} is at version {version}, changed since version \
                         {expected} was read; reload it and apply the change again"
                    )));
                }
            }
            let before = contact_audit(&stored.entry);
            let mut entry = stored.entry;
            let links_before = entry.contact.links().to_vec();
            change(&mut entry.contact)?;
            entry.version = version + 1;
            let mut tx = self.store.begin().await?;
            match tx.update_contact(&entry).await {
                Err(fangkong_store::StoreError::Conflict(_)) if expected_version.is_none() => {
                    continue;
                }
                other => other?,
            }
            if entry.contact.links() != links_before.as_slice() {
                tx.bump_graph_generation().await?;
            }
            append_audit(
                tx.as_mut(),
                &who.username,
                action,
                "contact",
                id.as_str(),
                Some(before),
                Some(contact_audit(&entry)),
            )
            .await?;
            tx.commit().await?;
            return self.stored_contact(id).await;
        }
        Err(ServiceError::Conflict(format!(
            "contact {id} kept changing; try again"
        )))
    }

    /// Adds a source case to a contact, or moves the last exposure to a
    /// source later (the release day moves with it).
    pub async fn add_contact_link(
        &self,
        who: &Principal,
        id: &ContactId,
        link: ContactLink,
        expected_version: Option<u32>,
    ) -> Result<StoredContact> {
        self.check_sources(who, std::slice::from_ref(&link.source))
            .await?;
        let today = self.today();
        let action = (Action::RegisterContacts, "contact.link");
        self.change_contact(who, id, expected_version, action, |c| {
            c.add_link(link.clone(), today)
                .map_err(|e| FieldError::from(e).into())
        })
        .await
    }

    /// Records a day's follow-up: temperature and symptoms, or not reached.
    pub async fn record_follow_up(
        &self,
        who: &Principal,
        id: &ContactId,
        follow_up: FollowUp,
        expected_version: Option<u32>,
    ) -> Result<StoredContact> {
        let today = self.today();
        let action = (Action::FollowUp, "contact.follow_up");
        self.change_contact(who, id, expected_version, action, |c| {
            c.record_follow_up(follow_up, today)
                .map_err(|e| FieldError::from(e).into())
        })
        .await
    }

    /// The contacts of a region (the principal's when `None`) to follow up
    /// on `day`: under observation and not yet reached that day, by id,
    /// each flagged when not reached for two days.
    pub async fn due_follow_ups(
        &self,
        who: &Principal,
        region: Option<&str>,
        day: NaiveDate,
    ) -> Result<Vec<DueContact>> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .contacts_for(
                    who,
                    Action::FollowUp,
                    &ContactQuery {
                        region: region.map(str::to_owned),
                        observed_on: Some(day),
                        after: after.clone(),
                        limit: 10_000,
                    },
                )
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.entry.contact.id().clone());
            let full = page.len() == 10_000;
            out.extend(
                page.into_iter()
                    .filter(|c| c.entry.contact.is_due(day))
                    .map(|c| DueContact {
                        not_reached_two_days: c.entry.contact.not_reached_two_days(day),
                        contact: c,
                    }),
            );
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// Turns a contact with fever or symptoms into a suspected case in one
    /// step: the case keeps the person, the source cases and the contact's
    /// id; the contact leaves observation. Reported by the contact's unit
    /// unless another is given.
    pub async fn convert_contact(
        &self,
        who: &Principal,
        id: &ContactId,
        case_id: CaseId,
        reporting_unit: Option<&RegionCode>,
        report_date: NaiveDate,
    ) -> Result<(StoredContact, StoredCase)> {
        let stored = self.contact_for(who, Action::ConvertContact, id).await?;
        // the contact's own unit reports the case unless the caller names one of its own
        let unit = match reporting_unit {
            Some(code) => {
                let unit = self.region(code.as_str()).await?;
                require_unit(who, Action::ConvertContact, &unit)?;
                unit
            }
            None => self.region(stored.entry.reporting_unit.as_str()).await?,
        };
        let today = self.today();
        let before = contact_audit(&stored.entry);
        let mut entry = stored.entry;
        let new = entry
            .contact
            .convert_to_suspected(case_id.clone(), unit.code.clone(), report_date, today)
            .map_err(FieldError::from)?;
        let case = Case::open(new, today).map_err(FieldError::from)?;
        let case_entry = CaseEntry {
            case,
            person_id: entry.person_id,
            home_path: entry.home_path.clone(),
            report_path: unit.path.clone(),
        };
        entry.version += 1;
        let mut tx = self.store.begin().await?;
        tx.insert_cases(std::slice::from_ref(&case_entry)).await?;
        tx.update_contact(&entry).await?;
        tx.bump_graph_generation().await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            "contact.convert",
            "contact",
            id.as_str(),
            Some(before),
            Some(contact_audit(&entry)),
        )
        .await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            "case.report",
            "case",
            case_id.as_str(),
            None,
            Some(case_audit(&case_entry.case)),
        )
        .await?;
        tx.commit().await?;
        let contact = self.stored_contact(id).await?;
        let case = self
            .store
            .case(&case_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("case {case_id}")))?;
        Ok((contact, case))
    }
}
