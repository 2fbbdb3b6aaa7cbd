//! A customer's page in one read: the customer, checked once against the caller's scope, and the
//! first page of each thing recorded about it, read at the same time.
use crate::{
    consents::ConsentRow, contact_points::ContactPointRow, contacts::ContactRow, error::Error,
    history::HistoryRow, interactions::InteractionRow, interactions::Summary,
    reminders::ReminderRow, sensitive::Values, service::Customers, service::ListParams,
    store::CustomerRow, transactions::TransactionRow,
};
use crm_platform::auth::Principal;
use uuid::Uuid;

/// A page of a section and the token of the next one ("" at the end).
pub type Page<T> = (Vec<T>, String);

/// What a customer's page shows.
#[derive(Debug)]
pub struct Overview {
    /// The customer.
    pub customer: CustomerRow,
    /// Its sensitive values, masked.
    pub secrets: Values,
    /// Counts and last contact.
    pub summary: Summary,
    /// Every contact point.
    pub contact_points: Vec<ContactPointRow>,
    /// Reminders.
    pub reminders: Page<ReminderRow>,
    /// The timeline, newest first.
    pub interactions: Page<InteractionRow>,
    /// Contacts.
    pub contacts: Page<ContactRow>,
    /// Purchases, newest first.
    pub transactions: Page<TransactionRow>,
    /// The consent in force per purpose.
    pub consents: Vec<ConsentRow>,
    /// The trail, newest first.
    pub history: Page<HistoryRow>,
}

impl Customers {
    /// The customer in the caller's scope (NOT_FOUND otherwise, and nothing else is read) with
    /// the first `params.page_size` entries of each section.
    pub async fn overview(
        &self,
        principal: &Principal,
        customer: Uuid,
        params: &ListParams,
    ) -> Result<Overview, Error> {
        let (row, secrets) = self.get_masked(principal, customer).await?;
        let (
            summary,
            contact_points,
            reminders,
            interactions,
            contacts,
            transactions,
            consents,
            history,
        ) = tokio::try_join!(
            self.summary_of(row.clone()),
            self.contact_points_of(customer),
            self.reminders_of(customer, params),
            self.interactions_of(customer, params),
            self.contacts_page_of(customer, params),
            self.transactions_of(customer, params),
            self.current_consents_of(customer),
            self.history_of(customer, params),
        )?;
        Ok(Overview {
            customer: row,
            secrets,
            summary,
            contact_points,
            reminders,
            interactions,
            contacts,
            transactions,
            consents,
            history,
        })
    }
}
