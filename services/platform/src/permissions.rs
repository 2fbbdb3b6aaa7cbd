//! The permission catalogue: one entry per action of every service, in one place. Roles grant
//! these strings; each service's permission table (next to its RPCs) names the one each method
//! requires; `crm.identity.v1.AccessService/ListPermissions` lists them.

/// One permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// "service.resource.action".
    pub name: &'static str,
    /// The service it belongs to.
    pub service: &'static str,
    /// What it allows.
    pub description: &'static str,
}

macro_rules! catalogue {
    ($($konst:ident = $name:literal, $service:literal, $description:literal;)*) => {
        $(
            #[doc = $description]
            pub const $konst: &str = $name;
        )*
        /// Every permission, in catalogue order.
        pub const CATALOGUE: &[Permission] = &[
            $(Permission { name: $name, service: $service, description: $description },)*
        ];
    };
}

catalogue! {
    CUSTOMERS_CUSTOMER_READ = "customers.customer.read", "customers", "Read customers in the data scope.";
    CUSTOMERS_CUSTOMER_WRITE = "customers.customer.write", "customers", "Create and change customers in the data scope.";
    CUSTOMERS_CUSTOMER_DELETE = "customers.customer.delete", "customers", "Delete customers in the data scope.";
    CUSTOMERS_PRIVACY_MANAGE = "customers.privacy.manage", "customers", "Handle data subjects' access and erasure requests (GDPR, PIPL) for customers in the data scope.";
    CUSTOMERS_CUSTOMER_MERGE = "customers.customer.merge", "customers", "Merge duplicate customers in the data scope, and undo merges.";
    CUSTOMERS_SENSITIVE_READ = "customers.sensitive.read", "customers", "Read sensitive fields (national id, bank account) unmasked.";
    CUSTOMERS_EXPORT = "customers.export", "customers", "Export customers in the data scope.";
    CUSTOMERS_CUSTOM_FIELD_WRITE = "customers.custom_field.write", "customers", "Define, change and delete custom fields of customers.";
    SALES_LEAD_READ = "sales.lead.read", "sales", "Read leads in the data scope.";
    SALES_LEAD_WRITE = "sales.lead.write", "sales", "Create, assign, qualify and convert leads.";
    SALES_OPPORTUNITY_READ = "sales.opportunity.read", "sales", "Read opportunities in the data scope.";
    SALES_OPPORTUNITY_WRITE = "sales.opportunity.write", "sales", "Create and change opportunities.";
    SALES_ORDER_READ = "sales.order.read", "sales", "Read quotes, contracts and orders.";
    SALES_ORDER_WRITE = "sales.order.write", "sales", "Create and change quotes, contracts and orders.";
    SERVICEDESK_TICKET_READ = "servicedesk.ticket.read", "servicedesk", "Read tickets in the data scope.";
    SERVICEDESK_TICKET_WRITE = "servicedesk.ticket.write", "servicedesk", "Create, assign and resolve tickets.";
    MARKETING_CAMPAIGN_READ = "marketing.campaign.read", "marketing", "Read campaigns, segments and results.";
    MARKETING_CAMPAIGN_WRITE = "marketing.campaign.write", "marketing", "Create and launch campaigns.";
    IDENTITY_UNIT_READ = "identity.unit.read", "identity", "Read the organisation tree.";
    IDENTITY_UNIT_WRITE = "identity.unit.write", "identity", "Create, change, move and delete units.";
    IDENTITY_USER_READ = "identity.user.read", "identity", "Read users.";
    IDENTITY_USER_WRITE = "identity.user.write", "identity", "Create, change and delete users.";
    IDENTITY_USER_RESET_PASSWORD = "identity.user.reset_password", "identity", "Set another user's password.";
    IDENTITY_ROLE_READ = "identity.role.read", "identity", "Read roles and the permission catalogue.";
    IDENTITY_ROLE_WRITE = "identity.role.write", "identity", "Create, change and delete roles.";
    IDENTITY_ROLE_ASSIGN = "identity.role.assign", "identity", "Assign roles to users.";
    IDENTITY_API_CLIENT_READ = "identity.api_client.read", "identity", "Read API clients.";
    IDENTITY_API_CLIENT_WRITE = "identity.api_client.write", "identity", "Create, change, rotate and delete API clients.";
    IDENTITY_SECURITY_EVENT_READ = "identity.security_event.read", "identity", "Read the security audit log.";
    IDENTITY_SECURITY_EVENT_EXPORT = "identity.security_event.export", "identity", "Export the security audit log.";
    IDENTITY_SECURITY_EVENT_WRITE = "identity.security_event.write", "identity", "Record security events seen by another service (service credentials).";
    IDENTITY_SECURITY_ALERT_READ = "identity.security_alert.read", "identity", "Read security alerts.";
    IDENTITY_SECURITY_ALERT_WRITE = "identity.security_alert.write", "identity", "Acknowledge security alerts.";
    EVENTS_STREAM_READ = "events.stream.read", "events", "Follow the change stream (WatchEvents); each event is delivered only within the reader's permissions and data scope.";
    EVENTS_WEBHOOK_READ = "events.webhook.read", "events", "Read webhook subscriptions and their delivery logs.";
    EVENTS_WEBHOOK_WRITE = "events.webhook.write", "events", "Create, change and delete webhook subscriptions.";
}

/// The resource families that carry a data scope.
pub const FAMILIES: &[&str] = &["customers", "sales", "servicedesk", "marketing"];

/// Whether `name` is in the catalogue.
pub fn exists(name: &str) -> bool {
    CATALOGUE.iter().any(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut names: Vec<_> = CATALOGUE.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len());
        for p in CATALOGUE {
            // "service.resource.action", or "service.action" for service-wide actions (export).
            assert!((2..=3).contains(&p.name.split('.').count()), "{}", p.name);
            assert!(p.name.starts_with(p.service), "{}", p.name);
        }
        assert!(exists(CUSTOMERS_CUSTOMER_READ));
        assert!(!exists("customers.customer.fly"));
    }
}
