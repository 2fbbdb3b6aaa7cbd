//! Custom field definitions of customers: the list, defining a field, changing its label,
//! required flag and choices (choices can be added, not removed), deleting it.
use super::{AdminNav, Outcome, entries, mask, request_id};
use crate::{
    Web, call,
    guard::Ctx,
    pages::{Chrome, error_page, http_status, param, render},
};
use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use crm_proto::crm::customers::v1::{
    CreateCustomFieldDefinitionRequest, CustomFieldDefinition, DeleteCustomFieldDefinitionRequest,
    ListCustomFieldDefinitionsRequest, UpdateCustomFieldDefinitionRequest,
    custom_field_definition::Type, customer_service_client::CustomerServiceClient,
};
use http::StatusCode;

/// The types of a field: (API name, catalog key).
pub const TYPES: &[(&str, &str)] = &[
    ("TEXT", "admin.field_text"),
    ("NUMBER", "admin.field_number"),
    ("DATE", "admin.field_date"),
    ("BOOL", "admin.field_bool"),
    ("SINGLE_CHOICE", "admin.field_single_choice"),
    ("MULTI_CHOICE", "admin.field_multi_choice"),
];

/// The custom fields page.
#[derive(Template)]
#[template(path = "admin/custom_fields.html")]
pub struct FieldsPage {
    /// The chrome.
    pub c: Chrome,
    /// The sub-navigation.
    pub nav: AdminNav,
    /// The outcome of the last action.
    pub out: Outcome,
    /// The definitions, by key.
    pub fields: Vec<CustomFieldDefinition>,
    /// Whether the user may change them.
    pub can_write: bool,
    /// The create form's idempotency key.
    pub request_id: String,
    /// Field types.
    pub types: &'static [(&'static str, &'static str)],
}

impl FieldsPage {
    /// The catalog key of a definition's type.
    pub fn type_key(&self, field: &CustomFieldDefinition) -> &'static str {
        let name = Type::try_from(field.r#type)
            .unwrap_or(Type::Unspecified)
            .as_str_name();
        TYPES
            .iter()
            .find(|(t, _)| *t == name)
            .map(|(_, key)| *key)
            .unwrap_or("admin.field_unknown")
    }

    /// Whether a definition's values are picked from choices.
    pub fn has_choices(&self, field: &CustomFieldDefinition) -> bool {
        matches!(
            Type::try_from(field.r#type),
            Ok(Type::SingleChoice | Type::MultiChoice)
        )
    }
}

/// Messages of `?done=`.
const DONE: &[(&str, &str)] = &[
    ("created", "admin.field_created"),
    ("saved", "admin.field_saved"),
    ("deleted", "admin.field_deleted"),
];

async fn show(web: &Web, ctx: &Ctx, out: Outcome, code: StatusCode) -> Response {
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    let fields = match client
        .list_custom_field_definitions(call(ctx, ListCustomFieldDefinitionsRequest {}))
        .await
    {
        Ok(r) => r.into_inner().definitions,
        Err(status) => return error_page(ctx, &status),
    };
    let page = FieldsPage {
        c: Chrome::new(ctx, "admin"),
        nav: AdminNav::new(ctx, "/admin/custom-fields"),
        out,
        fields,
        can_write: ctx.can("customers.custom_field.write"),
        request_id: request_id(),
        types: TYPES,
    };
    (code, render(&page)).into_response()
}

/// GET /admin/custom-fields
pub async fn list(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    show(&web, &ctx, Outcome::from_query(&q, DONE), StatusCode::OK).await
}

/// POST /admin/custom-fields: defines a field.
pub async fn create(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let kind = Type::from_str_name(param(&form, "type")).unwrap_or(Type::Unspecified);
    let choices = if matches!(kind, Type::SingleChoice | Type::MultiChoice) {
        entries(param(&form, "choices"))
    } else {
        Vec::new()
    };
    let definition = CustomFieldDefinition {
        key: param(&form, "key").trim().to_owned(),
        label: param(&form, "label").trim().to_owned(),
        r#type: kind as i32,
        required: param(&form, "required") == "1",
        choices,
        ..Default::default()
    };
    let request = CreateCustomFieldDefinitionRequest {
        definition: Some(definition),
        request_id: param(&form, "request_id").to_owned(),
    };
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    match client
        .create_custom_field_definition(call(&ctx, request))
        .await
    {
        Ok(created) => {
            let key = created.into_inner().key;
            Redirect::to(&format!("/admin/custom-fields?done=created#field-{key}")).into_response()
        }
        Err(status) => {
            let out = Outcome::refused(&status, "create", "", form);
            show(&web, &ctx, out, http_status(&status)).await
        }
    }
}

/// POST /admin/custom-fields/{key}: changes the label, the required flag and the choices.
pub async fn update(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(key): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let with_choices = param(&form, "has_choices") == "1";
    let definition = CustomFieldDefinition {
        name: format!("customFieldDefinitions/{key}"),
        label: param(&form, "label").trim().to_owned(),
        required: param(&form, "required") == "1",
        choices: entries(param(&form, "choices")),
        etag: param(&form, "etag").to_owned(),
        ..Default::default()
    };
    let paths: &[&str] = if with_choices {
        &["label", "required", "choices"]
    } else {
        &["label", "required"]
    };
    let request = UpdateCustomFieldDefinitionRequest {
        definition: Some(definition),
        update_mask: mask(paths),
    };
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    match client
        .update_custom_field_definition(call(&ctx, request))
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/admin/custom-fields?done=saved#field-{key}")).into_response()
        }
        Err(status) => {
            let out = Outcome::refused(&status, "edit", &key, form);
            show(&web, &ctx, out, http_status(&status)).await
        }
    }
}

/// POST /admin/custom-fields/{key}/delete: deletes a field and its values on every customer.
pub async fn delete(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Path(key): Path<String>,
) -> Response {
    let request = DeleteCustomFieldDefinitionRequest {
        name: format!("customFieldDefinitions/{key}"),
    };
    let mut client = CustomerServiceClient::new(web.upstreams().customers.clone());
    match client
        .delete_custom_field_definition(call(&ctx, request))
        .await
    {
        Ok(_) => Redirect::to("/admin/custom-fields?done=deleted").into_response(),
        Err(status) => {
            let out = Outcome::refused(&status, "delete", &key, Vec::new());
            show(&web, &ctx, out, http_status(&status)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offered_type_is_an_api_type() {
        for (name, _) in TYPES {
            let kind = Type::from_str_name(name).expect(name);
            assert_ne!(kind, Type::Unspecified);
        }
        // And every API type is offered.
        let offered = (1..)
            .map_while(|n| Type::try_from(n).ok())
            .filter(|t| TYPES.iter().any(|(name, _)| *name == t.as_str_name()))
            .count();
        assert_eq!(offered, TYPES.len());
        assert!(Type::try_from(i32::try_from(TYPES.len() + 1).unwrap_or(0)).is_err());
    }
}
