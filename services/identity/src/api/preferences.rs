//! `crm.identity.v1.PreferencesService`.
use super::{caller, parse_etag, ts};
use crate::{
    error::Error,
    service::{
        Identity,
        preferences::{Preferences as Prefs, PreferencesChanges, Whose},
    },
    store::SavedViewRow,
};
use crm_proto::crm::identity::v1::{
    GetUserPreferencesRequest, SavedView, UpdateUserPreferencesRequest, UserPreferences,
    preferences_service_server::PreferencesService,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// The adapter.
#[derive(Clone)]
pub struct Preferences(pub Identity);

/// The fields UpdateUserPreferences can change, as `update_mask` names them.
const UPDATABLE: &[&str] = &["locale", "time_zone", "saved_views"];

/// "users/me/preferences" or "users/{uuid}/preferences".
#[allow(clippy::result_large_err)]
fn parse_whose(name: &str, field: &str) -> Result<Whose, Status> {
    let whose = match name
        .strip_prefix("users/")
        .and_then(|rest| rest.strip_suffix("/preferences"))
    {
        Some("me") => Some(Whose::Me),
        Some(id) => Uuid::parse_str(id).ok().map(Whose::User),
        None => None,
    };
    whose.ok_or_else(|| {
        Error::field(
            field,
            "must be users/me/preferences or users/{uuid}/preferences",
        )
        .into()
    })
}

fn view_proto(v: &SavedViewRow) -> SavedView {
    SavedView {
        id: v.id.clone(),
        list: v.list.clone(),
        title: v.title.clone(),
        columns: v.columns.clone(),
        filter: v.filter.clone(),
        order_by: v.order_by.clone(),
        page_size: v.page_size,
        query: v.query.clone(),
    }
}

fn view_row(v: SavedView) -> SavedViewRow {
    SavedViewRow {
        id: v.id,
        list: v.list,
        title: v.title,
        columns: v.columns,
        filter: v.filter,
        order_by: v.order_by,
        page_size: v.page_size,
        query: v.query,
    }
}

/// Preferences in proto form, named by the real user id (never "me").
fn proto(p: &Prefs) -> UserPreferences {
    UserPreferences {
        name: format!("users/{}/preferences", p.user_id),
        locale: p.locale.clone(),
        time_zone: p.time_zone.clone(),
        saved_views: p.saved_views.iter().map(view_proto).collect(),
        update_time: p.updated_at.map(ts),
        etag: p.version.to_string(),
    }
}

#[tonic::async_trait]
impl PreferencesService for Preferences {
    async fn get_user_preferences(
        &self,
        req: Request<GetUserPreferencesRequest>,
    ) -> Result<Response<UserPreferences>, Status> {
        let caller = caller(&req);
        let whose = parse_whose(&req.get_ref().name, "name")?;
        Ok(Response::new(proto(
            &self.0.get_preferences(&caller, whose).await?,
        )))
    }

    async fn update_user_preferences(
        &self,
        req: Request<UpdateUserPreferencesRequest>,
    ) -> Result<Response<UserPreferences>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let p = r
            .preferences
            .ok_or_else(|| Status::from(Error::field("preferences", "is required")))?;
        let whose = parse_whose(&p.name, "preferences.name")?;
        let etag = parse_etag(&p.etag, "preferences.etag")?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        if let Some(bad) = paths
            .iter()
            .find(|p| *p != "*" && !UPDATABLE.contains(&p.as_str()))
        {
            let why = format!("{bad:?} cannot be updated (locale, time_zone, saved_views)");
            return Err(Error::field("update_mask", why).into());
        }
        // "*" is every field. An empty mask is the fields the request sets (AIP-134): an empty
        // request must never wipe a user's saved views.
        let all = paths.iter().any(|p| p == "*");
        let set = [
            ("locale", !p.locale.is_empty()),
            ("time_zone", !p.time_zone.is_empty()),
            ("saved_views", !p.saved_views.is_empty()),
        ];
        let wants = |f: &str| {
            all || paths.iter().any(|p| p == f)
                || (paths.is_empty() && set.iter().any(|(name, is_set)| *name == f && *is_set))
        };
        if !wants("saved_views") && !p.saved_views.is_empty() {
            let views: Vec<_> = p.saved_views.iter().cloned().map(view_row).collect();
            crate::service::preferences::check_unmasked_views(&views)?;
        }
        let changes = PreferencesChanges {
            locale: wants("locale").then_some(p.locale),
            time_zone: wants("time_zone").then_some(p.time_zone),
            saved_views: wants("saved_views")
                .then(|| p.saved_views.into_iter().map(view_row).collect()),
        };
        let updated = self
            .0
            .update_preferences(&caller, whose, etag, changes)
            .await?;
        Ok(Response::new(proto(&updated)))
    }
}
