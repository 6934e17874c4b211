//! `GET /v1/environment` (`Client.Environment`): the instance's settings as the components read
//! them. Orbit offers email and password only, so every other feature is off; the values
//! follow the spec's required lists and clerk-js's defaults (`resources/UserSettings.ts`,
//! `DisplayConfig.ts`, `AuthConfig.ts`, `CommerceSettings.ts`, which reads `billing` without a
//! fallback).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What an instance's environment is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentSettings {
    pub instance_id: String,
    pub application_name: String,
    pub production: bool,
    /// `sign_up.email_verification`: a sign-up proves its address with a mailed code.
    pub email_verification: bool,
    pub password_min_length: u32,
    pub password_max_length: u32,
    /// Absolute URLs.
    pub home_url: String,
    pub sign_in_url: String,
    pub sign_up_url: String,
    pub user_profile_url: String,
}

/// `Client.Environment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub auth_config: AuthConfig,
    pub display_config: DisplayConfig,
    pub user_settings: UserSettings,
    pub organization_settings: OrganizationSettings,
    pub commerce_settings: CommerceSettings,
    pub api_keys_settings: ApiKeysSettings,
    pub client_debug_mode: bool,
    pub partitioned_cookies: bool,
    pub maintenance_mode: bool,
}

/// `Client.AuthConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthConfig {
    /// `auth_config`.
    pub object: String,
    pub id: String,
    /// `on`, `off` or `required`.
    pub first_name: String,
    pub last_name: String,
    pub email_address: String,
    pub phone_number: String,
    pub username: String,
    pub password: String,
    pub identification_requirements: Vec<Vec<String>>,
    pub identification_strategies: Vec<String>,
    pub first_factors: Vec<String>,
    pub second_factors: Vec<String>,
    pub email_address_verification_strategies: Vec<String>,
    /// One signed-in user per browser, as Orbit's sessions are: `<SignIn/>` then sends a
    /// signed-in visitor straight on (`ui/src/common/withRedirect.tsx`).
    pub single_session_mode: bool,
    pub enhanced_email_deliverability: bool,
    pub test_mode: bool,
    pub url_based_session_syncing: bool,
    pub claimed_at: Option<i64>,
    pub reverification: bool,
    pub native_settings: NativeSettings,
}

/// `Client.NativeSettings`: all off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeSettings {
    /// `native_settings`.
    pub object: String,
    pub api_enabled: bool,
    pub trusted_device_sign_in_enabled: bool,
    pub trusted_device_enrollment_prompt_after_sign_in_enabled: bool,
    pub trusted_device_enrollment_prompt_after_sign_up_enabled: bool,
}

/// `Client.DisplayConfig`: names and URLs the components show and go to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisplayConfig {
    /// `display_config`.
    pub object: String,
    pub id: String,
    /// `development` or `production`.
    pub instance_environment_type: String,
    pub application_name: String,
    pub theme: Value,
    /// `password`.
    pub preferred_sign_in_strategy: String,
    pub logo_image_url: Option<String>,
    pub favicon_image_url: Option<String>,
    pub home_url: String,
    /// clerk-js's fallback when the app sets no `signInUrl` (`clerk.ts` `#buildUrl`).
    pub sign_in_url: String,
    pub sign_up_url: String,
    pub user_profile_url: String,
    pub waitlist_url: String,
    pub oauth_consent_url: String,
    pub after_sign_in_url: String,
    pub after_sign_up_url: String,
    pub after_sign_out_one_url: String,
    pub after_sign_out_all_url: String,
    pub after_switch_session_url: String,
    pub after_join_waitlist_url: String,
    pub organization_profile_url: String,
    pub create_organization_url: String,
    pub after_leave_organization_url: String,
    pub after_create_organization_url: String,
    pub logo_link_url: String,
    pub support_email: Option<String>,
    /// `false`: no "Secured by Clerk" badge.
    pub branded: bool,
    pub experimental_force_oauth_first: bool,
    pub clerk_js_version: Option<String>,
    pub show_devmode_warning: bool,
    pub google_one_tap_client_id: Option<String>,
    pub help_url: Option<String>,
    pub privacy_policy_url: Option<String>,
    pub terms_url: Option<String>,
    pub logo_url: Option<String>,
    pub favicon_url: Option<String>,
    pub logo_image: Option<Value>,
    pub favicon_image: Option<Value>,
    /// No captcha: `null` keys make clerk-js skip the challenge.
    pub captcha_public_key: Option<String>,
    pub captcha_widget_type: Option<String>,
    pub captcha_public_key_invisible: Option<String>,
    pub captcha_provider: Option<String>,
    pub captcha_oauth_bypass: Vec<String>,
    /// `false`: no `/v1/client/verify` heartbeat.
    pub captcha_heartbeat: bool,
}

