//! The built-in roles, created on first start. Their ids are fixed so that documentation,
//! scripts and tests can name them: `roles/00000000-0000-0000-0000-00000000000N`.
use crm_platform::permissions::{self as p, CATALOGUE, FAMILIES};
use uuid::Uuid;

/// A built-in role.
pub struct BuiltIn {
    /// Fixed id.
    pub id: Uuid,
    /// Shown name.
    pub display_name: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Granted permissions.
    pub permissions: Vec<&'static str>,
    /// Data scope per family.
    pub scopes: Vec<(&'static str, &'static str)>,
}

/// The administrator role's id.
pub const ADMINISTRATOR: Uuid = Uuid::from_u128(1);
/// The sales rep role's id.
pub const SALES_REP: Uuid = Uuid::from_u128(2);
/// The sales manager role's id.
pub const SALES_MANAGER: Uuid = Uuid::from_u128(3);
/// The service agent role's id.
pub const SERVICE_AGENT: Uuid = Uuid::from_u128(4);
/// The service manager role's id.
pub const SERVICE_MANAGER: Uuid = Uuid::from_u128(5);
/// The marketer role's id.
pub const MARKETER: Uuid = Uuid::from_u128(6);
/// The auditor role's id.
pub const AUDITOR: Uuid = Uuid::from_u128(7);
/// The integration role's id (ERP, finance API clients).
pub const INTEGRATION: Uuid = Uuid::from_u128(8);
/// The role of the services' own API clients (reporting denials to the audit log).
pub const SERVICE: Uuid = Uuid::from_u128(9);

fn all(scope: &'static str) -> Vec<(&'static str, &'static str)> {
    FAMILIES.iter().map(|f| (*f, scope)).collect()
}

/// Every built-in role.
pub fn built_ins() -> Vec<BuiltIn> {
    let sales = vec![
        p::CUSTOMERS_CUSTOMER_READ,
        p::CUSTOMERS_CUSTOMER_WRITE,
        p::SALES_LEAD_READ,
        p::SALES_LEAD_WRITE,
        p::SALES_OPPORTUNITY_READ,
        p::SALES_OPPORTUNITY_WRITE,
        p::SALES_ORDER_READ,
        p::SALES_ORDER_WRITE,
    ];
    let mut sales_manager = sales.clone();
    sales_manager.extend([
        p::CUSTOMERS_CUSTOMER_DELETE,
        p::CUSTOMERS_CUSTOMER_MERGE,
        p::CUSTOMERS_EXPORT,
        p::IDENTITY_USER_READ,
        p::IDENTITY_UNIT_READ,
    ]);
    let service = vec![
        p::CUSTOMERS_CUSTOMER_READ,
        p::SERVICEDESK_TICKET_READ,
        p::SERVICEDESK_TICKET_WRITE,
    ];
    let mut service_manager = service.clone();
    service_manager.extend([
        p::CUSTOMERS_CUSTOMER_WRITE,
        p::CUSTOMERS_EXPORT,
        p::IDENTITY_USER_READ,
        p::IDENTITY_UNIT_READ,
    ]);
    let auditor: Vec<_> = CATALOGUE
        .iter()
        .map(|x| x.name)
        .filter(|n| n.ends_with(".read") || *n == p::IDENTITY_SECURITY_EVENT_EXPORT)
        .filter(|n| *n != p::CUSTOMERS_SENSITIVE_READ)
        .collect();
    vec![
        BuiltIn {
            id: ADMINISTRATOR,
            display_name: "Administrator",
            description: "Everything, on every record.",
            permissions: CATALOGUE.iter().map(|x| x.name).collect(),
            scopes: all("ALL"),
        },
        BuiltIn {
            id: SALES_REP,
            display_name: "Sales rep",
            description: "Works their own customers, leads, opportunities and orders.",
            permissions: sales,
            scopes: vec![("customers", "OWN"), ("sales", "OWN")],
        },
        BuiltIn {
            id: SALES_MANAGER,
            display_name: "Sales manager",
            description: "Everything a sales rep does, for their unit and every unit below it.",
            permissions: sales_manager,
            scopes: vec![("customers", "SUBTREE"), ("sales", "SUBTREE")],
        },
        BuiltIn {
            id: SERVICE_AGENT,
            display_name: "Service agent",
            description: "Handles tickets of their unit; reads its customers.",
            permissions: service,
            scopes: vec![("customers", "UNIT"), ("servicedesk", "UNIT")],
        },
        BuiltIn {
            id: SERVICE_MANAGER,
            display_name: "Service manager",
            description: "Service for their unit and every unit below it.",
            permissions: service_manager,
            scopes: vec![("customers", "SUBTREE"), ("servicedesk", "SUBTREE")],
        },
        BuiltIn {
            id: MARKETER,
            display_name: "Marketer",
            description: "Runs campaigns over every customer.",
            permissions: vec![
                p::CUSTOMERS_CUSTOMER_READ,
                p::CUSTOMERS_EXPORT,
                p::MARKETING_CAMPAIGN_READ,
                p::MARKETING_CAMPAIGN_WRITE,
            ],
            scopes: vec![("customers", "ALL"), ("marketing", "ALL")],
        },
        BuiltIn {
            id: AUDITOR,
            display_name: "Auditor",
            description: "Reads everything, including the security audit log; changes nothing.",
            permissions: auditor,
            scopes: all("ALL"),
        },
        BuiltIn {
            id: INTEGRATION,
            display_name: "Integration",
            description: "For ERP and finance API clients: customers and orders, every record.",
            permissions: vec![
                p::CUSTOMERS_CUSTOMER_READ,
                p::CUSTOMERS_CUSTOMER_WRITE,
                p::SALES_ORDER_READ,
                p::SALES_ORDER_WRITE,
                p::SALES_OPPORTUNITY_READ,
                p::EVENTS_STREAM_READ,
                p::EVENTS_WEBHOOK_READ,
                p::EVENTS_WEBHOOK_WRITE,
            ],
            scopes: vec![("customers", "ALL"), ("sales", "ALL")],
        },
        BuiltIn {
            id: SERVICE,
            display_name: "Service",
            description: "For the suite's own services: report security events to the audit log.",
            permissions: vec![p::IDENTITY_SECURITY_EVENT_WRITE],
            scopes: vec![],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_use_catalogue_permissions_and_known_scopes() {
        for role in built_ins() {
            for perm in &role.permissions {
                assert!(p::exists(perm), "{perm}");
            }
            for (family, scope) in &role.scopes {
                assert!(FAMILIES.contains(family), "{family}");
                assert!(crm_platform::auth::DataScope::rank(scope) > 0, "{scope}");
            }
        }
        let auditor = built_ins().into_iter().find(|r| r.id == AUDITOR).unwrap();
        assert!(
            auditor.permissions.iter().all(|p| !p.ends_with(".write")),
            "the auditor changes nothing"
        );
    }
}
