//! GetCustomerOverview: the customer's page in one call. The customer is checked once against
//! the caller's scope, then every section is read at the same time. A section whose own list
//! RPC the caller may not call is left out and named, the others still come back.
use super::{
    PERMISSIONS, consent_proto, interaction_proto, parse_name, reminder_proto, sensitive, to_proto,
    transaction_proto,
};
use crate::{overview::Page, service::Customers, service::ListParams};
use crm_platform::auth;
use crm_proto::crm::customers::v1;
use tonic::{Request, Response, Status};

/// The RPC that lists each section, whose permission the caller must hold to see it here.
const SECTIONS: [(&str, &str); 8] = [
    ("summary", "GetCustomerSummary"),
    ("contact_points", "ListContactPoints"),
    ("reminders", "ListReminders"),
    ("interactions", "ListInteractions"),
    ("contacts", "ListContacts"),
    ("transactions", "ListTransactions"),
    ("consents", "ListConsents"),
    ("history", "ListCustomerHistory"),
];

/// Entries per section when the request does not say.
const DEFAULT_PAGE: i32 = 20;
/// The most entries per section: the overview is a page, not an export.
const MAX_PAGE: i32 = 50;

fn path(rpc: &str) -> String {
    format!("/crm.customers.v1.CustomerService/{rpc}")
}

/// An unpaged section as a page: all of it, nothing more to come.
fn whole<T>(rows: Vec<T>) -> Page<T> {
    (rows, String::new())
}

/// Which sections the caller may not see, and which were cut by the page size.
struct Sections {
    omitted: Vec<&'static str>,
    truncated: Vec<String>,
}

impl Sections {
    /// A section's rows as the API shows them: none when omitted; its name joins `truncated`
    /// when the page (`next` not empty) did not hold all of it.
    fn take<T>(&mut self, section: &str, (rows, next): Page<T>) -> Vec<T> {
        if self.omitted.contains(&section) {
            return Vec::new();
        }
        if !next.is_empty() {
            self.truncated.push(section.to_owned());
        }
        rows
    }
}

pub(super) async fn get(
    c: &Customers,
    req: Request<v1::GetCustomerOverviewRequest>,
) -> Result<Response<v1::CustomerOverview>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.name, "name")?;
    let page_size = match r.page_size {
        0 => DEFAULT_PAGE,
        n if n < 0 => {
            return Err(crate::error::Error::field("page_size", "must not be negative").into());
        }
        n => n.min(MAX_PAGE),
    };
    let params = ListParams {
        page_size,
        ..ListParams::default()
    };
    let o = c.overview(&principal, customer, &params).await?;
    let omitted = SECTIONS
        .iter()
        .filter(|(_, rpc)| !auth::allowed(PERMISSIONS, &principal, &path(rpc)))
        .map(|(section, _)| *section)
        .collect();
    let mut sections = Sections {
        omitted,
        truncated: Vec::new(),
    };
    let now = crm_platform::db::now();
    let summary = sections.take("summary", whole(vec![o.summary])).pop();
    let contact_points = sections.take("contact_points", whole(o.contact_points));
    let reminders = sections.take("reminders", o.reminders);
    let interactions = sections.take("interactions", o.interactions);
    let contacts = sections.take("contacts", o.contacts);
    let transactions = sections.take("transactions", o.transactions);
    let consents = sections.take("consents", whole(o.consents));
    let history = sections.take("history", o.history);
    let mut customer = to_proto(&o.customer);
    sensitive::fill(&mut customer, Some(&o.secrets));
    Ok(Response::new(v1::CustomerOverview {
        customer: Some(customer),
        summary: summary.map(super::interactions::summary_proto),
        contact_points: contact_points
            .iter()
            .map(super::contact_points::proto)
            .collect(),
        reminders: reminders.iter().map(|r| reminder_proto(r, now)).collect(),
        interactions: interactions.iter().map(interaction_proto).collect(),
        contacts: contacts.iter().map(super::contacts::proto).collect(),
        transactions: transactions.iter().map(transaction_proto).collect(),
        consents: consents.iter().map(consent_proto).collect(),
        history: history.iter().map(super::history::proto).collect(),
        omitted_sections: sections.omitted.iter().map(|s| (*s).to_owned()).collect(),
        truncated_sections: sections.truncated,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_platform::{auth::Principal, permissions};

    /// A misspelt RPC name would leave its section out for everyone: each must be in the table,
    /// readable with the permission the overview itself needs, and closed without it.
    #[test]
    fn a_reader_of_the_overview_reads_every_section() {
        let reader = |permissions: &[&str]| Principal {
            subject: auth::Subject::User(uuid::Uuid::now_v7()),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            ..Principal::system()
        };
        let allowed = reader(&[permissions::CUSTOMERS_CUSTOMER_READ]);
        assert!(auth::allowed(
            PERMISSIONS,
            &allowed,
            &path("GetCustomerOverview")
        ));
        let nobody = reader(&[]);
        for (_, rpc) in SECTIONS {
            assert!(auth::allowed(PERMISSIONS, &allowed, &path(rpc)), "{rpc}");
            assert!(!auth::allowed(PERMISSIONS, &nobody, &path(rpc)), "{rpc}");
        }
    }
}