/// `Client.UserSettings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSettings {
    pub attributes: Attributes,
    /// No social providers.
    pub social: serde_json::Map<String, Value>,
    pub saml: Enabled,
    pub enterprise_sso: Enabled,
    pub sign_in: SignInSettings,
    pub sign_up: SignUpSettings,
    pub restrictions: Restrictions,
    pub password_settings: PasswordSettings,
    pub username_settings: UsernameSettings,
    pub actions: Actions,
    pub attack_protection: AttackProtection,
    pub passkey_settings: PasskeySettings,
}

/// `UserSettings.Attributes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    pub email_address: Attribute,
    pub phone_number: Attribute,
    pub username: Attribute,
    pub web3_wallet: Attribute,
    pub first_name: Attribute,
    pub last_name: Attribute,
    pub password: Attribute,
    pub authenticator_app: Attribute,
    pub ticket: Attribute,
    pub backup_code: Attribute,
    pub passkey: Attribute,
}

/// `UserSettings.Attribute`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub enabled: bool,
    pub required: bool,
    pub used_for_first_factor: bool,
    pub first_factors: Vec<String>,
    pub used_for_second_factor: bool,
    pub second_factors: Vec<String>,
    pub verifications: Vec<String>,
    pub verify_at_sign_up: bool,
    pub immutable: bool,
}

impl Attribute {
    fn off() -> Self {
        Self {
            enabled: false,
            required: false,
            used_for_first_factor: false,
            first_factors: vec![],
            used_for_second_factor: false,
            second_factors: vec![],
            verifications: vec![],
            verify_at_sign_up: false,
            immutable: false,
        }
    }

    fn on(required: bool) -> Self {
        Self {
            enabled: true,
            required,
            ..Self::off()
        }
    }
}

/// `{enabled}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enabled {
    pub enabled: bool,
}

/// `UserSettings.SignIn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInSettings {
    pub second_factor: Required,
}

/// `{required}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Required {
    pub required: bool,
}

/// `UserSettings.SignUp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignUpSettings {
    pub captcha_enabled: bool,
    pub captcha_widget_type: String,
    pub custom_action_required: bool,
    pub progressive: bool,
    /// `public`: anyone may sign up.
    pub mode: String,
    pub legal_consent_enabled: bool,
}

/// `UserSettings.Restrictions`: none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restrictions {
    pub allowlist: Enabled,
    pub blocklist: Enabled,
    pub allowlist_blocklist_disabled_on_sign_in: Enabled,
    pub block_email_subaddresses: Enabled,
    pub block_disposable_email_domains: Enabled,
}

/// `UserSettings.PasswordSettings`: the lengths of Orbit's password policy; its list of common
/// passwords answers `form_password_pwned`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordSettings {
    pub disable_hibp: bool,
    pub disable_password_reverification: bool,
    pub min_length: u32,
    pub max_length: u32,
    pub require_special_char: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub show_zxcvbn: bool,
    pub min_zxcvbn_strength: u32,
    pub enforce_hibp_on_sign_in: bool,
    pub allowed_special_characters: String,
}

/// `UserSettings.UsernameSettings` (usernames are off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsernameSettings {
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub allow_extended_special_characters: bool,
    pub allow_numeric_usernames: bool,
}

/// `UserSettings.ActionsSettings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actions {
    pub delete_self: bool,
    pub create_organization: bool,
    pub create_organizations_limit: Option<bool>,
}

/// `UserSettings.AttackProtectionSettings`. Enumeration protection stays off here: on, the
/// combined sign-in flow would switch to `signUpIfMissing` with a captcha
/// (`ui/src/contexts/components/SignIn.ts`). Orbit protects against enumeration anyway, by
/// answering known and unknown identifiers alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackProtection {
    pub user_lockout: UserLockout,
    pub pii: Enabled,
    pub email_link: EmailLink,
    pub enumeration_protection: Enabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLockout {
    pub enabled: bool,
    pub max_attempts: u32,
    pub duration_in_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailLink {
    pub require_same_client: bool,
}

/// `UserSettings.PasskeySettings` (passkeys are off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeySettings {
    pub allow_autofill: bool,
    pub show_sign_in_button: bool,
    pub satisfies_second_factor: bool,
}

