//! What the Frontend API tells Clerk's browser SDK about an instance (docs/design/
//! frontend-api.md): its environment, with the URLs of its sign-in, sign-up and profile pages.

use super::Orbit;
use crate::error::Result;
use crate::model::*;
use orbit_proto::frontend::{Environment, EnvironmentSettings};

impl Orbit {
    /// The environment clerk-js loads (`GET /v1/environment`): email and password, the
    /// instance's email verification and password lengths, and its pages. Sign-in and sign-up
    /// are the instance's configured URLs, else the hosted pages on the primary's FAPI host,
    /// where the profile page lives too; home is the primary domain.
    pub async fn frontend_environment(&self, instance: &Instance) -> Result<Environment> {
        let primary = self.primary_domain(&instance.id).await?;
        let portal = Orbit::fapi_url(instance, &primary);
        let scheme = match instance.kind {
            InstanceKind::Development => "http",
            InstanceKind::Production => "https",
        };
        let application_name = self
            .store
            .list_applications()
            .await?
            .into_iter()
            .find(|a| a.id == instance.application_id)
            .map(|a| a.name)
            .unwrap_or_default();
        let policy = &self.settings.password_policy;
        let page = |configured: &Option<String>, path: &str| {
            configured
                .clone()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| format!("{portal}{path}"))
        };
        Ok(Environment::new(EnvironmentSettings {
            instance_id: instance.id.clone(),
            application_name,
            production: instance.kind == InstanceKind::Production,
            email_verification: instance.settings.sign_up_email_verification,
            password_min_length: u32::try_from(policy.min_chars).unwrap_or(u32::MAX),
            password_max_length: u32::try_from(policy.max_chars).unwrap_or(u32::MAX),
            home_url: format!("{scheme}://{}", primary.name),
            sign_in_url: page(&instance.settings.sign_in_url, "/sign-in"),
            sign_up_url: page(&instance.settings.sign_up_url, "/sign-up"),
            user_profile_url: format!("{portal}/user"),
        }))
    }
}