/// `Client.OrganizationSettings` (organizations are off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationSettings {
    pub enabled: bool,
    pub max_allowed_memberships: u32,
    pub actions: OrganizationActions,
    pub domains: OrganizationDomains,
    pub slug: OrganizationSlug,
    pub creator_role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationActions {
    pub admin_delete: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationDomains {
    pub enabled: bool,
    pub enrollment_modes: Vec<String>,
    pub default_role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationSlug {
    pub disabled: bool,
}

/// `Client.CommerceSettings` (billing is off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommerceSettings {
    pub billing: Billing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Billing {
    pub stripe_publishable_key: Option<String>,
    pub free_trial_requires_payment_method: bool,
    pub user: BillingFor,
    pub organization: BillingFor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingFor {
    pub enabled: bool,
    pub has_paid_plans: bool,
}

/// `Client.ApiKeysSettings` (API keys are off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeysSettings {
    pub enabled: bool,
    pub user_api_keys_enabled: bool,
    pub orgs_api_keys_enabled: bool,
}

impl Environment {
    /// The environment of an instance with email and password sign-in, optional names, and
    /// (with `email_verification`) a mailed code at sign-up.
    pub fn new(s: EnvironmentSettings) -> Self {
        let code = |on: bool| -> Vec<String> {
            if on {
                vec![super::strategy::EMAIL_CODE.into()]
            } else {
                vec![]
            }
        };
        let onoff = |on: bool| if on { "on" } else { "off" }.to_owned();
        let none = String::new;
        let auth_config = AuthConfig {
            object: "auth_config".into(),
            id: format!("aac_{}", s.instance_id),
            first_name: onoff(true),
            last_name: onoff(true),
            email_address: "required".into(),
            phone_number: onoff(false),
            username: onoff(false),
            password: "required".into(),
            identification_requirements: vec![vec!["email_address".into()]],
            identification_strategies: vec!["email_address".into()],
            first_factors: vec![super::strategy::PASSWORD.into()],
            second_factors: vec![],
            email_address_verification_strategies: code(s.email_verification),
            single_session_mode: true,
            enhanced_email_deliverability: false,
            test_mode: false,
            url_based_session_syncing: false,
            claimed_at: None,
            reverification: false,
            native_settings: NativeSettings {
                object: "native_settings".into(),
                api_enabled: false,
                trusted_device_sign_in_enabled: false,
                trusted_device_enrollment_prompt_after_sign_in_enabled: false,
                trusted_device_enrollment_prompt_after_sign_up_enabled: false,
            },
        };
        let display_config = DisplayConfig {
            object: "display_config".into(),
            id: format!("display_config_{}", s.instance_id),
            instance_environment_type: if s.production {
                "production"
            } else {
                "development"
            }
            .into(),
            application_name: s.application_name,
            theme: Value::Object(serde_json::Map::new()),
            preferred_sign_in_strategy: super::strategy::PASSWORD.into(),
            logo_image_url: None,
            favicon_image_url: None,
            logo_link_url: s.home_url.clone(),
            home_url: s.home_url,
            sign_in_url: s.sign_in_url,
            sign_up_url: s.sign_up_url,
            user_profile_url: s.user_profile_url,
            waitlist_url: none(),
            oauth_consent_url: none(),
            after_sign_in_url: none(),
            after_sign_up_url: none(),
            after_sign_out_one_url: none(),
            after_sign_out_all_url: none(),
            after_switch_session_url: none(),
            after_join_waitlist_url: none(),
            organization_profile_url: none(),
            create_organization_url: none(),
            after_leave_organization_url: none(),
            after_create_organization_url: none(),
            support_email: None,
            branded: false,
            experimental_force_oauth_first: false,
            clerk_js_version: None,
            show_devmode_warning: false,
            google_one_tap_client_id: None,
            help_url: None,
            privacy_policy_url: None,
            terms_url: None,
            logo_url: None,
            favicon_url: None,
            logo_image: None,
            favicon_image: None,
            captcha_public_key: None,
            captcha_widget_type: None,
            captcha_public_key_invisible: None,
            captcha_provider: None,
            captcha_oauth_bypass: vec![],
            captcha_heartbeat: false,
        };
        let off = Enabled { enabled: false };
        let user_settings = UserSettings {
            attributes: Attributes {
                email_address: Attribute {
                    used_for_first_factor: true,
                    verifications: code(s.email_verification),
                    verify_at_sign_up: s.email_verification,
                    ..Attribute::on(true)
                },
                phone_number: Attribute::off(),
                username: Attribute::off(),
                web3_wallet: Attribute::off(),
                first_name: Attribute::on(false),
                last_name: Attribute::on(false),
                password: Attribute::on(true),
                authenticator_app: Attribute::off(),
                ticket: Attribute::off(),
                backup_code: Attribute::off(),
                passkey: Attribute::off(),
            },
            social: serde_json::Map::new(),
            saml: off.clone(),
            enterprise_sso: off.clone(),
            sign_in: SignInSettings {
                second_factor: Required { required: false },
            },
            sign_up: SignUpSettings {
                captcha_enabled: false,
                captcha_widget_type: "smart".into(),
                custom_action_required: false,
                progressive: true,
                mode: "public".into(),
                legal_consent_enabled: false,
            },
            restrictions: Restrictions {
                allowlist: off.clone(),
                blocklist: off.clone(),
                allowlist_blocklist_disabled_on_sign_in: off.clone(),
                block_email_subaddresses: off.clone(),
                block_disposable_email_domains: off.clone(),
            },
            password_settings: PasswordSettings {
                disable_hibp: false,
                disable_password_reverification: false,
                min_length: s.password_min_length,
                max_length: s.password_max_length,
                require_special_char: false,
                require_numbers: false,
                require_uppercase: false,
                require_lowercase: false,
                show_zxcvbn: false,
                min_zxcvbn_strength: 0,
                enforce_hibp_on_sign_in: false,
                allowed_special_characters: String::new(),
            },
            username_settings: UsernameSettings {
                min_length: None,
                max_length: None,
                allow_extended_special_characters: false,
                allow_numeric_usernames: false,
            },
            actions: Actions {
                delete_self: false,
                create_organization: false,
                create_organizations_limit: None,
            },
            attack_protection: AttackProtection {
                user_lockout: UserLockout {
                    enabled: false,
                    max_attempts: 0,
                    duration_in_minutes: 0,
                },
                pii: off.clone(),
                email_link: EmailLink {
                    require_same_client: false,
                },
                enumeration_protection: off,
            },
            passkey_settings: PasskeySettings {
                allow_autofill: false,
                show_sign_in_button: false,
                satisfies_second_factor: false,
            },
        };
        let nobody = BillingFor {
            enabled: false,
            has_paid_plans: false,
        };
        Environment {
            auth_config,
            display_config,
            user_settings,
            organization_settings: OrganizationSettings {
                enabled: false,
                max_allowed_memberships: 0,
                actions: OrganizationActions {
                    admin_delete: false,
                },
                domains: OrganizationDomains {
                    enabled: false,
                    enrollment_modes: vec![],
                    default_role: String::new(),
                },
                slug: OrganizationSlug { disabled: false },
                creator_role: String::new(),
            },
            commerce_settings: CommerceSettings {
                billing: Billing {
                    stripe_publishable_key: None,
                    free_trial_requires_payment_method: false,
                    user: nobody.clone(),
                    organization: nobody,
                },
            },
            api_keys_settings: ApiKeysSettings {
                enabled: false,
                user_api_keys_enabled: false,
                orgs_api_keys_enabled: false,
            },
            client_debug_mode: false,
            partitioned_cookies: false,
            maintenance_mode: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_fields;
    use super::*;

    fn settings(production: bool, email_verification: bool) -> EnvironmentSettings {
        EnvironmentSettings {
            instance_id: "ins_1".into(),
            application_name: "Acme".into(),
            production,
            email_verification,
            password_min_length: 8,
            password_max_length: 256,
            home_url: "https://primary.test".into(),
            sign_in_url: "https://clerk.primary.test/sign-in".into(),
            sign_up_url: "https://clerk.primary.test/sign-up".into(),
            user_profile_url: "https://clerk.primary.test/user".into(),
        }
    }

    #[test]
    fn environment_has_the_specs_fields() {
        let env = Environment::new(settings(true, true));
        // fapi/2026-05-12.yml: `Client.Environment` properties (Orbit sends every one clerk-js
        // reads; `fraud_settings` and `protect_config` have clerk-js defaults).
        assert_fields(
            &env,
            &[
                "auth_config",
                "display_config",
                "user_settings",
                "organization_settings",
                "commerce_settings",
                "api_keys_settings",
                "client_debug_mode",
                "partitioned_cookies",
                "maintenance_mode",
            ],
        );
        assert_fields(
            &env.auth_config,
            &[
                "object",
                "id",
                "first_name",
                "last_name",
                "email_address",
                "phone_number",
                "username",
                "password",
                "identification_requirements",
                "identification_strategies",
                "first_factors",
                "second_factors",
                "email_address_verification_strategies",
                "single_session_mode",
                "enhanced_email_deliverability",
                "test_mode",
                "url_based_session_syncing",
                "claimed_at",
                "reverification",
                "native_settings",
            ],
        );
        // `Client.DisplayConfig` required, plus `captcha_heartbeat` (read by
        // `DisplayConfig.ts`; `false` keeps the captcha heartbeat off).
        assert_fields(
            &env.display_config,
            &[
                "object",
                "id",
                "instance_environment_type",
                "application_name",
                "theme",
                "preferred_sign_in_strategy",
                "logo_image_url",
                "favicon_image_url",
                "home_url",
                "sign_in_url",
                "sign_up_url",
                "user_profile_url",
                "waitlist_url",
                "oauth_consent_url",
                "after_sign_in_url",
                "after_sign_up_url",
                "after_sign_out_one_url",
                "after_sign_out_all_url",
                "after_switch_session_url",
                "after_join_waitlist_url",
                "organization_profile_url",
                "create_organization_url",
                "after_leave_organization_url",
                "after_create_organization_url",
                "logo_link_url",
                "support_email",
                "branded",
                "experimental_force_oauth_first",
                "clerk_js_version",
                "show_devmode_warning",
                "google_one_tap_client_id",
                "help_url",
                "privacy_policy_url",
                "terms_url",
                "logo_url",
                "favicon_url",
                "logo_image",
                "favicon_image",
                "captcha_public_key",
                "captcha_widget_type",
                "captcha_public_key_invisible",
                "captcha_provider",
                "captcha_oauth_bypass",
                "captcha_heartbeat",
            ],
        );
        assert_fields(
            &env.user_settings,
            &[
                "attributes",
                "social",
                "saml",
                "enterprise_sso",
                "sign_in",
                "sign_up",
                "restrictions",
                "password_settings",
                "username_settings",
                "actions",
                "attack_protection",
                "passkey_settings",
            ],
        );
        assert_fields(
            &env.user_settings.attributes,
            &[
                "email_address",
                "phone_number",
                "username",
                "web3_wallet",
                "first_name",
                "last_name",
                "password",
                "authenticator_app",
                "ticket",
                "backup_code",
                "passkey",
            ],
        );
        assert_fields(
            &env.user_settings.attributes.password,
            &[
                "enabled",
                "required",
                "used_for_first_factor",
                "first_factors",
                "used_for_second_factor",
                "second_factors",
                "verifications",
                "verify_at_sign_up",
                "immutable",
            ],
        );
        assert_fields(
            &env.user_settings.password_settings,
            &[
                "disable_hibp",
                "disable_password_reverification",
                "min_length",
                "max_length",
                "require_special_char",
                "require_numbers",
                "require_uppercase",
                "require_lowercase",
                "show_zxcvbn",
                "min_zxcvbn_strength",
                "enforce_hibp_on_sign_in",
                "allowed_special_characters",
            ],
        );
        assert_fields(
            &env.organization_settings,
            &[
                "enabled",
                "max_allowed_memberships",
                "actions",
                "domains",
                "slug",
                "creator_role",
            ],
        );
        let back: Environment =
            serde_json::from_value(serde_json::to_value(&env).unwrap()).unwrap();
        assert_eq!(back, env);
    }

    #[test]
    fn what_the_components_branch_on() {
        let json = |p, v| serde_json::to_value(Environment::new(settings(p, v))).unwrap();
        let prod = json(true, true);
        assert_eq!(
            prod["display_config"]["instance_environment_type"],
            "production"
        );
        assert_eq!(prod["auth_config"]["single_session_mode"], true);
        assert_eq!(
            prod["user_settings"]["attributes"]["email_address"]["verify_at_sign_up"],
            true
        );
        assert_eq!(
            prod["user_settings"]["attributes"]["email_address"]["verifications"],
            serde_json::json!(["email_code"])
        );
        assert_eq!(
            prod["user_settings"]["attributes"]["password"]["required"],
            true
        );
        assert_eq!(prod["user_settings"]["sign_up"]["captcha_enabled"], false);
        assert_eq!(prod["display_config"]["captcha_public_key"], Value::Null);
        assert_eq!(
            prod["display_config"]["sign_in_url"],
            "https://clerk.primary.test/sign-in"
        );
        assert_eq!(
            prod["commerce_settings"]["billing"]["user"]["enabled"],
            false
        );
        let dev = json(false, false);
        assert_eq!(
            dev["display_config"]["instance_environment_type"],
            "development"
        );
        assert_eq!(
            dev["user_settings"]["attributes"]["email_address"]["verify_at_sign_up"],
            false
        );
        assert_eq!(
            dev["auth_config"]["email_address_verification_strategies"],
            serde_json::json!([])
        );
    }
}
